"""Google Calendar connections, against the fake Google server (tests/fakes/google.py).

Everything of ours is real (PostgreSQL, the booking services, the calendar sync); only Google
is played, by a server that refuses any request the discovery document would not allow.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from scheduling.calendar_sync import calendar_refresh_busy, meeting_calendar_sync, meetings_sync_unsynced
from scheduling.calendars import CalendarGrantRevoked, CalendarUnavailable, calendar_for
from scheduling.calendars.google_backend import google_event_id
from scheduling.calendars.token_crypto import token_decrypt
from scheduling.models import BusyBlock, CalendarConnection, Meeting
from scheduling.selectors import rep_free_slots
from scheduling.services import meeting_book, meeting_cancel, meeting_reschedule
from tests.scheduling.conftest import connect_rep_google
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
# Monday 7 December 2026, 06:00 UTC; the rep works 09:00-17:00 Europe/Berlin (08:00-16:00 UTC).
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
INSERT, PATCH, DELETE = "calendar.events.insert", "calendar.events.patch", "calendar.events.delete"


def utc(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def book(rep, start, lead=None):
    from tests.factories import ConversationFactory

    conversation = lead.conversation if lead else ConversationFactory()
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


def free_starts(rep, day: int = 7) -> set[datetime]:
    start = datetime(2026, 12, day, 0, 0, tzinfo=UTC)
    return {s.start for s in rep_free_slots(rep=rep, start=start, end=start + timedelta(days=1), now=NOW)}


def our_event(fake, meeting: Meeting, calendar_id: str = "primary") -> dict:
    return fake.events[(calendar_id, google_event_id(meeting.calendar_uid))]


def test_busy_events_on_google_hide_the_overlapping_slots(fake_google, google_rep):
    connection = google_rep.calendar
    connection.busy_calendars = ["primary", "team-offsites"]
    connection.save()
    # 10:00-11:00 Berlin (09:00-10:00 UTC) on the primary calendar; 14:00-15:00 UTC on a second
    # calendar the rep chose as busy; a "free" (transparent) event blocks nothing.
    fake_google.add_event(
        "primary",
        {"start": {"dateTime": "2026-12-07T10:00:00+01:00"}, "end": {"dateTime": "2026-12-07T11:00:00+01:00"}},
    )
    fake_google.add_event(
        "team-offsites", {"start": {"dateTime": rfc3339(utc(14))}, "end": {"dateTime": rfc3339(utc(15))}}
    )
    fake_google.add_event(
        "primary",
        {"start": {"dateTime": rfc3339(utc(12))}, "end": {"dateTime": rfc3339(utc(13))}, "transparency": "transparent"},
    )
    before = free_starts(google_rep)
    assert {utc(9), utc(9, 30), utc(14), utc(14, 30), utc(12)} <= before

    assert calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=2)) == 2

    after = free_starts(google_rep)
    assert utc(9) not in after and utc(9, 30) not in after
    assert utc(14) not in after and utc(14, 30) not in after
    assert {utc(8, 30), utc(10), utc(12), utc(15)} <= after
    assert sorted(BusyBlock.objects.filter(rep=google_rep).values_list("start", "end")) == [
        (utc(9), utc(10)),
        (utc(14), utc(15)),
    ]
    connection.refresh_from_db()
    assert connection.last_synced_at and connection.last_error == ""


def test_a_booking_lands_on_the_google_calendar_with_the_lead_summary(
    fake_google, google_rep, chat_lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(google_rep, MONDAY_10_BERLIN, lead=chat_lead)

    assert len(fake_google.live_events()) == 1
    event = our_event(fake_google, meeting)
    assert event["start"]["dateTime"] == "2026-12-07T09:00:00Z"
    assert event["end"]["dateTime"] == "2026-12-07T09:30:00Z"
    assert "Ada Lovelace" in event["summary"] and "Analytical Engines Ltd" in event["summary"]
    assert "nobody answers the contact form for days" in event["description"]
    assert "+30  Buying within 3 months" in event["description"]
    assert "SYSTEM NOTE" not in event["description"]
    assert event["location"] == "https://meet.example/gina"
    # Google must not mail the visitor: our own invitation does.
    assert all(query.get("sendUpdates") == "none" for method, query, _ in fake_google.calls if method == INSERT)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED and meeting.sync_error == ""

    # Our own meeting is busy in Google's free/busy answer, but not a busy block of ours:
    # the meeting itself blocks its time, and moving or cancelling it frees the time at once.
    fake_google.add_event(
        "primary", {"start": {"dateTime": rfc3339(utc(9, 30))}, "end": {"dateTime": rfc3339(utc(10, 30))}}
    )
    calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=1))
    assert list(BusyBlock.objects.filter(rep=google_rep).values_list("start", "end")) == [(utc(9, 30), utc(10, 30))]


def test_reschedule_moves_the_same_event_and_cancel_deletes_it(
    fake_google, google_rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(google_rep, MONDAY_10_BERLIN)
    later = MONDAY_10_BERLIN + timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_reschedule(meeting=meeting, start=later, now=NOW)

    assert [e["id"] for e in fake_google.live_events()] == [google_event_id(meeting.calendar_uid)]
    assert our_event(fake_google, meeting)["start"]["dateTime"] == rfc3339(later)
    assert (fake_google.called(INSERT), fake_google.called(PATCH)) == (2, 1)  # the second insert met 409

    with django_capture_on_commit_callbacks(execute=True):
        meeting_cancel(meeting=meeting, reason="Found another vendor")
    assert fake_google.live_events() == []
    # Deleting again (a retried task) meets 410 Gone, which is done, not an error.
    meeting_calendar_sync(meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED


@pytest.mark.parametrize("after_applying", [False, True], ids=["down-before-the-write", "reply-lost-after-the-write"])
def test_a_server_failure_mid_write_keeps_the_meeting_and_it_lands_exactly_once(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks, after_applying
):
    fake_google.fail_next(INSERT, 503, after_applying=after_applying)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(google_rep, MONDAY_10_BERLIN)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED
    assert meeting.sync_state == Meeting.SyncState.FAILED and "503" in meeting.sync_error
    assert len(fake_google.live_events()) == (1 if after_applying else 0)
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@analytical.example", "gina@vendor.example"]

    # What the periodic task (tasks.calendar_retry_unsynced) runs; then once more, as a duplicate.
    assert meetings_sync_unsynced(now=NOW).synced == [meeting.pk]
    meeting_calendar_sync(meeting=meeting)

    assert [e["id"] for e in fake_google.live_events()] == [google_event_id(meeting.calendar_uid)]
    assert our_event(fake_google, meeting)["start"]["dateTime"] == "2026-12-07T09:00:00Z"
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED and meeting.sync_error == ""
    assert len(mailoutbox) == 2


def test_rate_limiting_carries_retry_after_and_the_write_lands_later(
    fake_google, google_rep, django_capture_on_commit_callbacks
):
    fake_google.fail_next(INSERT, 429, retry_after=120)
    with django_capture_on_commit_callbacks(execute=False):
        meeting = book(google_rep, MONDAY_10_BERLIN)
    with pytest.raises(CalendarUnavailable) as raised:
        meeting_calendar_sync(meeting=meeting)
    assert raised.value.retry_after == 120 and not isinstance(raised.value, CalendarGrantRevoked)
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.FAILED and "429" in meeting.sync_error

    meeting_calendar_sync(meeting=meeting)
    assert len(fake_google.live_events()) == 1


def test_an_expiring_access_token_is_refreshed_first_and_stored_encrypted(fake_google, db):
    rep = SalesRepFactory()
    # Expires within google-auth's refresh margin: it is refreshed before the call, not after a 401.
    connection = connect_rep_google(fake_google, rep, expires_in=30)
    old_access = token_decrypt(connection.access_token_encrypted)

    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=1))

    assert fake_google.token_refreshes == 1
    connection.refresh_from_db()
    new_access = token_decrypt(connection.access_token_encrypted)
    assert new_access and new_access != old_access
    assert new_access not in connection.access_token_encrypted  # encrypted at rest
    refresh = token_decrypt(connection.refresh_token_encrypted)
    assert refresh and refresh not in connection.refresh_token_encrypted
    assert connection.access_token_expires_at > datetime.now(UTC) + timedelta(minutes=50)

    # The stored token is used from then on: no second refresh.
    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=1))
    assert fake_google.token_refreshes == 1


def test_an_access_token_refused_with_401_is_refreshed_once_and_the_call_repeated(fake_google, google_rep):
    for account in fake_google.accounts:
        account.access_tokens.clear()  # Google dropped the token before its expiry
    calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=1))
    assert fake_google.token_refreshes == 1
    assert fake_google.called("calendar.freebusy.query") == 1


def test_a_revoked_grant_shows_on_the_connection_emails_the_rep_once_and_the_meeting_waits(
    fake_google, google_rep, mailoutbox, django_capture_on_commit_callbacks
):
    fake_google.revoke_all()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(google_rep, MONDAY_10_BERLIN)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED and meeting.sync_state == Meeting.SyncState.FAILED
    connection = CalendarConnection.objects.get(rep=google_rep)
    assert connection.grant_state == CalendarConnection.GrantState.REVOKED
    assert "revoked" in connection.last_error
    [revoked_mail] = [m for m in mailoutbox if "calendar again" in m.subject]
    assert revoked_mail.to == ["gina@vendor.example"]
    assert revoked_mail.subject == "Connect your Google calendar again"
    assert f"/admin/scheduling/salesrep/{google_rep.pk}/change/" in revoked_mail.body
    assert "No meeting is lost" in revoked_mail.body
    # Every later failure of the same grant is recorded, but the rep is not emailed again.
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CalendarGrantRevoked):
        calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        meetings_sync_unsynced(now=NOW)
    assert len([m for m in mailoutbox if "calendar again" in m.subject]) == 1

    # The rep connects the account again: the waiting meeting is written, once.
    CalendarConnection.objects.filter(pk=connection.pk).delete()
    connect_rep_google(fake_google, google_rep)
    assert meetings_sync_unsynced(now=NOW).synced == [meeting.pk]
    assert [e["id"] for e in fake_google.live_events()] == [google_event_id(meeting.calendar_uid)]
    assert CalendarConnection.objects.get(rep=google_rep).grant_state == CalendarConnection.GrantState.VALID


def test_meetings_go_to_the_chosen_target_calendar(fake_google, db, django_capture_on_commit_callbacks):
    rep = SalesRepFactory()
    fake_google.calendars.add("sales-meetings")
    connect_rep_google(fake_google, rep, target_calendar="sales-meetings")
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(rep, MONDAY_10_BERLIN)
    assert fake_google.live_events("primary") == []
    assert our_event(fake_google, meeting, "sales-meetings")["start"]["dateTime"] == "2026-12-07T09:00:00Z"


def test_a_busy_calendar_google_cannot_read_keeps_the_old_blocks(fake_google, google_rep):
    fake_google.add_event("primary", {"start": {"dateTime": rfc3339(utc(9))}, "end": {"dateTime": rfc3339(utc(10))}})
    calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=1))
    CalendarConnection.objects.filter(rep=google_rep).update(busy_calendars=["primary", "deleted-calendar"])
    with pytest.raises(CalendarUnavailable):
        calendar_refresh_busy(rep=google_rep, start=NOW, end=NOW + timedelta(days=1))
    assert BusyBlock.objects.filter(rep=google_rep).count() == 1
    assert "notFound" in CalendarConnection.objects.get(rep=google_rep).last_error


def test_the_fake_refuses_a_request_google_would_reject(fake_google, google_rep):
    """The fake's schema check can fail: a field the discovery document does not define is refused."""
    backend = calendar_for(CalendarConnection.objects.get(rep=google_rep))
    with pytest.raises(CalendarUnavailable, match="400"):
        backend._call(
            "bad insert",
            lambda service: (
                service.events()
                .insert(calendarId="primary", body={"start": {"dateTime": "2026-12-07T09:00:00Z"}, "startTime": "x"})
                .execute()
            ),
        )
    assert any("unknown field 'startTime'" in violation for violation in fake_google.violations)
    fake_google.violations.clear()
