"""What a visitor may book, on the real database: `slots_offer` and `meeting_book_offered`.

These are the rules every visitor-facing caller shares (the bot, a page, an email link):
only qualified leads are offered times, only offered times can be booked, one live booking
per chat, and every refusal comes with fresh times to pick from.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from config import zones
from qualification.models import Lead
from scheduling import services
from scheduling.models import Meeting, SlotOffer
from tests.factories import ConversationFactory
from tests.scheduling.factories import LeadFactory, MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
# Monday 7 December 2026, 06:00 UTC (07:00 in Berlin, 01:00 in New York).
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_calendar_work(monkeypatch):
    from scheduling import tasks

    monkeypatch.setattr(tasks.meeting_changed, "delay", lambda *args: None)


def visit(*, zone="Europe/Berlin", outcome=Lead.Outcome.QUALIFIED, email="ada@prospect.example", rep=True):
    conversation = ConversationFactory(timezone=zone)
    lead = LeadFactory(conversation=conversation, outcome=outcome, email=email)
    made = SalesRepFactory(name="Rita Rep") if rep else None
    return conversation, lead, made


def value(slot) -> str:
    """A slot as its button's payload value."""
    return f"{slot.rep_id}|{slot.start.astimezone(UTC).isoformat()}"


def offer(conversation, **kwargs) -> services.Offer:
    return services.slots_offer(conversation=conversation, now=NOW, **kwargs)


def book(conversation, choice, **kwargs) -> services.BookingOutcome:
    return services.meeting_book_offered(conversation=conversation, choice=choice, now=NOW, **kwargs)


# ---- offers -----------------------------------------------------------------------------------------------


def test_a_qualified_lead_is_offered_times_on_several_days_in_their_waking_day():
    conversation, _, rep = visit(zone="America/New_York")
    offered = offer(conversation)
    assert (offered.code, offered.zone, offered.zone_is_fallback) == ("offered", "America/New_York", False)
    assert len(offered.slots) == services.OFFER_LIMIT
    days = {zones.local_time(s.start, "America/New_York").date() for s in offered.slots}
    assert len(days) == services.OFFER_LIMIT  # the earliest of each day first
    # The rep works 09:00-17:00 in Berlin: only 08:00-11:00 of it is inside New York's day.
    assert all(8 <= zones.local_time(s.start, "America/New_York").hour < 20 for s in offered.slots)
    [recorded] = SlotOffer.objects.filter(conversation=conversation)
    assert recorded.slots == [{"rep": rep.pk, "start": s.start.astimezone(UTC).isoformat()} for s in offered.slots]


def test_an_unknown_zone_is_utc_and_flagged():
    conversation, _, _ = visit(zone="")
    offered = offer(conversation)
    assert (offered.code, offered.zone, offered.zone_is_fallback) == ("offered", "UTC", True)
    assert offer(conversation, zone="Asia/Kolkata").zone == "Asia/Kolkata"


@pytest.mark.parametrize("outcome", [Lead.Outcome.NURTURE, Lead.Outcome.DISQUALIFIED, Lead.Outcome.INCOMPLETE])
def test_only_qualified_leads_are_offered_times(outcome):
    conversation, _, _ = visit(outcome=outcome)
    assert offer(conversation).code == "not_qualified"
    assert offer(conversation, preference_text="Friday").code == "not_qualified"
    assert not SlotOffer.objects.exists()


def test_no_lead_or_no_conversation_is_not_qualified():
    SalesRepFactory()
    assert offer(ConversationFactory()).code == "not_qualified"
    assert offer(None).code == "not_qualified"
    assert book(None, "1|2026-12-07T09:00:00+00:00").code == "not_qualified"


def test_nobody_free():
    conversation, _, _ = visit(rep=False)
    offered = offer(conversation)
    assert (offered.code, offered.slots) == ("nobody_free", [])
    assert not SlotOffer.objects.exists()


def test_a_preference_gets_matching_times_else_the_nearest():
    conversation, _, _ = visit(zone="Europe/Berlin")
    matching = offer(conversation, preference_text="Wednesday afternoon")
    assert (
        matching.code == "offered_matching" and matching.preference.description == "on Wednesday 9 Dec in the afternoon"
    )
    assert matching.slots and all(matching.preference.matches(s.start) for s in matching.slots)
    # The rep works Monday to Friday.
    nearest = offer(conversation, preference_text="Saturday morning")
    assert nearest.code == "offered_nearest" and 3 <= len(nearest.slots) <= services.OFFER_LIMIT
    assert all(zones.local_time(s.start, "Europe/Berlin").weekday() < 5 for s in nearest.slots)
    not_understood = offer(conversation, preference_text="whenever suits the moon")
    assert not_understood.code == "not_understood" and not_understood.slots and not_understood.preference is None
    texts = list(SlotOffer.objects.order_by("id").values_list("preference_text", flat=True))
    assert texts == ["Wednesday afternoon", "Saturday morning", "whenever suits the moon"]


def test_other_times_continue_after_the_last_offer_until_there_are_none():
    conversation, _, rep = visit()
    first = offer(conversation)
    later = offer(conversation, after=max(s.start for s in first.slots))
    assert later.code == "offered_later" and min(s.start for s in later.slots) > max(s.start for s in first.slots)
    beyond = offer(conversation, after=NOW + timedelta(days=rep.horizon_days + 1))
    assert beyond.code == "no_later" and beyond.slots[0].start == first.slots[0].start


# ---- bookings ---------------------------------------------------------------------------------------------


def test_an_offered_time_is_booked_for_the_lead():
    conversation, lead, rep = visit(zone="America/New_York")
    picked = offer(conversation).slots[1]
    booked = book(conversation, value(picked))
    assert booked.code == "booked" and booked.zone == "America/New_York"
    meeting = Meeting.objects.get(conversation=conversation)
    assert booked.meeting == meeting and booked.email == lead.email
    assert (meeting.rep, meeting.start, meeting.lead, meeting.visitor_timezone) == (
        rep,
        picked.start,
        lead,
        "America/New_York",
    )


def test_a_typed_pick_books_that_button_of_the_latest_offer():
    conversation, _, _ = visit()
    offered = offer(conversation)
    assert book(conversation, None, choice_text="I'll take the third one").meeting.start == offered.slots[2].start


def test_nothing_picked_gets_the_times_again():
    conversation, _, _ = visit()
    offer(conversation)
    refused = book(conversation, None, choice_text="hmm")
    assert refused.code == "no_choice" and refused.offer.code == "offered" and refused.offer.slots
    assert not Meeting.objects.exists()


def test_a_time_that_was_not_offered_to_this_chat_is_refused():
    conversation, _, rep = visit()
    offered = offer(conversation)
    # A real free time of the rep, never shown in this chat (a forged or copied payload).
    unshown = next(
        s
        for s in services.selectors.slots_for_lead(lead=None, conversation=conversation, limit=60, now=NOW)
        if s.start not in {o.start for o in offered.slots}
    )
    refused = book(conversation, value(unshown))
    assert refused.code == "not_offered" and refused.offer.code == "offered"
    # Offered to another chat is not offered to this one (a qualified visitor who was shown no times).
    other, _, _ = visit(rep=False)
    assert book(other, value(offered.slots[0])).code == "not_offered"
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("forged", ["tomorrow", "7", "x|2026-12-07T09:00:00+00:00", "1|2026-12-07T09:00:00"])
def test_an_unreadable_payload_is_refused_with_fresh_times(forged):
    conversation, _, _ = visit()
    offer(conversation)
    refused = book(conversation, forged)
    assert refused.code == "unreadable" and refused.offer.slots
    assert not Meeting.objects.exists()


def test_before_qualifying_nothing_can_be_booked_even_a_free_time():
    conversation, _, rep = visit(outcome=Lead.Outcome.NURTURE)
    free = services.selectors.slots_for_lead(lead=None, conversation=conversation, now=NOW)[0]
    assert book(conversation, value(free)).code == "not_qualified"
    assert not Meeting.objects.exists()


def test_once_offered_the_chat_may_book_even_if_the_lead_was_rescored():
    conversation, lead, _ = visit()
    picked = offer(conversation).slots[0]
    Lead.objects.filter(pk=lead.pk).update(outcome=Lead.Outcome.NURTURE)
    assert book(conversation, value(picked)).code == "booked"


def test_one_booking_per_chat():
    conversation, _, _ = visit()
    offered = offer(conversation)
    first = book(conversation, value(offered.slots[0]))
    again = book(conversation, value(offered.slots[0]))
    other = book(conversation, value(offered.slots[1]))
    assert (first.code, again.code, other.code) == ("booked", "already_booked", "already_booked")
    assert again.meeting == first.meeting == other.meeting
    assert Meeting.objects.count() == 1
    # Asking for times again points at the booking instead.
    assert offer(conversation).code == "already_booked" and offer(conversation).meeting == first.meeting


def test_a_time_someone_else_took_is_refused_with_the_next_times():
    conversation, _, rep = visit()
    offered = offer(conversation)
    taken = offered.slots[0]
    MeetingFactory(rep=rep, start=taken.start)
    refused = book(conversation, value(taken))
    assert refused.code == "slot_taken"
    assert refused.offer.code == "offered" and taken.start not in {s.start for s in refused.offer.slots}
    assert not Meeting.objects.filter(conversation=conversation).exists()


def test_a_time_that_stopped_being_bookable_with_nobody_left_offers_the_email_follow_up():
    conversation, _, rep = visit()
    picked = offer(conversation).slots[0]
    rep.working_hours.all().delete()
    refused = book(conversation, value(picked))
    assert (refused.code, refused.offer.code) == ("slot_unavailable", "nobody_free")


def test_without_an_email_the_pick_is_kept_and_the_email_asked_for():
    conversation, _, _ = visit(email="")
    picked = value(offer(conversation).slots[0])
    asked = book(conversation, picked)
    assert (asked.code, asked.choice) == ("email_needed", picked)
    assert book(conversation, picked, email="not an email").code == "invalid_email"
    assert not Meeting.objects.exists()
    assert book(conversation, picked, email="grace@navy.example").meeting.visitor_email == "grace@navy.example"


# ---- the invitation's address and the follow-up ------------------------------------------------------------


def test_the_email_answer_is_stored_on_the_lead_declined_or_refused():
    conversation, lead, _ = visit(email="")
    assert services.booking_email_record(conversation=conversation, text="ada at example").code == "invalid_email"
    assert services.booking_email_record(conversation=conversation, text="no thanks").code == "declined"
    answer = services.booking_email_record(conversation=conversation, text="sure, it's Ada@Prospect.example")
    assert (answer.code, answer.email) == ("recorded", "Ada@prospect.example")  # as the questions store it
    assert Lead.objects.get(pk=lead.pk).email == "Ada@prospect.example"


def test_follow_up_needs_an_email_and_records_consent():
    conversation, lead, _ = visit(email="", rep=False)
    assert services.followup_request(conversation=conversation).code == "email_needed"
    done = services.followup_request(conversation=conversation, email="grace@navy.example")
    assert (done.code, done.email) == ("followup_recorded", "grace@navy.example")
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.consent_email_followup and stored.email == "grace@navy.example"
