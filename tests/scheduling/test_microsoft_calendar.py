"""Microsoft 365 connections, against the fake identity platform and Graph (tests/fakes/microsoft.py).

Everything of ours is real (PostgreSQL, the booking services, the calendar sync); only
Microsoft is played.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from scheduling.calendar_sync import calendar_refresh_busy, meeting_calendar_sync, meetings_sync_unsynced
from scheduling.calendars import CalendarGrantRevoked, CalendarUnavailable
from scheduling.calendars.microsoft_backend import UID_PROPERTY
from scheduling.calendars.token_crypto import token_decrypt
from scheduling.models import BusyBlock, CalendarConnection, Meeting
from scheduling.selectors import rep_free_slots
from scheduling.services import meeting_book, meeting_cancel, meeting_reschedule
from tests.scheduling.conftest import connect_rep_microsoft
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday; the rep works 09:00-17:00 Berlin (08:00-16:00 UTC)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 7, hour, minute, tzinfo=UTC)


@pytest.fixture
def ms_rep(db, fake_microsoft):
    rep = SalesRepFactory(name="Mia Microsoft", email="mia@vendor.example", video_link="https://teams.example/mia")
    connect_rep_microsoft(fake_microsoft, rep)
    return rep


def book(rep, start):
    from tests.factories import ConversationFactory

    return meeting_book(
        rep_id=rep.pk,
        start=start,
        conversation=ConversationFactory(),
        lead=None,
        visitor_email="ada@analytical.example",
        visitor_name="Ada Lovelace",
        visitor_timezone="Europe/London",
        now=NOW,
    ).meeting


def ours(fake, meeting) -> list[dict]:
    tag = {"id": UID_PROPERTY, "value": meeting.calendar_uid}
    return [e for e in fake.live_events() if tag in e.get("singleValueExtendedProperties", [])]


def test_busy_tentative_and_away_times_hide_slots_and_free_ones_do_not(fake_microsoft, ms_rep):
    fake_microsoft.add_busy(utc(9), utc(10), "busy")
    fake_microsoft.add_busy(utc(11), utc(11, 30), "tentative")
    fake_microsoft.add_busy(utc(13), utc(14), "oof")
    fake_microsoft.add_busy(utc(14, 30), utc(15), "free")

    calendar_refresh_busy(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1))

    assert sorted(BusyBlock.objects.filter(rep=ms_rep).values_list("start", "end")) == [
        (utc(9), utc(10)),
        (utc(11), utc(11, 30)),
        (utc(13), utc(14)),
    ]
    free = {s.start for s in rep_free_slots(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1), now=NOW)}
    assert not {utc(9), utc(9, 30), utc(11), utc(13), utc(13, 30)} & free
    assert {utc(8, 30), utc(10), utc(11, 30), utc(14, 30)} <= free


def test_booking_moving_and_cancelling_keep_one_event_tagged_with_the_meeting(
    fake_microsoft, ms_rep, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(ms_rep, MONDAY_10_BERLIN)
    [event] = ours(fake_microsoft, meeting)
    assert event["start"] == {"dateTime": "2026-12-07T09:00:00", "timeZone": "UTC"}
    assert "Ada Lovelace" in event["subject"] and event["body"]["contentType"] == "text"
    assert event["location"] == {"displayName": "https://teams.example/mia"}
    assert event["transactionId"]

    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_reschedule(meeting=meeting, start=MONDAY_10_BERLIN + timedelta(hours=2), now=NOW)
    [moved] = ours(fake_microsoft, meeting)
    assert moved["id"] == event["id"] and moved["start"]["dateTime"] == "2026-12-07T11:00:00"
    assert len(fake_microsoft.live_events()) == 1

    # Our own event is busy in getSchedule but no busy block: the meeting blocks its own time.
    calendar_refresh_busy(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1))
    assert not BusyBlock.objects.filter(rep=ms_rep).exists()

    with django_capture_on_commit_callbacks(execute=True):
        meeting_cancel(meeting=meeting, reason="Found another vendor")
    assert fake_microsoft.live_events() == []
    meeting_calendar_sync(meeting=meeting)  # again: nothing to delete is done
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED


@pytest.mark.parametrize("after_applying", [False, True], ids=["down-before-the-write", "reply-lost-after-the-write"])
def test_a_server_failure_mid_write_keeps_the_meeting_and_it_lands_exactly_once(
    fake_microsoft, ms_rep, django_capture_on_commit_callbacks, after_applying
):
    fake_microsoft.fail_next("create", 503, after_applying=after_applying, retry_after=30)
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(ms_rep, MONDAY_10_BERLIN)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED and meeting.sync_state == Meeting.SyncState.FAILED
    assert "503" in meeting.sync_error

    assert meetings_sync_unsynced(now=NOW).synced == [meeting.pk]
    meeting_calendar_sync(meeting=meeting)  # a duplicate task
    assert len(ours(fake_microsoft, meeting)) == 1 and len(fake_microsoft.live_events()) == 1


def test_rate_limiting_carries_retry_after(fake_microsoft, ms_rep):
    fake_microsoft.fail_next("getSchedule", 429, retry_after=90)
    with pytest.raises(CalendarUnavailable) as raised:
        calendar_refresh_busy(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1))
    assert raised.value.retry_after == 90
    assert "429" in CalendarConnection.objects.get(rep=ms_rep).last_error


def test_an_expiring_token_is_refreshed_with_msal_and_stored_encrypted(fake_microsoft, db):
    rep = SalesRepFactory()
    connection = connect_rep_microsoft(fake_microsoft, rep, expires_in=60)
    old = token_decrypt(connection.access_token_encrypted)
    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=1))
    connection.refresh_from_db()
    new = token_decrypt(connection.access_token_encrypted)
    assert fake_microsoft.token_refreshes == 1 and new != old and new not in connection.access_token_encrypted
    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=1))
    assert fake_microsoft.token_refreshes == 1


def test_a_token_refused_with_401_is_refreshed_once(fake_microsoft, ms_rep):
    for account in fake_microsoft.accounts:
        account.access_tokens.clear()
    calendar_refresh_busy(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1))
    assert fake_microsoft.token_refreshes == 1 and fake_microsoft.called("getSchedule") == 1


def test_a_revoked_grant_shows_on_the_connection_and_the_meeting_is_kept(
    fake_microsoft, ms_rep, django_capture_on_commit_callbacks
):
    fake_microsoft.revoke_all()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = book(ms_rep, MONDAY_10_BERLIN)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.BOOKED and meeting.sync_state == Meeting.SyncState.FAILED
    connection = CalendarConnection.objects.get(rep=ms_rep)
    assert connection.grant_state == CalendarConnection.GrantState.REVOKED
    with pytest.raises(CalendarGrantRevoked):
        calendar_refresh_busy(rep=ms_rep, start=NOW, end=NOW + timedelta(days=1))
