"""Changes the rep makes on their own calendar reach the meeting: an event moved there moves the
meeting, a deleted one cancels it, and the visitor is emailed as when the rep changes it in admin.

Google (sync tokens, 410 Gone), Microsoft 365 (delta rounds, removals, 410) and CalDAV (Radicale's
sync-collection) are each read through the one calendar interface by ``calendar_follow_changes``,
which the periodic task runs.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from scheduling import tasks
from scheduling.calendar_sync import FollowRun, calendar_follow_changes
from scheduling.calendars.google_backend import google_event_id
from scheduling.calendars.microsoft_backend import UID_PROPERTY
from scheduling.models import CalendarConnection, Meeting
from scheduling.services import meeting_book, meeting_reschedule
from tests.factories import ConversationFactory
from tests.scheduling.conftest import connect_rep_microsoft
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday; reps work 09:00-17:00 Berlin (08:00-16:00 UTC)
LIST = "calendar.events.list"


def utc(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def book(rep, start: datetime, capture) -> Meeting:
    with capture(execute=True):
        meeting = meeting_book(
            rep_id=rep.pk,
            start=start,
            conversation=ConversationFactory(),
            lead=None,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            visitor_timezone="Europe/London",
            now=NOW,
        ).meeting
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED, meeting.sync_error
    return meeting


def follow(rep, capture) -> FollowRun:
    with capture(execute=True):
        return calendar_follow_changes(rep=rep, now=NOW)


def subjects(mailoutbox) -> list[tuple[str, str]]:
    return sorted((m.to[0], m.subject.split(":")[0]) for m in mailoutbox)


# ---- Google ---------------------------------------------------------------------------------------------


def test_an_event_the_rep_moves_in_google_moves_the_meeting_and_both_are_told_once(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    assert follow(google_rep, capture) == FollowRun()  # the first read: everything is where it should be
    mailoutbox.clear()

    # The rep drags it to 14:00-14:45 Berlin, outside any slot we would have offered (45 minutes).
    fake_google.rep_moves("primary", google_event_id(meeting.calendar_uid), utc(13), utc(13, 45))
    run = follow(google_rep, capture)

    assert run.moved == [meeting.pk] and not run.cancelled
    meeting.refresh_from_db()
    assert (meeting.start, meeting.end, meeting.status) == (utc(13), utc(13, 45), Meeting.Status.BOOKED)
    assert meeting.sequence == 1 and meeting.sync_state == Meeting.SyncState.SYNCED
    # Exactly what a reschedule made in admin sends: the visitor's moved invitation and the rep's note.
    assert subjects(mailoutbox) == [("ada@analytical.example", "Moved"), ("gina@vendor.example", "Moved")]
    visitor_mail = next(m for m in mailoutbox if m.to == ["ada@analytical.example"])
    assert "has been moved" in visitor_mail.body and "13:00–13:45 (Europe/London)" in visitor_mail.subject
    # The first read listed from the watched start; the later ones went on from Google's sync token.
    reads = [query for method, query, _ in fake_google.calls if method == LIST]
    assert "timeMin" in reads[0] and "syncToken" not in reads[0]
    assert all("syncToken" in query and "timeMin" not in query for query in reads[1:])

    # Again (the next periodic run): nothing changes, nobody is emailed again.
    mailoutbox.clear()
    assert follow(google_rep, capture) == FollowRun()
    meeting.refresh_from_db()
    assert (meeting.start, meeting.sequence) == (utc(13), 1) and mailoutbox == []


def test_an_event_the_rep_deletes_in_google_cancels_the_meeting_and_emails_the_visitor(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    follow(google_rep, capture)
    mailoutbox.clear()

    fake_google.rep_deletes("primary", google_event_id(meeting.calendar_uid))
    assert follow(google_rep, capture).cancelled == [meeting.pk]

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED and meeting.cancel_reason == "Deleted from the rep's calendar"
    assert subjects(mailoutbox) == [("ada@analytical.example", "Cancelled"), ("gina@vendor.example", "Cancelled")]
    assert "METHOD:CANCEL" in str(next(m for m in mailoutbox if m.to == ["ada@analytical.example"]).message())
    # Its time is free again, and a second run does nothing more.
    mailoutbox.clear()
    assert follow(google_rep, capture) == FollowRun() and mailoutbox == []


def test_an_expired_sync_token_is_answered_410_and_everything_is_read_again(
    fake_google, google_rep, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    follow(google_rep, capture)
    fake_google.expire_sync_tokens()
    fake_google.rep_moves("primary", google_event_id(meeting.calendar_uid), utc(12), utc(12, 30))

    assert follow(google_rep, capture).moved == [meeting.pk]

    reads = [query for method, query, _ in fake_google.calls if method == LIST]
    # first read, the refused token (410), the full read again (with deleted events, from the start)
    assert ["syncToken" in query for query in reads[:3]] == [False, True, False]
    assert reads[2]["showDeleted"] == "true" and "timeMin" in reads[2]
    meeting.refresh_from_db()
    assert meeting.start == utc(12)


def test_a_change_made_here_that_is_not_on_the_calendar_yet_is_not_undone_by_the_older_event(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    follow(google_rep, capture)
    # The visitor moves the meeting to 11:00; its calendar write has not run yet.
    with capture(execute=False):
        meeting_reschedule(meeting=meeting, start=utc(11), now=NOW)
    # Meanwhile the rep edits the (old) event on Google, so it shows up in the changes at 09:00.
    fake_google.rep_moves("primary", google_event_id(meeting.calendar_uid), utc(9), utc(9, 30))
    mailoutbox.clear()

    assert follow(google_rep, capture) == FollowRun()

    meeting.refresh_from_db()
    assert meeting.start == utc(11) and meeting.sync_state == Meeting.SyncState.PENDING and mailoutbox == []


def test_the_reps_own_events_are_not_meetings_and_a_move_onto_another_meeting_is_refused(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = book(google_rep, utc(9), capture)
    second = book(google_rep, utc(11), capture)
    follow(google_rep, capture)
    lunch = fake_google.add_event(
        "primary", {"start": {"dateTime": "2026-12-07T12:00:00Z"}, "end": {"dateTime": "2026-12-07T13:00:00Z"}}
    )
    fake_google.rep_moves("primary", lunch["id"], utc(12, 30), utc(13, 30))
    fake_google.rep_moves("primary", google_event_id(first.calendar_uid), utc(11), utc(11, 30))
    mailoutbox.clear()

    run = follow(google_rep, capture)

    assert run.refused == [first.pk] and not run.moved and not run.cancelled
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.start == utc(9) and second.start == utc(11) and mailoutbox == []
    assert "onto another meeting" in first.sync_error


def test_the_periodic_task_reads_the_changes_after_the_busy_times(
    fake_google, google_rep, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    with capture(execute=True):
        tasks.calendar_refresh_rep_busy(google_rep.pk)
    fake_google.rep_deletes("primary", google_event_id(meeting.calendar_uid))
    with capture(execute=True):
        tasks.calendar_refresh_rep_busy(google_rep.pk)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
    connection = CalendarConnection.objects.get(rep=google_rep)
    assert connection.changes_cursor and connection.changes_read_at and connection.last_synced_at


def test_a_calendar_that_is_down_keeps_the_cursor_so_no_change_is_missed(
    fake_google, google_rep, django_capture_on_commit_callbacks
):
    from scheduling.calendars import CalendarUnavailable

    capture = django_capture_on_commit_callbacks
    meeting = book(google_rep, utc(9), capture)
    follow(google_rep, capture)
    cursor = CalendarConnection.objects.get(rep=google_rep).changes_cursor
    fake_google.rep_moves("primary", google_event_id(meeting.calendar_uid), utc(12), utc(12, 30))
    fake_google.fail_next(LIST, 503, retry_after=30)

    with pytest.raises(CalendarUnavailable) as raised:
        follow(google_rep, capture)
    assert raised.value.retry_after == 30
    connection = CalendarConnection.objects.get(rep=google_rep)
    assert connection.changes_cursor == cursor and "503" in connection.last_error

    assert follow(google_rep, capture).moved == [meeting.pk]


# ---- Microsoft 365 -------------------------------------------------------------------------------------


@pytest.fixture
def ms_rep(db, fake_microsoft):
    rep = SalesRepFactory(name="Mia Microsoft", email="mia@vendor.example")
    connect_rep_microsoft(fake_microsoft, rep)
    return rep


def graph_id(meeting: Meeting) -> str:
    meeting.refresh_from_db()
    assert meeting.calendar_event_id, "the event id Graph gave is kept with the meeting"
    return meeting.calendar_event_id


def test_an_event_the_rep_moves_in_outlook_moves_the_meeting_across_delta_pages(
    fake_microsoft, ms_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(ms_rep, utc(9), capture)
    # The rep's own busy week: more events than one page of a delta round holds.
    for day in range(8, 13):
        for hour in range(8, 16):
            for minute in (0, 15, 30):
                fake_microsoft.add_event(utc(hour, minute, day), utc(hour, minute + 10, day))
    assert follow(ms_rep, capture) == FollowRun()
    mailoutbox.clear()

    fake_microsoft.rep_moves(graph_id(meeting), utc(14), utc(15))
    assert follow(ms_rep, capture).moved == [meeting.pk]

    meeting.refresh_from_db()
    assert (meeting.start, meeting.end) == (utc(14), utc(15))
    assert subjects(mailoutbox) == [("ada@analytical.example", "Moved"), ("mia@vendor.example", "Moved")]
    assert fake_microsoft.called("delta") >= 3  # two pages in the first round, then the changes
    mailoutbox.clear()
    assert follow(ms_rep, capture) == FollowRun() and mailoutbox == []


def test_an_event_the_rep_deletes_in_outlook_cancels_the_meeting(
    fake_microsoft, ms_rep, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(ms_rep, utc(9), capture)
    follow(ms_rep, capture)
    mailoutbox.clear()

    fake_microsoft.rep_deletes(graph_id(meeting))
    assert follow(ms_rep, capture).cancelled == [meeting.pk]

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
    assert subjects(mailoutbox) == [("ada@analytical.example", "Cancelled"), ("mia@vendor.example", "Cancelled")]
    assert fake_microsoft.called("read") == 1  # the removal was checked: gone, not moved away
    assert follow(ms_rep, capture) == FollowRun()


def test_an_event_moved_out_of_the_watched_stretch_is_followed_not_cancelled(
    fake_microsoft, ms_rep, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(ms_rep, utc(9), capture)
    follow(ms_rep, capture)
    far = NOW + timedelta(days=ms_rep.horizon_days + 30)  # beyond the window the delta round watches

    fake_microsoft.rep_moves(graph_id(meeting), far, far + timedelta(minutes=30))
    assert follow(ms_rep, capture).moved == [meeting.pk]

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED and meeting.start == far


def test_an_expired_delta_round_starts_a_new_one(fake_microsoft, ms_rep, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    meeting = book(ms_rep, utc(9), capture)
    follow(ms_rep, capture)
    fake_microsoft.expire_delta_rounds()
    fake_microsoft.rep_moves(graph_id(meeting), utc(10), utc(10, 30))

    assert follow(ms_rep, capture).moved == [meeting.pk]
    meeting.refresh_from_db()
    assert meeting.start == utc(10)


def test_a_meeting_written_before_event_ids_were_kept_is_found_by_its_uid(
    fake_microsoft, ms_rep, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    meeting = book(ms_rep, utc(9), capture)
    event_id = graph_id(meeting)
    Meeting.objects.filter(pk=meeting.pk).update(calendar_event_id="")
    fake_microsoft.rep_moves(event_id, utc(13), utc(13, 30))

    assert follow(ms_rep, capture).moved == [meeting.pk]

    meeting.refresh_from_db()
    assert meeting.calendar_event_id == event_id and meeting.start == utc(13)
    tag = {"id": UID_PROPERTY, "value": meeting.calendar_uid}
    assert [e["id"] for e in fake_microsoft.live_events() if tag in e.get("singleValueExtendedProperties", [])] == [
        event_id
    ]


# ---- CalDAV ----------------------------------------------------------------------------------------------


def test_an_event_the_rep_moves_or_deletes_on_a_caldav_calendar_is_followed(
    rep_calendar, mailoutbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    rep = rep_calendar.rep
    meeting = book(rep, utc(9), capture)
    rep_calendar.calendar.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:gym@rep\r\n"
        "DTSTAMP:20261201T000000Z\r\nDTSTART:20261207T120000Z\r\nDTEND:20261207T130000Z\r\n"
        "SUMMARY:Gym\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert follow(rep, capture) == FollowRun()
    mailoutbox.clear()

    event = rep_calendar.calendar.event_by_uid(meeting.calendar_uid)
    component = event.icalendar_component
    component["dtstart"].dt = utc(14)
    component["dtend"].dt = utc(14, 30)
    event.save()
    assert follow(rep, capture).moved == [meeting.pk]
    meeting.refresh_from_db()
    assert (meeting.start, meeting.end) == (utc(14), utc(14, 30))
    assert subjects(mailoutbox) == [("ada@analytical.example", "Moved"), ("rita@vendor.example", "Moved")]
    assert follow(rep, capture) == FollowRun()

    rep_calendar.calendar.event_by_uid(meeting.calendar_uid).delete()
    assert follow(rep, capture).cancelled == [meeting.pk]
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
