"""Visitor reminders 24 hours and 1 hour before a meeting, each sent once.

The periodic sweep claims a reminder by setting its ``reminder_*_sent_at`` column in a
conditional UPDATE before sending, so two sweeps running at once never send it twice;
a failed send releases the claim and the next sweep tries again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone

from scheduling.models import Meeting
from scheduling.notifications import meeting_send_reminder

logger = logging.getLogger(__name__)

# (hours before the start, the column that records it was sent)
REMINDERS = ((24, "reminder_24h_sent_at"), (1, "reminder_1h_sent_at"))


def meetings_due_reminder(*, now: dt.datetime, hours: int, field: str):
    shorter = min((h for h, _ in REMINDERS if h < hours), default=0)
    return (
        Meeting.objects.select_related("rep", "lead")
        .filter(
            status=Meeting.Status.BOOKED,
            start__lte=now + dt.timedelta(hours=hours),
            # Inside the next reminder's window only that one goes out (e.g. a sweep that was down).
            start__gt=now + dt.timedelta(hours=shorter),
            # A meeting booked less than `hours` ahead got its confirmation recently enough.
            created_at__lte=F("start") - dt.timedelta(hours=hours),
            **{f"{field}__isnull": True},
        )
        .exclude(visitor_email="")
        .order_by("start")
    )


def meetings_send_due_reminders(*, now: dt.datetime | None = None) -> list[tuple[int, int]]:
    """Send every reminder that is due; returns (meeting id, hours) for each one sent."""
    now = now or timezone.now()
    sent = []
    for hours, field in REMINDERS:
        for meeting in meetings_due_reminder(now=now, hours=hours, field=field):
            claimed = Meeting.objects.filter(
                pk=meeting.pk, status=Meeting.Status.BOOKED, **{f"{field}__isnull": True}
            ).update(**{field: now})
            if not claimed:
                continue
            try:
                meeting_send_reminder(meeting=meeting, hours=hours)
            except Exception:
                Meeting.objects.filter(pk=meeting.pk).update(**{field: None})
                logger.exception("Reminder %sh for meeting %s failed; retried on the next sweep", hours, meeting.pk)
                continue
            sent.append((meeting.pk, hours))
    return sent
