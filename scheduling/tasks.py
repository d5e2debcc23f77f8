"""Celery tasks of scheduling: thin shells that load by id and call one service.

Calendar writes and emails are separate tasks so that a calendar that is down and
retried never re-sends an email, and a mail server hiccup never re-writes the calendar.
Every task is safe to run twice (calendar writes go by the meeting's UID, emails and
reminders are claimed once).
"""

import smtplib

from celery import shared_task

from scheduling.calendar_sync import meeting_calendar_sync, meetings_sync_unsynced, rep_refresh_busy_horizon
from scheduling.calendars import CalendarUnavailable
from scheduling.models import Meeting, SalesRep
from scheduling.notifications import meeting_notify
from scheduling.reminders import meetings_send_due_reminders

RETRY = {"retry_backoff": 30, "retry_backoff_max": 1800, "retry_jitter": True, "max_retries": 8}


@shared_task
def meeting_changed(meeting_id: int, change: str) -> None:
    """After a meeting is booked, rescheduled or cancelled (queued on commit by the booking services)."""
    meeting_calendar_write.delay(meeting_id)
    meeting_send_notifications.delay(meeting_id, change)


@shared_task(autoretry_for=(CalendarUnavailable,), **RETRY)
def meeting_calendar_write(meeting_id: int) -> None:
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is not None:
        meeting_calendar_sync(meeting=meeting)


@shared_task(autoretry_for=(smtplib.SMTPException, OSError), **RETRY)
def meeting_send_notifications(meeting_id: int, change: str) -> None:
    meeting = Meeting.objects.select_related("rep", "lead").filter(pk=meeting_id).first()
    if meeting is not None:
        meeting_notify(meeting=meeting, change=change)


@shared_task
def calendar_retry_unsynced() -> None:
    """Periodic: write the meetings whose calendar was down (sync_state pending/failed)."""
    meetings_sync_unsynced()


@shared_task
def calendar_refresh_all_busy() -> None:
    """Periodic: one busy-time refresh task per active rep with a calendar."""
    rep_ids = SalesRep.objects.filter(is_active=True, calendar__is_active=True).values_list("pk", flat=True)
    for rep_id in rep_ids:
        calendar_refresh_rep_busy.delay(rep_id)


@shared_task(autoretry_for=(CalendarUnavailable,), retry_backoff=60, max_retries=2)
def calendar_refresh_rep_busy(rep_id: int) -> None:
    rep = SalesRep.objects.filter(pk=rep_id, is_active=True).first()
    if rep is not None:
        rep_refresh_busy_horizon(rep=rep)


@shared_task
def meetings_send_reminders() -> None:
    """Periodic: the visitors' 24 h and 1 h reminders."""
    meetings_send_due_reminders()
