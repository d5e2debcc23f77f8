"""Scheduling's bot actions on built trackers, on the real test database.

They assert on the domain responses an action chooses and the variables it fills; every
message an action sends is also checked to be fillable from the real domain (`run`).
"""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone as django_timezone
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from config import zones
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
from tests.scheduling.bot_domain import bot_domain, visible_text
from tests.scheduling.factories import LeadFactory, MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db(transaction=True)
UTC = timezone.utc
DOMAIN = bot_domain()
OTHER_TIMES = {"title": DOMAIN["responses"]["utter_button_other_times"][0]["text"], "payload": "/other_times"}


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
    events = await action.run(dispatcher, track, DOMAIN)
    for message in dispatcher.messages:
        assert message["text"] is None, "visitor text belongs in the domain"
        visible_text(message, DOMAIN)  # every response exists and can be filled
    return dispatcher.messages, events


def responses(messages: list[dict]) -> list[str]:
    return [m["response"] for m in messages]


def slot_buttons(message: dict) -> list[dict]:
    return [b for b in message["buttons"] if b["payload"].startswith("/choose_slot")]


def start_of(button: dict) -> datetime:
    return words.slot_choice_parse(choice_entity(button["payload"])[0]["value"]).start


def click(conversation, button: dict) -> Tracker:
    return tracker(
        conversation, text=button["payload"], intent="choose_slot", entities=choice_entity(button["payload"])
    )


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
    assert message["response"] == "utter_offer_slots" and message["zone_label"] == "New York time"
    assert "(times are in New York time)" in visible_text(message)
    buttons = slot_buttons(message)
    assert 3 <= len(buttons) <= 5
    # The slot buttons first, "Other times" (its title from the domain) last.
    assert message["buttons"] == buttons + [OTHER_TIMES]
    for button in buttons:
        start = start_of(button)
        assert button["title"] == zones.slot_text(start, "America/New_York")
        assert button["title"].endswith("New York time")
    offers = [o async for o in SlotOffer.objects.filter(conversation=conversation)]
    assert len(offers) == 1
    assert [(s["rep"], datetime.fromisoformat(s["start"])) for s in offers[0].slots] == [
        (rep.pk, start_of(b)) for b in buttons
    ]
    assert SlotSet("offered_until", max(start_of(b) for b in buttons).isoformat()) in events


async def test_unknown_zone_falls_back_to_utc_and_says_so():
    conversation, _, _ = await qualified_visit(zone="")
    messages, _ = await offer(conversation)
    assert responses(messages) == ["utter_times_in_utc", "utter_offer_slots"]
    assert "zone_label" not in messages[1]  # the variations without a zone are used
    assert "in UTC" in visible_text(messages[0])
    assert all(b["title"].endswith(" UTC") for b in slot_buttons(messages[1]))


async def test_the_zone_slot_wins_over_the_stored_zone():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    [message], _ = await run(ActionOfferSlots(), _with_zone(conversation, "Asia/Kolkata"))
    assert message["zone_label"] == "Kolkata time"
    assert all(b["title"].endswith("Kolkata time") for b in slot_buttons(message))


def _with_zone(conversation, zone: str) -> Tracker:
    track = tracker(conversation)
    track.slots["timezone"] = zone
    return track


async def test_no_offer_before_the_lead_is_qualified_the_questions_start_instead():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    await database_sync_to_async(SalesRepFactory)()
    messages, events = await offer(conversation, text="Friday", intent="time_preference")
    assert responses(messages) == ["utter_booking_needs_qualification"]
    assert messages[0]["buttons"] == []
    assert events == [FollowupAction("qualification_form")]
    assert not await SlotOffer.objects.filter(conversation=conversation).aexists()


async def test_a_slot_pressed_before_qualifying_starts_the_questions_and_books_nothing():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    rep = await database_sync_to_async(SalesRepFactory)()
    value = f"{rep.pk}|2026-12-01T13:00:00+00:00"
    messages, events = await run(
        ActionBookSlot(),
        tracker(conversation, intent="choose_slot", entities=[{"entity": "slot_choice", "value": value}]),
    )
    assert responses(messages) == ["utter_booking_needs_qualification"]
    assert events == [FollowupAction("qualification_form")]
    assert not await Meeting.objects.filter(conversation=conversation).aexists()


async def test_booking_creates_the_meeting_and_confirms_in_the_visitors_zone():
    conversation, lead, (rep,) = await qualified_visit(zone="America/New_York")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]

    messages, events = await run(ActionBookSlot(), click(conversation, button))

    meeting = await Meeting.objects.select_related("rep").aget(conversation=conversation)
    assert meeting.rep_id == rep.pk and meeting.start == start_of(button)
    assert meeting.visitor_email == lead.email and meeting.visitor_timezone == "America/New_York"
    [confirmation] = messages
    assert confirmation["response"] == "utter_booked"
    assert (confirmation["when"], confirmation["rep_name"], confirmation["minutes"], confirmation["email"]) == (
        button["title"],
        rep.name,
        30,
        lead.email,
    )
    text = visible_text(confirmation)
    assert text.startswith(f"You're booked: {button['title']} with {rep.name} (30 minutes)")
    assert "New York time" in text and "reschedule or cancel" in text
    assert SlotSet("booked_meeting", str(meeting.public_id)) in events


async def test_a_second_click_reconfirms_the_same_single_meeting():
    conversation, _, _ = await qualified_visit()
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[1]

    await run(ActionBookSlot(), click(conversation, button))
    [again], _ = await run(ActionBookSlot(), click(conversation, button))

    assert await Meeting.objects.filter(conversation=conversation).acount() == 1
    assert again["response"] == "utter_already_booked" and again["when"] == button["title"]
    # Clicking another button of the same offer does not book a second meeting either.
    [third], _ = await run(ActionBookSlot(), click(conversation, slot_buttons(offered)[2]))
    assert await Meeting.objects.filter(conversation=conversation).acount() == 1
    assert third["response"] == "utter_already_booked" and third["when"] == button["title"]


async def test_slot_taken_says_so_and_offers_the_next_ones():
    conversation, _, (rep,) = await qualified_visit(zone="Europe/Berlin")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    # Someone else books that time between the offer and the click.
    await database_sync_to_async(MeetingFactory)(rep=rep, start=start_of(button))

    messages, _ = await run(ActionBookSlot(), click(conversation, button))

    assert not await Meeting.objects.filter(conversation=conversation).aexists()
    assert responses(messages) == ["utter_booking_error_slot_taken", "utter_offer_next_times"]
    assert visible_text(messages[1]) == "Here are the next free times (in Berlin time):"
    new_buttons = slot_buttons(messages[1])
    assert 3 <= len(new_buttons) <= 5 and button["payload"] not in {b["payload"] for b in new_buttons}
    assert messages[1]["buttons"][-1] == OTHER_TIMES
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
    assert responses(messages) == ["utter_booking_error_not_offered", "utter_offer_free_times"]
    assert slot_buttons(messages[-1])


async def test_an_unreadable_pick_is_said_and_times_are_offered_again():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    messages, _ = await run(
        ActionBookSlot(),
        tracker(conversation, intent="choose_slot", entities=[{"entity": "slot_choice", "value": "tomorrow please"}]),
    )
    assert responses(messages) == ["utter_booking_error_unreadable", "utter_offer_free_times"]
    assert slot_buttons(messages[-1])


async def test_an_offered_time_that_became_unbookable_is_refused_by_the_service():
    conversation, _, (rep,) = await qualified_visit(zone="Europe/Berlin")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    # The rep's hours change between the offer and the click: meeting_book re-checks.
    await database_sync_to_async(rep.working_hours.all().delete)()
    messages, _ = await run(ActionBookSlot(), click(conversation, button))
    assert not await Meeting.objects.filter(conversation=conversation).aexists()
    # The rep has no hours left: nobody is free, and an email follow-up is offered.
    assert responses(messages) == ["utter_booking_error_slot_unavailable", "utter_nobody_free"]


async def test_preference_is_answered_with_matching_times():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    [message], _ = await offer(conversation, text="next Tuesday afternoon", intent="time_preference")

    preference = words.parse_preference("next Tuesday afternoon", now=django_timezone.now(), zone="Europe/Berlin")
    buttons = slot_buttons(message)
    assert message["response"] == "utter_offer_matching" and message["preference"] == preference.description
    assert visible_text(message).startswith(f"Here's what's free {preference.description} (times in Berlin time)")
    assert buttons and all(preference.matches(start_of(b)) for b in buttons)
    assert all(b["title"].startswith(zones.day_text(preference.start.date())) for b in buttons)
    latest = await SlotOffer.objects.filter(conversation=conversation).order_by("-id").afirst()
    assert latest.preference_text == "next Tuesday afternoon"


async def test_preference_without_a_free_time_gets_the_nearest_ones_and_a_clear_word():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    # The rep works Monday to Friday.
    [message], _ = await offer(conversation, text="Saturday morning", intent="time_preference")
    assert message["response"] == "utter_offer_nearest" and message["preference"].startswith("on Saturday")
    assert visible_text(message).startswith("Nobody on the team is free on Saturday")
    assert "nearest times (in Berlin time)" in visible_text(message)
    buttons = slot_buttons(message)
    assert 3 <= len(buttons) <= 5
    assert all(zones.local_time(start_of(b), "Europe/Berlin").weekday() < 5 for b in buttons)


async def test_unreadable_preference_still_offers_times():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    [message], _ = await offer(conversation, text="whenever suits the moon", intent="time_preference")
    assert message["response"] == "utter_offer_not_understood" and slot_buttons(message)
    latest = await SlotOffer.objects.filter(conversation=conversation).order_by("-id").afirst()
    assert latest.preference_text == "whenever suits the moon"


async def test_other_times_continue_after_the_last_offer():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    [first], events = await offer(conversation)
    until = next(e["value"] for e in events if e["name"] == "offered_until")
    [later], _ = await offer(conversation, text="/other_times", intent="other_times", offered_until=until)
    assert later["response"] == "utter_offer_later" and later["zone_label"] == "Berlin time"
    assert slot_buttons(later) and all(start_of(b) > datetime.fromisoformat(until) for b in slot_buttons(later))


async def test_nobody_free_offers_email_follow_up():
    conversation = await database_sync_to_async(ConversationFactory)(timezone="Europe/Berlin")
    lead = await database_sync_to_async(LeadFactory)(conversation=conversation, outcome=Lead.Outcome.QUALIFIED)
    [message], _ = await offer(conversation)  # no reps at all
    assert message["response"] == "utter_nobody_free"
    # The button comes with the response, from the domain.
    assert all(
        v["buttons"] == [{"title": "Yes, email me", "payload": "/request_followup"}]
        for v in DOMAIN["responses"]["utter_nobody_free"]
    )
    assert not await SlotOffer.objects.filter(conversation=conversation).aexists()

    [confirmation], _ = await run(ActionEmailFollowup(), tracker(conversation, intent="request_followup"))
    assert confirmation["response"] == "utter_followup_confirmed" and confirmation["email"] == lead.email
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
    assert confirmation["response"] == "utter_followup_confirmed" and confirmation["email"] == "grace@navy.example"
    stored = await Lead.objects.aget(pk=lead.pk)
    assert stored.email == "grace@navy.example" and stored.consent_email_followup
    assert not await Meeting.objects.filter(conversation=conversation).aexists()


async def test_missing_email_is_asked_for_then_the_booking_is_made():
    conversation, lead, (rep,) = await qualified_visit(zone="Europe/Berlin", email="")
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    choice = choice_entity(button["payload"])[0]["value"]

    messages, events = await run(ActionBookSlot(), click(conversation, button))
    assert messages == []
    assert SlotSet("slot_choice", choice) in events and FollowupAction("booking_email_form") in events
    assert not await Meeting.objects.filter(conversation=conversation).aexists()

    # The form asks; a bad answer is refused with a hint, a good one is stored on the Lead.
    validate = ValidateBookingEmailForm()
    dispatcher = CollectingDispatcher()
    bad = await validate.validate_booking_email("my email is ada at example", dispatcher, tracker(conversation), {})
    assert bad == {"booking_email": None}
    assert responses(dispatcher.messages) == ["utter_booking_email_invalid"]
    assert "doesn't look like an email" in visible_text(dispatcher.messages[0])
    good = await validate.validate_booking_email(
        "sure, it's Ada@Prospect.example", CollectingDispatcher(), tracker(conversation), {}
    )
    assert good == {"booking_email": "Ada@prospect.example"}  # as typed, the domain in lower case
    assert (await Lead.objects.aget(pk=lead.pk)).email == "Ada@prospect.example"

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
    assert confirmation["response"] == "utter_booked" and confirmation["when"] == button["title"]
    assert confirmation["email"] == "ada@prospect.example"


async def test_declining_the_email_ends_the_form_without_booking():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin", email="")
    validate = ValidateBookingEmailForm()
    declined = await validate.validate_booking_email("no thanks", CollectingDispatcher(), tracker(conversation), {})
    assert declined == {"booking_email": "declined"}
    [message], events = await run(
        ActionBookSlot(), tracker(conversation, intent="deny", booking_email="declined", slot_choice="1|x")
    )
    assert message["response"] == "utter_booking_email_declined"
    assert "haven't booked anything" in visible_text(message)
    assert SlotSet("booking_email", None) in events
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
    assert confirmation["response"] == "utter_booked" and confirmation["when"] == second["title"]


async def test_a_typed_pick_that_names_no_button_asks_which_time():
    conversation, _, _ = await qualified_visit(zone="Europe/Berlin")
    await offer(conversation)
    [message], _ = await run(ActionBookSlot(), tracker(conversation, text="that one", intent="choose_slot"))
    assert message["response"] == "utter_offer_pick" and slot_buttons(message)
    assert visible_text(message) == "Which of these times would you like (in Berlin time)?"
    assert not await Meeting.objects.filter(conversation=conversation).aexists()


async def test_change_or_cancel_points_to_the_links():
    conversation, lead, _ = await qualified_visit(zone="America/New_York")
    [nothing], _ = await run(ActionManageBooking(), tracker(conversation, intent="change_booking"))
    assert nothing["response"] == "utter_no_booking"
    [offered], _ = await offer(conversation)
    button = slot_buttons(offered)[0]
    await run(ActionBookSlot(), tracker(conversation, intent="choose_slot", entities=choice_entity(button["payload"])))
    [pointer], _ = await run(ActionManageBooking(), tracker(conversation, intent="change_booking"))
    assert pointer["response"] == "utter_manage_booking"
    assert pointer["when"] == button["title"] and pointer["email"] == lead.email
    assert "reschedule or cancel" in visible_text(pointer)
    token = re.search(r"/meetings/([^/\s]+)/", pointer["manage_url"]).group(1)
    meeting = await Meeting.objects.aget(conversation=conversation)
    assert (await database_sync_to_async(meeting_from_token)(token)).pk == meeting.pk
    # Typing a day after booking does not start a second booking: the same pointer.
    [typed], _ = await offer(conversation, text="Friday", intent="time_preference")
    assert typed["response"] == "utter_manage_booking" and typed["buttons"] == []
    assert {k: v for k, v in typed.items() if k != "manage_url"} == {
        k: v for k, v in pointer.items() if k != "manage_url"
    }
    typed_token = re.search(r"/meetings/([^/\s]+)/", typed["manage_url"]).group(1)
    assert (await database_sync_to_async(meeting_from_token)(typed_token)).pk == meeting.pk
