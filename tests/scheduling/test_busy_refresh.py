"""Busy times read again right before a visitor is offered times, when the cached ones are older than
SCHEDULING_BUSY_MAX_AGE_SECONDS: every calendar kind through the one interface, several reps at once,
and a calendar that is down, slow or revoked offered from its cache instead of failing the visitor.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from qualification.models import Lead
from scheduling import services
from scheduling.calendars.token_crypto import token_decrypt
from scheduling.models import BusyBlock, CalendarConnection
from tests.factories import ConversationFactory
from tests.scheduling.conftest import connect_rep_calendar, connect_rep_google, connect_rep_microsoft
from tests.scheduling.factories import LeadFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday; reps work 09:00-17:00 Berlin (08:00-16:00 UTC)
MONDAY = NOW.date()
FREEBUSY = "calendar.freebusy.query"


@pytest.fixture(autouse=True)
def no_calendar_writes(monkeypatch):
    from scheduling import tasks

    monkeypatch.setattr(tasks.meeting_changed, "delay", lambda *args: None)


def offer() -> services.Offer:
    conversation = ConversationFactory(timezone="Europe/Berlin")
    LeadFactory(conversation=conversation, outcome=Lead.Outcome.QUALIFIED)
    offered = services.slots_offer(conversation=conversation, now=NOW)
    assert offered.code == "offered", offered
    return offered


def offered_days(offered: services.Offer) -> set:
    return {slot.start.date() for slot in offered.slots}


def busy_all_monday(fake) -> None:
    fake.add_event(
        "primary", {"start": {"dateTime": "2026-12-07T07:00:00Z"}, "end": {"dateTime": "2026-12-07T17:00:00Z"}}
    )


def read_minutes_ago(rep, minutes: int) -> None:
    CalendarConnection.objects.filter(rep=rep).update(last_synced_at=timezone.now() - timedelta(minutes=minutes))


def test_busy_times_never_read_are_read_before_times_are_offered(fake_google, google_rep):
    busy_all_monday(fake_google)

    offered = offer()

    assert fake_google.called(FREEBUSY) == 1
    assert MONDAY not in offered_days(offered)  # the rep's day on Google is not offered
    assert BusyBlock.objects.filter(rep=google_rep).count() == 1
    assert CalendarConnection.objects.get(rep=google_rep).last_synced_at > timezone.now() - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("max_age_seconds", "read_ago_minutes", "reads"),
    [(300, 2, 0), (300, 6, 1), (3600, 10, 0), (60, 2, 1)],
    ids=["fresh", "stale", "a-longer-setting", "a-shorter-setting"],
)
def test_only_busy_times_older_than_the_setting_are_read_again(
    fake_google, google_rep, settings, max_age_seconds, read_ago_minutes, reads
):
    settings.SCHEDULING_BUSY_MAX_AGE_SECONDS = max_age_seconds
    read_minutes_ago(google_rep, read_ago_minutes)
    busy_all_monday(fake_google)

    offered = offer()

    assert fake_google.called(FREEBUSY) == reads
    assert (MONDAY in offered_days(offered)) == (reads == 0)  # the old cache knew nothing of Monday


def test_a_calendar_that_is_down_is_offered_from_its_cache(fake_google, google_rep):
    busy_all_monday(fake_google)
    offer()  # cached: Monday is busy
    read_minutes_ago(google_rep, 30)
    fake_google.fail_next(FREEBUSY, 503, retry_after=60)

    offered = offer()

    assert MONDAY not in offered_days(offered) and len(offered.slots) == services.OFFER_LIMIT
    connection = CalendarConnection.objects.get(rep=google_rep)
    assert "503" in connection.last_error
    assert connection.last_synced_at < timezone.now() - timedelta(minutes=29)  # still the old cache
    assert BusyBlock.objects.filter(rep=google_rep).count() == 1


def test_a_calendar_slower_than_the_timeout_is_offered_from_its_cache(fake_google, google_rep, settings):
    settings.SCHEDULING_BUSY_REFRESH_TIMEOUT_SECONDS = 0.3
    fake_google.latency = 1.5

    offered = offer()

    assert len(offered.slots) == services.OFFER_LIMIT
    assert "timed out" in CalendarConnection.objects.get(rep=google_rep).last_error.lower()


def test_a_revoked_grant_is_not_asked_and_its_cache_is_used(fake_google, google_rep):
    CalendarConnection.objects.filter(rep=google_rep).update(grant_state=CalendarConnection.GrantState.REVOKED)
    offer()
    assert fake_google.called(FREEBUSY) == 0 and fake_google.token_refreshes == 0


def test_reps_on_every_calendar_kind_are_read_at_the_same_time(fake_google, fake_microsoft, radicale):
    google_reps = [SalesRepFactory(name=f"Google {i}") for i in range(3)]
    microsoft_reps = [SalesRepFactory(name=f"Microsoft {i}") for i in range(3)]
    caldav_rep = SalesRepFactory(name="CalDAV")
    for rep in google_reps:
        connect_rep_google(fake_google, rep)
    for rep in microsoft_reps:
        connect_rep_microsoft(fake_microsoft, rep)
    connect_rep_calendar(radicale, caldav_rep)
    fake_google.latency = fake_microsoft.latency = 0.3

    offer()

    # Each provider was answering several reps' requests at once: they were not read one by one.
    assert fake_google.max_in_flight >= 2 and fake_microsoft.max_in_flight >= 2
    read = CalendarConnection.objects.filter(last_synced_at__gt=timezone.now() - timedelta(minutes=1))
    assert read.count() == 7 and not CalendarConnection.objects.exclude(last_error="").exists()


def test_a_token_refreshed_on_a_worker_thread_is_stored_encrypted(fake_google, db):
    rep = SalesRepFactory()
    connection = connect_rep_google(fake_google, rep, expires_in=30)
    old = token_decrypt(connection.access_token_encrypted)

    offer()

    connection.refresh_from_db()
    new = token_decrypt(connection.access_token_encrypted)
    assert fake_google.token_refreshes == 1 and new != old and new not in connection.access_token_encrypted
    read_minutes_ago(rep, 30)
    offer()
    assert fake_google.token_refreshes == 1  # the stored token was used
