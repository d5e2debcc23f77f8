"""Scheduling's bot actions on built trackers, on the real test database."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone as django_timezone
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from qualification.models import Lead
from scheduling import slot_text as words
from scheduling.actions import (
    ActionBookSlot,
    ActionEmailFollowup,
    ActionManageBooking,
    ActionOfferSlots,
    ValidateBookingEmailForm,
)
from scheduling.models import Meeting, SlotOffer
from scheduling.tokens import meeting_from_token
from tests.factories import ConversationFactory
from tests.scheduling.factories import LeadFactory, MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db(transaction=True)
UTC = timezone.utc


def tracker(conversation, *, text="", intent="", entities=None, **slots) -> Tracker:
    return Tracker(
        sender_id=str(conversation.public_id),
        slots={"timezone": conversation.timezone or None, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def choice_entity(payload: str) -> list[dict]:
    value = json.loads(payload[len("/choose_slot") :])["slot_choice"]
    return [{"entity": "slot_choice", "value": value}]


async def run(action, track: Tracker) -> tuple[list[dict], list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, track, {})
    return dispatcher.messages, events


def slot_buttons(message: dict) -> list[dict]:
    return [b for b in message["buttons"] if b["payload"].startswith("/choose_slot")]


def start_of(button: dict) -> datetime:
    return words.slot_choice_parse(choice_entity(button["payload"])[0]["value"]).start


@database_sync_to_async
def qualified_visit(*, zone="America/New_York", email="ada@prospect.example", reps=1):
    conversation = ConversationFactory(timezone=zone)
    lead = LeadFactory(conversation=conversation, email=email, outcome=Lead.Outcome.QUALIFIED)
    made = [SalesRepFactory(name=f"Rita Rep {i}") for i in range(reps)]
    return conversation, lead, made


async def offer(conversation, **kwargs):
    return await run(ActionOfferSlots(), tracker(conversation, **kwargs))


async def test_offer_shows_3_to_5_times_in_the_visitors_zone_and_records_them():
    conversation, _, (rep,) = await qualified_visit(zone="America/New_York")
    messages, events = await offer(conversation)

    [message] = messages
    buttons = slot_buttons(message)
    assert 3 <= len(buttons) <= 5
    assert message["buttons"][-1] == {"title": "Other times", "payload": "/other_times"}
    assert "New York time" in message["text"]
    for button in buttons:
        start = start_of(button)
        assert button["title"] == words.slot_text(start, "America/New_York")
        assert button["title"].endswith("New York time")
    offers = [o async for o in SlotOffer.objects.filter(conversation=conversation)]
    assert len(offers) == 1
    assert [(s["rep"], datetime.fromisoformat(s["start"])) for s in offers[0].slots] == [
        (rep.pk, start_of(b)) for b in buttons
    ]
    assert SlotSet("offered_until", max(start_of(b) for b in buttons).isoformat()) in events


async def test_unknown_zone_falls_back_to_utc_and_says_so():
    conversation, _, _ = await qualified_visit(zone="")
    [message], _ = await offer(conversation)
    assert "I don't know your time zone" in message["text"]
    assert all(b["title"].endswith(" UTC") for b in slot_buttons(message))


async def test_the_zone_slot_wins_over_the_stored_zone():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    [message], _ = await run(ActionOfferSlots(), _with_zone(conversation, "Asia/Kolkata"))
    assert all(b["title"].endswith("Kolkata time") for b in slot_buttons(message))


def _with_zone(conversation, zone: str) -> Tracker:
    track = tracker(conversation)
    track.slots["timezone"] = zone
    return track


async def test_no_offer_before_the_lead_is_qualified():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    await database_sync_to_async(SalesRepFactory)()
    [message], _ = await offer(conversation, text="Friday", intent="time_preference")
    assert message["buttons"] == []
    assert not await SlotOffer.objects.filter(conversation=conversation).aexists()


async def test_booking_creates_the_meeting_and_confirms_in_the_visitors_zone():
    conversation, lead, (rep,) = await qualified_visit(zone="America/New_York")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]

    messages, events = await run(
        ActionBookSlot(),
        tracker(conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])),
    )

    meeting = await Meeting.objects.select_related("rep").aget(conversation=conversation)
    assert meeting.rep_id == rep.pk and meeting.start == start_of(button)
    assert meeting.visitor_email == lead.email and meeting.visitor_timezone == "America/New_York"
    [confirmation] = messages
    assert confirmation["text"].startswith(f"You're booked: {button['title']} with {rep.name}")
    assert "New York time" in confirmation["text"]
    assert lead.email in confirmation["text"] and "reschedule or cancel" in confirmation["text"]
    assert SlotSet("booked_meeting", str(meeting.public_id)) in events


async def test_a_second_click_reconfirms_the_same_single_meeting():
    conversation, _, _ = await qualified_visit()
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[1]
    click = tracker(
        conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])
    )

    await run(ActionBookSlot(), click)
    [again], _ = await run(ActionBookSlot(), click)

    assert await Meeting.objects.filter(conversation=conversation).acount() == 1
    assert again["text"].startswith(f"You're already booked: {button['title']}")
    # Clicking another button of the same offer does not book a second meeting either.
    other = slot_buttons(offered)[2]
    [third], _ = await run(
        ActionBookSlot(),
        tracker(conversation, text=other["payload"], intent="choose_slot", entities=choice_entity(other["payload"])),
    )
    assert await Meeting.objects.filter(conversation=conversation).acount() == 1
    assert third["text"].startswith(f"You're already booked: {button['title']}")


async def test_slot_taken_says_so_and_offers_the_next_ones():
    conversation, _, (rep,) = await qualified_visit(zone="Europe/Berlin")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    # Someone else books that time between the offer and the click.
    await database_sync_to_async(MeetingFactory)(rep=rep, start=start_of(button))

    messages, _ = await run(
        ActionBookSlot(),
        tracker(conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])),
    )

    assert not await Meeting.objects.filter(conversation=conversation).aexists()
    text = "\n".join(m["text"] for m in messages)
    assert "someone just booked that time" in text and "Here are the next free times (in Berlin time):" in text
    new_buttons = [b for m in messages for b in slot_buttons(m)]
    assert 3 <= len(new_buttons) <= 5 and button["payload"] not in {b["payload"] for b in new_buttons}
    assert await SlotOffer.objects.filter(conversation=conversation).acount() == 2


async def test_a_forged_time_is_refused():
    conversation, _, (rep,) = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    # Saturday 02:00 UTC: never offered, outside the rep's hours, whatever the payload says.
    today = django_timezone.now().astimezone(UTC).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7)
    forged = f"{rep.pk}|{datetime(saturday.year, saturday.month, saturday.day, 2, 0, tzinfo=UTC).isoformat()}"
    messages, _ = await run(
        ActionBookSlot(),
        tracker(
            conversation,
            text="/choose_slot",
            intent="choose_slot",
            entities=[{"entity": "slot_choice", "value": forged}],
        ),
    )
    assert not await Meeting.objects.filter(conversation=conversation).aexists()
    assert "isn't one of the times I offered" in messages[0]["text"]
    assert slot_buttons(messages[-1])


async def test_an_offered_time_that_became_unbookable_is_refused_by_the_service():
    conversation, _, (rep,) = await qualified_visit(zone="Europe/Berlin")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    # The rep's hours change between the offer and the click: meeting_book re-checks.
    await database_sync_to_async(rep.working_hours.all().delete)()
    messages, _ = await run(
        ActionBookSlot(),
        tracker(conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])),
    )
    assert not await Meeting.objects.filter(conversation=conversation).aexists()
    assert messages[0]["text"] == "That time can't be booked any more."
    assert "nobody on the team has a free slot" in messages[1]["text"]  # the rep has no hours left


async def test_preference_is_answered_with_matching_times():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    [message], _ = await offer(conversation, text="next Tuesday afternoon", intent="time_preference")

    preference = words.parse_preference("next Tuesday afternoon", now=django_timezone.now(), zone="Europe/Berlin")
    buttons = slot_buttons(message)
    assert buttons and message["text"].startswith(f"Here's what's free {preference.description}")
    assert all(preference.matches(start_of(b)) for b in buttons)
    assert all(b["title"].startswith(words.day_text(preference.start.date())) for b in buttons)
    latest = await SlotOffer.objects.filter(conversation=conversation).order_by("-id").afirst()
    assert latest.preference_text == "next Tuesday afternoon"


async def test_preference_without_a_free_time_gets_the_nearest_ones_and_a_clear_word():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    # The rep works Monday to Friday.
    [message], _ = await offer(conversation, text="Saturday morning", intent="time_preference")
    assert message["text"].startswith("Nobody on the team is free on Saturday")
    assert "nearest times (in Berlin time)" in message["text"]
    buttons = slot_buttons(message)
    assert 3 <= len(buttons) <= 5
    assert all(start_of(b).astimezone(words.zoneinfo.ZoneInfo("Europe/Berlin")).weekday() < 5 for b in buttons)


async def test_unreadable_preference_still_offers_times():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    [message], _ = await offer(conversation, text="whenever suits the moon", intent="time_preference")
    assert "couldn't tell which day or time" in message["text"] and slot_buttons(message)
    latest = await SlotOffer.objects.filter(conversation=conversation).order_by("-id").afirst()
    assert latest.preference_text == "whenever suits the moon"


async def test_other_times_continue_after_the_last_offer():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    [first], events = await offer(conversation)
    until = next(e["value"] for e in events if e["name"] == "offered_until")
    [later], _ = await offer(conversation, text="/other_times", intent="other_times", offered_until=until)
    assert slot_buttons(later) and "later times (in Berlin time)" in later["text"]
    assert all(start_of(b) > datetime.fromisoformat(until) for b in slot_buttons(later))


async def test_nobody_free_offers_email_follow_up():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    lead = await database_sync_to_async(LeadFactory)(conversation=conversation, outcome=Lead.Outcome.QUALIFIED)
    [message], _ = await offer(conversation)  # no reps at all
    assert "nobody on the team has a free slot" in message["text"]
    assert message["buttons"] == [{"title": "Yes, email me", "payload": "/request_followup"}]
    assert not await SlotOffer.objects.filter(conversation=conversation).aexists()

    [confirmation], _ = await run(ActionEmailFollowup(), tracker(conversation, intent="request_followup"))
    assert f"The team will email you at {lead.email}" in confirmation["text"]
    assert (await Lead.objects.aget(pk=lead.pk)).consent_email_followup


async def test_nobody_free_without_email_asks_for_it_then_confirms():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    lead = await database_sync_to_async(LeadFactory)(
        conversation=conversation, email="", outcome=Lead.Outcome.QUALIFIED
    )
    messages, events = await run(ActionEmailFollowup(), tracker(conversation, intent="request_followup"))
    assert messages == []
    assert FollowupAction("booking_email_form") in events and SlotSet("email_followup", True) in events
    await ValidateBookingEmailForm().validate_booking_email(
        "grace@navy.example", CollectingDispatcher(), tracker(conversation), {}
    )
    [confirmation], _ = await run(
        ActionBookSlot(),
        tracker(conversation, text="grace@navy.example", booking_email="grace@navy.example", email_followup=True),
    )
    assert "The team will email you at grace@navy.example" in confirmation["text"]
    stored = await Lead.objects.aget(pk=lead.pk)
    assert stored.email == "grace@navy.example" and stored.consent_email_followup
    assert not await Meeting.objects.filter(conversation=conversation).aexists()


async def test_missing_email_is_asked_for_then_the_booking_is_made():
    conversation, lead, (rep,) = await qualified_visit(zone="Europe/Berlin", email="")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    choice = choice_entity(button["payload"])[0]["value"]

    messages, events = await run(
        ActionBookSlot(),
        tracker(conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])),
    )
    assert messages == []
    assert SlotSet("slot_choice", choice) in events and FollowupAction("booking_email_form") in events
    assert not await Meeting.objects.filter(conversation=conversation).aexists()

    # The form asks; a bad answer is refused with a hint, a good one is stored on the Lead.
    validate = ValidateBookingEmailForm()
    dispatcher = CollectingDispatcher()
    bad = await validate.validate_booking_email("my email is ada at example", dispatcher, tracker(conversation), {})
    assert bad == {"booking_email": None} and "doesn't look like an email" in dispatcher.messages[0]["text"]
    good = await validate.validate_booking_email(
        "sure, it's Ada@Prospect.example", CollectingDispatcher(), tracker(conversation), {}
    )
    assert good == {"booking_email": "ada@prospect.example"}
    assert (await Lead.objects.aget(pk=lead.pk)).email == "ada@prospect.example"

    # The form is done: the rule runs action_book_slot again, which books the remembered choice.
    [confirmation], _ = await run(
        ActionBookSlot(),
        tracker(
            conversation,
            text="sure, it's Ada@Prospect.example",
            intent="nlu_fallback",
            slot_choice=choice,
            booking_email="ada@prospect.example",
        ),
    )
    meeting = await Meeting.objects.aget(conversation=conversation)
    assert meeting.start == start_of(button) and meeting.visitor_email == "ada@prospect.example"
    assert confirmation["text"].startswith(f"You're booked: {button['title']}")


async def test_declining_the_email_ends_the_form_without_booking():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin", email="")
    validate = ValidateBookingEmailForm()
    declined = await validate.validate_booking_email("no thanks", CollectingDispatcher(), tracker(conversation), {})
    assert declined == {"booking_email": "declined"}
    [message], _ = await run(
        ActionBookSlot(), tracker(conversation, intent="deny", booking_email="declined", slot_choice="1|x")
    )
    assert "haven't booked anything" in message["text"]
    assert not await Meeting.objects.filter(conversation=conversation).aexists()


async def test_typed_ordinal_books_from_the_latest_offer():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    [offered], _ = await offer(conversation)
    second = slot_buttons(offered)[1]
    [confirmation], _ = await run(
        ActionBookSlot(), tracker(conversation, text="the second one please", intent="choose_slot")
    )
    meeting = await Meeting.objects.aget(conversation=conversation)
    assert meeting.start == start_of(second)
    assert second["title"] in confirmation["text"]


async def test_change_or_cancel_points_to_the_links():
    conversation, lead, _ = await qualified_visit(zone="America/New_York")
    [nothing], _ = await run(ActionManageBooking(), tracker(conversation, intent="change_booking"))
    assert "don't have a meeting booked" in nothing["text"]
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    await run(ActionBookSlot(), tracker(conversation, intent="choose_slot", entities=choice_entity(button["payload"])))
    [pointer], _ = await run(ActionManageBooking(), tracker(conversation, intent="change_booking"))
    assert button["title"] in pointer["text"] and lead.email in pointer["text"]
    assert "reschedule or cancel" in pointer["text"]
    token = re.search(r"/meetings/([^/\s]+)/", pointer["text"]).group(1)
    meeting = await Meeting.objects.aget(conversation=conversation)
    assert (await database_sync_to_async(meeting_from_token)(token)).pk == meeting.pk
    # Typing a day after booking does not start a second booking: the same pointer.
    [typed], _ = await offer(conversation, text="Friday", intent="time_preference")
    # The same pointer; its signed link may carry a later timestamp, so compare around it.
    link = re.compile(r"/meetings/[^/\s]+/")
    assert link.sub("/meetings/<token>/", typed["text"]) == link.sub("/meetings/<token>/", pointer["text"])
    assert typed["buttons"] == []
    typed_token = link.search(typed["text"]).group(0).split("/")[2]
    assert (await database_sync_to_async(meeting_from_token)(typed_token)).pk == meeting.pk
