"""Celery tasks of the inbox: thin shells that load by id and call one function."""

import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings

from chatbot import rasa_client
from inbox import release
from inbox.notify import handoff_notify
from inbox.webhook import WebhookUnavailable, handoff_webhook_post

log = logging.getLogger(__name__)


@shared_task
def handoff_notify_task(conversation_id: int) -> str:
    return handoff_notify(conversation_id=conversation_id)


@shared_task(bind=True, acks_late=True, max_retries=None)
def handoff_webhook_task(self, conversation_id: int) -> str:
    """Post a request for a person to the site's webhook, once; retried with a growing delay while the
    receiver fails (INBOX_WEBHOOK_RETRIES times)."""
    try:
        return handoff_webhook_post(conversation_id=conversation_id)
    except WebhookUnavailable as exc:
        if self.request.retries >= settings.INBOX_WEBHOOK_RETRIES:
            log.error("gave up posting the handoff of conversation %s to its webhook: %s", conversation_id, exc)
            return "gave up"
        log.warning("the handoff webhook of conversation %s failed (%s); retrying", conversation_id, exc)
        raise self.retry(countdown=settings.INBOX_WEBHOOK_RETRY_BASE_SECONDS * 2**self.request.retries) from exc


async def _release(user_id: int) -> float | None:
    try:
        return await release.release_if_gone(user_id=user_id)
    finally:
        await rasa_client.session_close()  # this loop ends with the call


@shared_task(bind=True, acks_late=True, max_retries=None)
def rep_release_if_gone(self, user_id: int) -> str:
    """Queued when a rep's last inbox socket closes, to run after INBOX_RELEASE_SECONDS: safe to run
    twice or late (a conversation is handed back once), and early it waits again."""
    wait = async_to_sync(_release)(user_id)
    if wait is not None and not self.request.is_eager:
        raise self.retry(countdown=wait)
    return "waiting" if wait is not None else "done"


@shared_task
def reps_release_gone() -> int:
    """Periodic: release the holds of reps gone past the grace time whose task was lost (a web process
    that crashed queued none); returns how many holders it looked at."""
    users = release.holders()
    for user_id in users:
        async_to_sync(_release)(user_id)
    return len(users)
