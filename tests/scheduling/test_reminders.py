"""Visitor reminders 24 h and 1 h before, each sent once, never for cancelled meetings."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from scheduling import tasks
from scheduling.models import Meeting
from scheduling.reminders import meetings_send_due_reminders
from tests.scheduling.factories import MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(db):
    return SalesRepFactory(name="Rita Rep", email="rita@vendor.example", video_link="https://meet.example/rita")


def meeting_in(rep, delta, **kwargs):
    start = (timezone.now() + delta).replace(second=0, microsecond=0)
    return MeetingFactory(rep=rep, start=start, visitor_timezone="Asia/Kolkata", **kwargs)


def test_24h_and_1h_reminders_are_sent_once_each(rep, mailoutbox):
    meeting = meeting_in(rep, timedelta(days=3))
    start = meeting.start

    assert meetings_send_due_reminders(now=start - timedelta(hours=25)) == []
    assert meetings_send_due_reminders(now=start - timedelta(hours=23, minutes=58)) == [(meeting.pk, 24)]
    assert meetings_send_due_reminders(now=start - timedelta(hours=23, minutes=50)) == []
    assert meetings_send_due_reminders(now=start - timedelta(hours=2)) == []
    assert meetings_send_due_reminders(now=start - timedelta(minutes=58)) == [(meeting.pk, 1)]
    assert meetings_send_due_reminders(now=start - timedelta(minutes=50)) == []
    assert meetings_send_due_reminders(now=start + timedelta(minutes=5)) == []

    assert [m.to for m in mailoutbox] == [[meeting.visitor_email]] * 2
    day_before, hour_before = mailoutbox
    local = start.astimezone(ZoneInfo("Asia/Kolkata"))
    when = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    assert "in 24 hours" in day_before.subject and when in day_before.subject and "(Asia/Kolkata)" in day_before.subject
    assert "in 1 hour" in hour_before.subject and when in hour_before.body
    assert "https://meet.example/rita" in hour_before.body
    assert "/meetings/" in hour_before.body
    meeting.refresh_from_db()
    assert meeting.reminder_24h_sent_at and meeting.reminder_1h_sent_at


def test_no_reminders_for_cancelled_meetings(rep, mailoutbox):
    meeting = meeting_in(rep, timedelta(days=3), status=Meeting.Status.CANCELLED)
    assert meetings_send_due_reminders(now=meeting.start - timedelta(hours=23)) == []
    assert meetings_send_due_reminders(now=meeting.start - timedelta(minutes=30)) == []
    assert mailoutbox == []


def test_a_meeting_booked_the_same_day_gets_only_the_1h_reminder(rep, mailoutbox):
    meeting = meeting_in(rep, timedelta(hours=5))
    assert meetings_send_due_reminders(now=meeting.start - timedelta(hours=4)) == []
    assert meetings_send_due_reminders(now=meeting.start - timedelta(minutes=40)) == [(meeting.pk, 1)]
    assert len(mailoutbox) == 1


def test_after_an_outage_only_the_nearest_reminder_goes_out(rep, mailoutbox):
    meeting = meeting_in(rep, timedelta(days=3))
    # The sweep did not run for a day: at 30 minutes before, a "24 hours" reminder would be wrong.
    assert meetings_send_due_reminders(now=meeting.start - timedelta(minutes=30)) == [(meeting.pk, 1)]
    assert len(mailoutbox) == 1 and "in 1 hour" in mailoutbox[0].subject


def test_a_failed_send_is_retried_by_the_next_sweep(rep, mailoutbox, monkeypatch):
    meeting = meeting_in(rep, timedelta(days=3))
    now = meeting.start - timedelta(minutes=50)

    def broken(**kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("scheduling.reminders.meeting_send_reminder", broken)
    assert meetings_send_due_reminders(now=now) == []
    meeting.refresh_from_db()
    assert meeting.reminder_1h_sent_at is None
    monkeypatch.undo()
    assert meetings_send_due_reminders(now=now) == [(meeting.pk, 1)]
    assert len(mailoutbox) == 1


def test_the_periodic_task_runs_the_sweep(rep, mailoutbox):
    soon = meeting_in(rep, timedelta(minutes=45))
    soon.created_at = timezone.now() - timedelta(days=2)
    soon.save(update_fields=["created_at"])
    tasks.meetings_send_reminders()
    tasks.meetings_send_reminders()
    assert [m.to for m in mailoutbox] == [[soon.visitor_email]]
