"""Celery tasks of scheduling: thin shells that load by id and call one service.

Calendar writes and emails are separate tasks so that a calendar that is down and
retried never re-sends an email, and a mail server hiccup never re-writes the calendar.
Where the rep's calendar makes a video meeting (Google Meet, Teams), the visitor's email waits
for the calendar write, whose answer carries the join link; a calendar that is down does not
hold the email (it goes without the link, and the write is retried on its own).
Every task is safe to run twice (calendar writes go by the meeting's UID, emails and
reminders are claimed once).
"""

import smtplib

from celery import shared_task
from django.conf import settings

from scheduling.calendar_sync import (
    calendar_follow_changes,
    meeting_calendar_sync,
    meetings_sync_unsynced,
    rep_refresh_busy_horizon,
)
from scheduling.calendars import CalendarUnavailable
from scheduling.models import CalendarConnection, Meeting, SalesRep
from scheduling.notifications import meeting_notify, rep_notify_calendar_revoked
from scheduling.reminders import meetings_send_due_reminders

MAX_RETRIES = 8


def _retry_later(task, exc: Exception, **kwargs) -> None:
    """Retry with exponential backoff (30 s, 1 min, 2 min, ... capped at 30 min), or later when
    the calendar said when (HTTP Retry-After).

    Run eagerly (the embedded default without a broker, tests) a retry would block the
    request that queued it: the periodic sweep picks the work up instead.
    """
    if task.request.is_eager:
        return
    countdown = min(1800, settings.SCHEDULING_RETRY_BASE_SECONDS * 2**task.request.retries)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        countdown = max(countdown, min(3600, int(retry_after)))
    raise task.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES, kwargs=kwargs or None)


@shared_task
def meeting_changed(meeting_id: int, change: str) -> None:
    """After a meeting is booked, rescheduled or cancelled (queued on commit by the booking services)."""
    video_by_calendar = CalendarConnection.objects.filter(
        rep__meetings=meeting_id, is_active=True, video_meetings=True
    ).exists()
    if change in {"booked", "rescheduled"} and video_by_calendar:
        meeting_calendar_write.delay(meeting_id, notify=change)  # the email follows the write, with its link
        return
    meeting_calendar_write.delay(meeting_id)
    meeting_send_notifications.delay(meeting_id, change)


@shared_task(bind=True)
def meeting_calendar_write(self, meeting_id: int, notify: str | None = None) -> None:
    """Write the meeting to the rep's calendar; ``notify`` (a change) queues its emails after the write
    (or at once when the calendar is down: the retries then go without it)."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return
    try:
        meeting_calendar_sync(meeting=meeting)  # records sync_state failed before raising
    except CalendarUnavailable as exc:
        if notify:
            meeting_send_notifications.delay(meeting_id, notify)
        _retry_later(self, exc, notify=None)
        return
    if notify:
        meeting_send_notifications.delay(meeting_id, notify)


@shared_task(bind=True)
def meeting_send_notifications(self, meeting_id: int, change: str) -> None:
    meeting = Meeting.objects.select_related("rep", "lead").filter(pk=meeting_id).first()
    if meeting is None:
        return
    try:
        meeting_notify(meeting=meeting, change=change)
    except (smtplib.SMTPException, OSError) as exc:
        _retry_later(self, exc)
        raise


@shared_task(bind=True)
def calendar_grant_revoked_notify(self, connection_id: int) -> None:
    """Email the rep whose calendar access was revoked or expired (queued when that is first seen)."""
    connection = CalendarConnection.objects.select_related("rep").filter(pk=connection_id).first()
    if connection is None or connection.grant_state != CalendarConnection.GrantState.REVOKED:
        return
    try:
        rep_notify_calendar_revoked(connection=connection)
    except (smtplib.SMTPException, OSError) as exc:
        _retry_later(self, exc)
        raise


@shared_task
def calendar_retry_unsynced() -> None:
    """Periodic: write the meetings whose calendar was down (sync_state pending/failed)."""
    meetings_sync_unsynced()


@shared_task
def calendar_refresh_all_busy() -> None:
    """Periodic: one task per active rep with a calendar (busy times and the changes made on it)."""
    rep_ids = SalesRep.objects.filter(is_active=True, calendar__is_active=True).values_list("pk", flat=True)
    for rep_id in rep_ids:
        calendar_refresh_rep_busy.delay(rep_id)


@shared_task
def calendar_refresh_rep_busy(rep_id: int) -> None:
    """One rep's calendar: its busy times, then the changes the rep made there to their meetings' events.
    A calendar that is down keeps its old blocks, and its changes wait, until the next run."""
    rep = SalesRep.objects.filter(pk=rep_id, is_active=True).first()
    if rep is None:
        return
    try:
        rep_refresh_busy_horizon(rep=rep)
    except CalendarUnavailable:
        pass  # recorded on the connection (last_error); the next periodic run tries again
    try:
        calendar_follow_changes(rep=rep)
    except CalendarUnavailable:
        pass  # likewise; the cursor is kept, so no change is missed


@shared_task
def meetings_send_reminders() -> None:
    """Periodic: the visitors' 24 h and 1 h reminders."""
    meetings_send_due_reminders()
