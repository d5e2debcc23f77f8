"""Calendar sync against a real Radicale CalDAV server (see conftest.radicale)."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from icalendar import Calendar, Event

from scheduling import tasks
from scheduling.calendar_sync import calendar_refresh_busy, meeting_calendar_sync, meetings_sync_unsynced
from scheduling.models import BusyBlock, Meeting
from scheduling.selectors import rep_free_slots
from scheduling.services import meeting_book, meeting_cancel, meeting_reschedule
from tests.scheduling.factories import MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
# Monday 7 December 2026, 06:00 UTC; the rep works 09:00-17:00 Europe/Berlin (08:00-16:00 UTC).
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def add_busy_event(calendar, uid: str, start, end, **props) -> None:
    cal = Calendar()
    cal.add("prodid", "-//Someone else's calendar app//EN")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime(2026, 11, 1, tzinfo=UTC))
    event.add("summary", "Dentist")
    event.add("dtstart", start)
    event.add("dtend", end)
    for key, value in props.items():
        event.add(key, value)
    cal.add_component(event)
    calendar.add_event(cal.to_ical().decode())


def book(rep, start, lead=None):
    conversation = lead.conversation if lead else None
    if conversation is None:
        from tests.factories import ConversationFactory

        conversation = ConversationFactory()
    return meeting_book(
        rep_id=rep.pk,
        start=start,
        conversation=conversation,
        lead=lead,
        visitor_email="ada@analytical.example",
        visitor_name="Ada Lovelace",
        visitor_timezone="Europe/London",
        now=NOW,
    ).meeting


def stored_event(rep_calendar, uid):
    return rep_calendar.calendar.get_event_by_uid(uid).component


def test_busy_events_in_the_calendar_become_busy_blocks_and_block_slots(rep_calendar):
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    cal = rep_calendar.calendar
    # 10:00-11:00 Berlin written with the zone's TZID: 09:00-10:00 UTC.
    add_busy_event(
        cal, "dentist@other", datetime(2026, 12, 7, 10, 0, tzinfo=berlin), datetime(2026, 12, 7, 11, 0, tzinfo=berlin)
    )
    # "Free" (transparent) events do not block.
    add_busy_event(
        cal,
        "lunch-note@other",
        datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 13, 0, tzinfo=UTC),
        transp="TRANSPARENT",
    )
    # An all-day event blocks the rep's whole day (in the rep's zone).
    add_busy_event(cal, "offsite@other", date(2026, 12, 8), date(2026, 12, 9))

    stored = calendar_refresh_busy(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=3))

    blocks = sorted((b.start, b.end, b.source_uid) for b in BusyBlock.objects.filter(rep=rep_calendar.rep))
    assert stored == 2
    assert blocks == [
        (datetime(2026, 12, 7, 9, 0, tzinfo=UTC), datetime(2026, 12, 7, 10, 0, tzinfo=UTC), "dentist@other"),
        (datetime(2026, 12, 7, 23, 0, tzinfo=UTC), datetime(2026, 12, 8, 23, 0, tzinfo=UTC), "offsite@other"),
    ]
    slots = rep_free_slots(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=3), now=NOW)
    starts = {s.start for s in slots}
    assert datetime(2026, 12, 7, 8, 30, tzinfo=UTC) in starts
    assert datetime(2026, 12, 7, 9, 0, tzinfo=UTC) not in starts
    assert datetime(2026, 12, 7, 9, 30, tzinfo=UTC) not in starts
    assert datetime(2026, 12, 7, 12, 0, tzinfo=UTC) in starts  # the transparent event
    assert not [s for s in slots if s.start.date() == date(2026, 12, 8)]  # the all-day event
    assert [s for s in slots if s.start.date() == date(2026, 12, 9)]

    # The next refresh replaces the rows: a deleted event frees its time again.
    cal.get_event_by_uid("dentist@other").delete()
    assert calendar_refresh_busy(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=3)) == 1
    assert list(BusyBlock.objects.filter(rep=rep_calendar.rep).values_list("source_uid", flat=True)) == [
        "offsite@other"
    ]
    assert datetime(2026, 12, 7, 9, 0, tzinfo=UTC) in {
        s.start for s in rep_free_slots(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=1), now=NOW)
    }


def test_booking_puts_the_event_on_the_reps_calendar_with_the_meetings_uid(
    rep_calendar, chat_lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep_calendar.rep, MONDAY_10_BERLIN, lead=chat_lead)

    events = rep_calendar.events()
    assert len(events) == 1
    event = events[0].component
    assert str(event["uid"]) == meeting.calendar_uid
    assert event["dtstart"].dt == MONDAY_10_BERLIN
    assert event["dtend"].dt == MONDAY_10_BERLIN + timedelta(minutes=30)
    assert int(event["sequence"]) == 0
    assert "Ada Lovelace" in str(event["summary"]) and "Analytical Engines Ltd" in str(event["summary"])
    description = str(event["description"])
    assert "nobody answers the contact form for days" in description
    assert "72" in description and "+30  Buying within 3 months" in description
    assert f"/admin/chatbot/conversation/{chat_lead.conversation.pk}/change/" in description
    assert "Ada Lovelace: Our contact form leads go cold before anyone calls back." in description
    assert "Bot: How many people work at your company?" in description
    assert "SYSTEM NOTE" not in description
    assert str(event["organizer"]) == "mailto:rita@vendor.example"
    # The visitor is not on the rep's event unless their site says so (tests/scheduling/test_visitor_attendee.py).
    assert "attendee" not in event
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED and meeting.synced_at and not meeting.sync_error

    # Our own meeting on the calendar is not read back as a foreign busy time.
    calendar_refresh_busy(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=2))
    assert not BusyBlock.objects.filter(rep=rep_calendar.rep).exists()


def test_reschedule_moves_the_same_event_and_cancel_removes_it(rep_calendar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep_calendar.rep, MONDAY_10_BERLIN)
    later = MONDAY_10_BERLIN + timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_reschedule(meeting=meeting, start=later, now=NOW)

    events = rep_calendar.events()
    assert len(events) == 1
    event = events[0].component
    assert str(event["uid"]) == meeting.calendar_uid
    assert (event["dtstart"].dt, event["dtend"].dt) == (later, later + timedelta(minutes=30))
    assert int(event["sequence"]) == 1
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED

    with django_capture_on_commit_callbacks(execute=True):
        meeting_cancel(meeting=meeting, reason="Found another vendor")
    assert rep_calendar.events() == []
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED
    # Deleting again (a retried task) is not an error.
    tasks.meeting_calendar_write(meeting.pk)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED


def test_running_the_calendar_task_twice_leaves_one_event(rep_calendar, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep_calendar.rep, MONDAY_10_BERLIN)
    tasks.meeting_calendar_write(meeting.pk)
    tasks.meeting_changed(meeting.pk, "booked")
    events = rep_calendar.events()
    assert [str(e.component["uid"]) for e in events] == [meeting.calendar_uid]


def test_calendar_outage_keeps_the_meeting_and_a_later_retry_syncs_it(
    rep_calendar, radicale, mailoutbox, django_capture_on_commit_callbacks
):
    radicale.stop()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep_calendar.rep, MONDAY_10_BERLIN)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED
    assert meeting.sync_state == Meeting.SyncState.FAILED
    assert "127.0.0.1" in meeting.sync_error
    # The people are told anyway: the calendar only delays the calendar write.
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@analytical.example", "rita@vendor.example"]

    radicale.start()
    # What the periodic task (tasks.calendar_retry_unsynced) runs, at this test's fixed "now".
    run = meetings_sync_unsynced(now=NOW)
    assert run.synced == [meeting.pk]

    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED and meeting.sync_error == ""
    assert str(stored_event(rep_calendar, meeting.calendar_uid)["dtstart"].dt) == str(MONDAY_10_BERLIN)
    assert len(mailoutbox) == 2  # the retry wrote the calendar, it did not email again


def test_busy_refresh_during_an_outage_keeps_the_old_blocks(rep_calendar, radicale):
    add_busy_event(
        rep_calendar.calendar,
        "dentist@other",
        datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
    )
    calendar_refresh_busy(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=1))
    radicale.stop()
    tasks.calendar_refresh_all_busy()
    assert BusyBlock.objects.filter(rep=rep_calendar.rep).count() == 1
    rep_calendar.connection.refresh_from_db()
    assert rep_calendar.connection.last_error


def test_meetings_of_reps_without_a_calendar_are_not_connected(django_capture_on_commit_callbacks):
    rep = SalesRepFactory()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep, MONDAY_10_BERLIN)
    meeting_calendar_sync(meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.NOT_CONNECTED


def test_recurring_and_floating_events_block_their_occurrences(rep_calendar):
    cal = rep_calendar.calendar
    # Weekly stand-up, Mondays and Wednesdays 14:00-14:30 Berlin, written in UTC with a rule.
    add_busy_event(
        cal,
        "standup@other",
        datetime(2026, 11, 30, 13, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 13, 30, tzinfo=UTC),
        rrule={"freq": "weekly", "byday": ["MO", "WE"]},
    )
    # A floating time (no zone) is the rep's own wall clock: 16:00 Berlin = 15:00 UTC.
    add_busy_event(cal, "floating@other", datetime(2026, 12, 8, 16, 0), datetime(2026, 12, 8, 16, 30))

    calendar_refresh_busy(rep=rep_calendar.rep, start=NOW, end=NOW + timedelta(days=3))

    blocks = sorted((b.start, b.end) for b in BusyBlock.objects.filter(rep=rep_calendar.rep))
    assert blocks == [
        (datetime(2026, 12, 7, 13, 0, tzinfo=UTC), datetime(2026, 12, 7, 13, 30, tzinfo=UTC)),
        (datetime(2026, 12, 8, 15, 0, tzinfo=UTC), datetime(2026, 12, 8, 15, 30, tzinfo=UTC)),
        (datetime(2026, 12, 9, 13, 0, tzinfo=UTC), datetime(2026, 12, 9, 13, 30, tzinfo=UTC)),
    ]


def test_the_periodic_refresh_reads_every_connected_rep(rep_calendar):
    from django.utils import timezone

    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    add_busy_event(rep_calendar.calendar, "soon@other", start, start + timedelta(hours=2))
    SalesRepFactory()  # a rep without a calendar is left alone

    tasks.calendar_refresh_all_busy()

    assert list(BusyBlock.objects.values_list("rep_id", "start", "end")) == [
        (rep_calendar.rep.pk, start, start + timedelta(hours=2))
    ]
    rep_calendar.connection.refresh_from_db()
    assert rep_calendar.connection.last_synced_at and not rep_calendar.connection.last_error


def wait_for(condition, timeout=30.0, interval=0.3):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def test_on_a_real_worker_a_calendar_outage_is_retried_until_the_write_lands(radicale, celery_worker_process):
    """Booking → Redis → worker → CalDAV down → failed → retried with backoff → synced after restart."""
    from tests.scheduling.conftest import connect_rep_calendar

    rep_calendar = connect_rep_calendar(radicale, SalesRepFactory(name="Rita Rep", email="rita@vendor.example"))
    radicale.stop()
    meeting = book(rep_calendar.rep, MONDAY_10_BERLIN)  # committed: the on-commit hook queues the task

    def state():
        return Meeting.objects.values_list("sync_state", flat=True).get(pk=meeting.pk)

    assert wait_for(lambda: state() == Meeting.SyncState.FAILED), celery_worker_process.log.read_text()[-3000:]
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.BOOKED

    radicale.start()
    assert wait_for(lambda: state() == Meeting.SyncState.SYNCED), celery_worker_process.log.read_text()[-3000:]
    assert [str(e.component["uid"]) for e in rep_calendar.events()] == [meeting.calendar_uid]
    log = celery_worker_process.log.read_text()
    assert "retry: Retry in" in log


def test_a_rep_who_connects_a_calendar_later_gets_their_upcoming_meetings_written(
    radicale, django_capture_on_commit_callbacks
):
    from tests.scheduling.conftest import connect_rep_calendar

    rep = SalesRepFactory()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep, MONDAY_10_BERLIN)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.NOT_CONNECTED

    rep_calendar = connect_rep_calendar(radicale, rep)
    meetings_sync_unsynced(now=NOW)

    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED
    assert [str(e.component["uid"]) for e in rep_calendar.events()] == [meeting.calendar_uid]


def test_the_periodic_retry_task_skips_meetings_long_over(rep_calendar):
    from django.utils import timezone

    past = (timezone.now() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    old = MeetingFactory(rep=rep_calendar.rep, start=past, sync_state=Meeting.SyncState.FAILED)
    soon = MeetingFactory(rep=rep_calendar.rep, start=past + timedelta(days=5), sync_state=Meeting.SyncState.FAILED)

    tasks.calendar_retry_unsynced()

    old.refresh_from_db()
    soon.refresh_from_db()
    assert (old.sync_state, soon.sync_state) == (Meeting.SyncState.FAILED, Meeting.SyncState.SYNCED)
    assert [str(e.component["uid"]) for e in rep_calendar.events()] == [soon.calendar_uid]


def test_a_cancel_racing_the_bookings_write_never_leaves_the_event_behind(
    rep_calendar, django_capture_on_commit_callbacks, monkeypatch
):
    from scheduling.calendars.caldav_backend import CalDAVCalendar

    meeting = book(rep_calendar.rep, MONDAY_10_BERLIN)  # its own on-commit write is not run
    original = CalDAVCalendar.upsert_event

    def upsert_then_cancelled_meanwhile(self, written):
        if written.status == Meeting.Status.BOOKED and Meeting.objects.get(pk=written.pk).status == "booked":
            # The visitor cancels while the booking's event is on its way, and the cancel's own
            # calendar write finishes first (nothing to delete yet): the booking's PUT lands last.
            meeting_cancel(meeting=written)
            tasks.meeting_calendar_write(written.pk)
        return original(self, written)

    monkeypatch.setattr(CalDAVCalendar, "upsert_event", upsert_then_cancelled_meanwhile)
    meeting_calendar_sync(meeting=meeting)

    assert rep_calendar.events() == []
    meeting.refresh_from_db()
    assert (meeting.status, meeting.sync_state) == (Meeting.Status.CANCELLED, Meeting.SyncState.SYNCED)
