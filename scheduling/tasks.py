"""Celery tasks of scheduling: thin shells that load by id and call one service."""

from celery import shared_task


@shared_task
def meeting_changed(meeting_id: int, change: str) -> None:
    """After a meeting is booked, rescheduled or cancelled: calendar write and emails.

    Queued by the booking services with transaction.on_commit. The calendar and
    notification work fills this in.
    """
