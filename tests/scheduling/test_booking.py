from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import IntegrityError, transaction

from scheduling import services, tasks
from scheduling.errors import SchedulingError
from scheduling.models import Meeting
from scheduling.selectors import rep_free_slots
from scheduling.services import meeting_book, meeting_cancel, meeting_reschedule, meeting_set_status
from tests.factories import ConversationFactory
from tests.scheduling.factories import LeadFactory, MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
# Monday 7 December 2026, 06:00 UTC; Berlin is UTC+1 (09:00 local = 08:00 UTC).
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
TEN_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.meeting_changed, "delay", lambda *args: calls.append(args))
    return calls


def book(rep, start, conversation=None, email="ada@prospect.example", **kwargs):
    conversation = conversation or ConversationFactory()
    return meeting_book(
        rep_id=rep.pk,
        start=start,
        conversation=conversation,
        lead=kwargs.pop("lead", None),
        visitor_email=email,
        visitor_name="Ada",
        visitor_timezone="Europe/London",
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def test_booking_stores_the_meeting_and_queues_the_calendar_work(django_capture_on_commit_callbacks, queued):
    rep = SalesRepFactory(meeting_minutes=45)
    conversation = ConversationFactory()
    lead = LeadFactory(conversation=conversation)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(rep, TEN_BERLIN, conversation, email=" Ada@Prospect.Example ", lead=lead)
    meeting = booking.meeting
    assert booking.created
    assert (meeting.rep, meeting.start, meeting.end) == (rep, TEN_BERLIN, TEN_BERLIN + timedelta(minutes=45))
    assert meeting.status == Meeting.Status.BOOKED
    assert meeting.visitor_email_domain == "prospect.example"
    assert meeting.lead == lead and meeting.conversation == conversation
    assert meeting.sync_state == Meeting.SyncState.NOT_CONNECTED
    assert queued == [(meeting.pk, "booked")]
    assert TEN_BERLIN not in [s.start for s in rep_free_slots(rep=rep, start=NOW, end=NOW + timedelta(days=1), now=NOW)]


@pytest.mark.parametrize(
    ("start", "why"),
    [
        (datetime(2026, 12, 7, 7, 0, tzinfo=UTC), "08:00 Berlin, before working hours"),
        (datetime(2026, 12, 7, 16, 0, tzinfo=UTC), "17:00 Berlin, after working hours"),
        (datetime(2026, 12, 12, 10, 0, tzinfo=UTC), "a Saturday"),
        (datetime(2026, 12, 7, 9, 10, tzinfo=UTC), "off the half-hour grid"),
        (datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "in the past"),
    ],
)
def test_a_time_that_is_not_a_free_slot_is_refused(start, why):
    rep = SalesRepFactory()
    with pytest.raises(SchedulingError) as err:
        book(rep, start)
    assert err.value.code == "slot_unavailable", why
    assert not Meeting.objects.exists()


def test_too_soon_and_past_the_horizon_are_refused():
    rep = SalesRepFactory(min_notice_minutes=240, horizon_days=3)
    with pytest.raises(SchedulingError) as err:
        book(rep, datetime(2026, 12, 7, 9, 30, tzinfo=UTC))  # 3.5 h after now
    assert err.value.code == "slot_unavailable"
    with pytest.raises(SchedulingError) as err:
        book(rep, datetime(2026, 12, 10, 9, 0, tzinfo=UTC))  # 3 days 3 h ahead
    assert err.value.code == "slot_unavailable"
    assert book(rep, datetime(2026, 12, 7, 10, 0, tzinfo=UTC)).created  # exactly 4 h notice


def test_invalid_email_is_refused():
    with pytest.raises(SchedulingError) as err:
        book(SalesRepFactory(), TEN_BERLIN, email="ada at prospect")
    assert err.value.code == "invalid_email"


def test_someone_else_got_the_slot_first():
    rep = SalesRepFactory()
    book(rep, TEN_BERLIN)
    with pytest.raises(SchedulingError) as err:
        book(rep, TEN_BERLIN, email="bob@other.example")
    assert err.value.code == "slot_taken"
    assert Meeting.objects.count() == 1


def test_the_same_conversation_booking_twice_gets_one_meeting():
    rep = SalesRepFactory()
    conversation = ConversationFactory()
    first = book(rep, TEN_BERLIN, conversation)
    again = book(rep, TEN_BERLIN, conversation)
    assert first.created and not again.created
    assert again.meeting.pk == first.meeting.pk
    assert Meeting.objects.count() == 1


def test_booking_another_slot_while_one_is_booked_is_refused_with_the_meeting():
    rep = SalesRepFactory()
    conversation = ConversationFactory()
    first = book(rep, TEN_BERLIN, conversation)
    with pytest.raises(SchedulingError) as err:
        book(rep, TEN_BERLIN + timedelta(hours=1), conversation)
    assert err.value.code == "already_booked"
    assert err.value.meeting.pk == first.meeting.pk
    assert Meeting.objects.count() == 1


def test_reschedule_moves_the_meeting_and_bumps_the_sequence(django_capture_on_commit_callbacks, queued):
    rep = SalesRepFactory()
    meeting = book(rep, TEN_BERLIN).meeting
    later = TEN_BERLIN + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        moved = meeting_reschedule(meeting=meeting, start=later, now=NOW)
    moved.refresh_from_db()
    assert (moved.start, moved.end, moved.sequence) == (later, later + timedelta(minutes=30), 1)
    assert queued[-1] == (meeting.pk, "rescheduled")
    free = [s.start for s in rep_free_slots(rep=rep, start=NOW, end=NOW + timedelta(days=1), now=NOW)]
    assert TEN_BERLIN in free and later not in free


def test_reschedule_to_an_overlapping_time_of_itself_is_allowed():
    rep = SalesRepFactory(meeting_minutes=60)
    meeting = book(rep, TEN_BERLIN).meeting
    moved = meeting_reschedule(meeting=meeting, start=TEN_BERLIN + timedelta(minutes=30), now=NOW)
    assert moved.start == TEN_BERLIN + timedelta(minutes=30)


def test_reschedule_onto_someone_elses_meeting_is_refused():
    rep = SalesRepFactory()
    meeting = book(rep, TEN_BERLIN).meeting
    book(rep, TEN_BERLIN + timedelta(hours=1), email="bob@other.example")
    with pytest.raises(SchedulingError) as err:
        meeting_reschedule(meeting=meeting, start=TEN_BERLIN + timedelta(hours=1), now=NOW)
    assert err.value.code == "slot_taken"
    meeting.refresh_from_db()
    assert meeting.start == TEN_BERLIN and meeting.sequence == 0


def test_cancel_frees_the_slot(django_capture_on_commit_callbacks, queued):
    rep = SalesRepFactory()
    conversation = ConversationFactory()
    meeting = book(rep, TEN_BERLIN, conversation).meeting
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = meeting_cancel(meeting=meeting, reason="Found another vendor")
    assert cancelled.status == Meeting.Status.CANCELLED and cancelled.cancelled_at is not None
    assert cancelled.cancel_reason == "Found another vendor" and cancelled.sequence == 1
    assert queued[-1] == (meeting.pk, "cancelled")
    assert meeting_cancel(meeting=meeting).sequence == 1  # twice is a no-op
    # Someone else can take the time, and the same conversation can book again.
    assert book(rep, TEN_BERLIN, email="bob@other.example").created
    assert book(rep, TEN_BERLIN + timedelta(hours=1), conversation).created


def test_set_status_held_and_no_show():
    meeting = book(SalesRepFactory(), TEN_BERLIN).meeting
    assert meeting_set_status(meeting=meeting, status="held").status == Meeting.Status.HELD
    assert meeting_set_status(meeting=meeting, status="no_show").status == Meeting.Status.NO_SHOW
    with pytest.raises(SchedulingError) as err:
        meeting_set_status(meeting=meeting, status="booked")
    assert err.value.code == "invalid_status"
    with pytest.raises(SchedulingError) as err:
        meeting_cancel(meeting=meeting)
    assert err.value.code == "meeting_not_active"


def test_postgresql_refuses_an_overlapping_meeting_written_directly():
    rep = SalesRepFactory()
    MeetingFactory(rep=rep, start=TEN_BERLIN)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        MeetingFactory(rep=rep, start=TEN_BERLIN + timedelta(minutes=15))
    assert "meeting_no_overlap_per_rep" in str(err.value)
    # Back to back is fine, and a cancelled meeting does not block.
    MeetingFactory(rep=rep, start=TEN_BERLIN + timedelta(minutes=30))
    MeetingFactory(rep=rep, start=TEN_BERLIN, status=Meeting.Status.CANCELLED)
    assert Meeting.objects.count() == 3


def test_an_exclusion_violation_becomes_slot_taken(monkeypatch):
    """The database is the last line: even if the re-check missed a meeting, the insert fails."""
    rep = SalesRepFactory()
    MeetingFactory(rep=rep, start=TEN_BERLIN)
    monkeypatch.setattr(services, "_check_bookable", lambda **kwargs: None)
    with pytest.raises(SchedulingError) as err:
        book(rep, TEN_BERLIN)
    assert err.value.code == "slot_taken"


def test_slot_offer_record_stores_utc_starts():
    rep = SalesRepFactory()
    conversation = ConversationFactory()
    slots = rep_free_slots(rep=rep, start=NOW, end=NOW + timedelta(days=1), now=NOW)[:2]
    offer = services.slot_offer_record(conversation=conversation, slots=slots, preference_text="Monday morning")
    offer.refresh_from_db()
    assert offer.slots == [
        {"rep": rep.pk, "start": "2026-12-07T08:00:00+00:00"},
        {"rep": rep.pk, "start": "2026-12-07T08:30:00+00:00"},
    ]
    assert offer.preference_text == "Monday morning"
