"""Celery tasks of the inbox: thin shells that load by id and call one function."""

from celery import shared_task

from inbox.notify import handoff_notify


@shared_task
def handoff_notify_task(conversation_id: int) -> str:
    return handoff_notify(conversation_id=conversation_id)
