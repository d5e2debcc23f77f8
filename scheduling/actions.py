"""Scheduling's bot actions: offer times, book the one the visitor picks, ask where the invitation goes.

The qualification flow runs `action_offer_slots` once a lead is qualified. From there:

- slot buttons carry `/choose_slot{"slot_choice": "<rep_id>|<UTC ISO start>"}`; `action_book_slot`
  hands that hint to `services.meeting_book_offered`, which checks it was offered to this chat and
  books it (a second click, a reload or a retried message gets the existing booking);
- "Other times" and typed preferences ("next Tuesday afternoon") run `action_offer_slots` again,
  which reads the latest message;
- without a known email, `booking_email_form` asks for it before booking;
- nobody free: the visitor is offered an email follow-up instead of being left stuck;
- while a rep of the visitor's routed pool has the inbox open (``scheduling.live``, answered by the
  inbox app), "Talk now" comes first among the buttons: it asks for a person (inbox/actions.py).

The rules (who may book, what was offered, which times to show) live in `scheduling.services`;
each action reads the tracker, makes one service call in a worker thread, and maps the outcome
code to domain responses (`chatbot/bot/domain/scheduling.yml`) with their variables. No text a
visitor reads is written here: slot button titles are times written by `config.zones`, and
the "Other times" title is read from the domain the action receives.
"""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.live import PERSON_PAYLOAD
from chatbot.selectors import conversation_by_public_id
from config import zones
from config.db import db
from scheduling import live, selectors, services
from scheduling.models import Meeting
from scheduling.notifications import manage_url
from scheduling.slot_text import slot_payload

DECLINED = "declined"
QUALIFICATION_FORM = "qualification_form"
OTHER_TIMES_RESPONSE = "utter_button_other_times"
OTHER_TIMES_PAYLOAD = "/other_times"
# "Talk now" asks for a person: the same request as typing it (action_request_handoff).
TALK_NOW_RESPONSE = "utter_button_talk_now"
TALK_NOW_PAYLOAD = PERSON_PAYLOAD
# Times offered instead of a live chat end with an email follow-up (action_email_followup).
EMAIL_INSTEAD_RESPONSE = "utter_button_email_instead"
EMAIL_INSTEAD_PAYLOAD = "/request_followup"

# The sentence above an offer's buttons, by the offer's outcome code.
OFFER_INTROS = {
    "offered": "utter_offer_slots",
    "offered_matching": "utter_offer_matching",
    "offered_nearest": "utter_offer_nearest",
    "offered_later": "utter_offer_later",
    "no_later": "utter_offer_no_later",
    "not_understood": "utter_offer_not_understood",
}
CONFIRMATIONS = {"booked": "utter_booked", "already_booked": "utter_already_booked"}
# A pick that could not be booked: what the visitor is told, then the sentence above the fresh offer.
BOOKING_ERRORS = {
    "no_choice": (None, "utter_offer_pick"),
    "unreadable": ("utter_booking_error_unreadable", "utter_offer_free_times"),
    "not_offered": ("utter_booking_error_not_offered", "utter_offer_free_times"),
    "slot_taken": ("utter_booking_error_slot_taken", "utter_offer_next_times"),
    "slot_unavailable": ("utter_booking_error_slot_unavailable", "utter_offer_next_times"),
}


@dataclass
class Reply:
    """What one action says (domain responses with their variables, in order) and the events it returns."""

    messages: list[dict] = field(default_factory=list)
    events: list[EventType] = field(default_factory=list)

    def say(self, response: str, buttons: list[dict] | None = None, **variables: Any) -> None:
        self.messages.append({"response": response, "buttons": buttons or [], **variables})

    def send(self, dispatcher: CollectingDispatcher) -> list[EventType]:
        for message in self.messages:
            dispatcher.utter_message(**message)
        return self.events


def domain_button(domain: dict[str, Any], response: str, payload: str) -> dict:
    """A button the action adds; its title is copy, so it comes from the domain (the first wording)."""
    return {"title": domain["responses"][response][0]["text"], "payload": payload}


def other_times_button(domain: dict[str, Any]) -> dict:
    """The last button of every offer."""
    return domain_button(domain, OTHER_TIMES_RESPONSE, OTHER_TIMES_PAYLOAD)


def zone_variables(*, zone: str, zone_is_fallback: bool) -> dict[str, str]:
    """`zone_label` only when the visitor's zone is known: the responses' variations without it are used otherwise."""
    return {} if zone_is_fallback else {"zone_label": zones.zone_label(zone)}


def meeting_variables(meeting: Meeting, *, zone: str) -> dict[str, Any]:
    """The variables of the responses that describe a booked meeting; ``video_link`` (the video meeting
    the rep's calendar made, else the rep's own room) only when there is one, so a variation naming it
    is said only then."""
    variables = {
        "when": zones.slot_text(meeting.start, zone),
        "rep_name": meeting.rep.name,
        "minutes": int((meeting.end - meeting.start).total_seconds() // 60),
        "email": meeting.visitor_email,
    }
    return variables | ({"video_link": meeting.video_link} if meeting.video_link else {})


def say_needs_qualification(reply: Reply) -> None:
    """Not qualified yet: the qualification questions start (the form asks the first one)."""
    reply.say("utter_booking_needs_qualification")
    reply.events.append(FollowupAction(QUALIFICATION_FORM))


def say_manage(reply: Reply, meeting: Meeting | None, *, zone: str) -> None:
    if meeting is None:
        reply.say("utter_no_booking")
        return
    reply.say("utter_manage_booking", **meeting_variables(meeting, zone=zone), manage_url=manage_url(meeting))


def say_offer(
    reply: Reply,
    offer: services.Offer,
    domain: dict[str, Any],
    *,
    intro: str | None = None,
    talk_now: bool = False,
    email_instead: bool = False,
) -> None:
    """Word an offer: its times as buttons in the visitor's zone, then "Other times".

    ``talk_now`` (a rep of the visitor's pool is in the inbox now) puts "Talk now" first; ``email_instead``
    (times offered instead of a live chat) ends with an email follow-up.
    """
    if offer.code == "not_qualified":
        say_needs_qualification(reply)
        return
    if offer.code == "already_booked":
        say_manage(reply, offer.meeting, zone=offer.zone)
        return
    if offer.code == "nobody_free":
        reply.say("utter_nobody_free")  # its button (email me) is in the domain
        reply.events += [SlotSet("booking_requested", True), SlotSet("slot_choice", None)]
        return
    if offer.zone_is_fallback:
        reply.say("utter_times_in_utc")
    if offer.code == "offered" and intro is None and len(offer.slots) == 1:
        intro = "utter_offer_one_slot"
    variables = zone_variables(zone=offer.zone, zone_is_fallback=offer.zone_is_fallback)
    if offer.preference is not None:
        variables["preference"] = offer.preference.description
    buttons = [
        {"title": zones.slot_text(s.start, offer.zone), "payload": slot_payload(s.rep_id, s.start)} for s in offer.slots
    ]
    buttons.append(other_times_button(domain))
    if email_instead:
        buttons.append(domain_button(domain, EMAIL_INSTEAD_RESPONSE, EMAIL_INSTEAD_PAYLOAD))
    if talk_now:
        buttons.insert(0, domain_button(domain, TALK_NOW_RESPONSE, TALK_NOW_PAYLOAD))
        if offer.code == "offered":  # the first offer says why; later ones ("Other times") keep the button
            reply.say("utter_talk_now_offer")
    reply.say(intro or OFFER_INTROS[offer.code], buttons, **variables)
    reply.events += [
        SlotSet("booking_requested", True),
        SlotSet("offered_until", max(s.start for s in offer.slots).astimezone(timezone.utc).isoformat()),
    ]


def say_booking(reply: Reply, outcome: services.BookingOutcome, domain: dict[str, Any]) -> None:
    code = outcome.code
    if code == "not_qualified":
        say_needs_qualification(reply)
    elif code in {"booked", "already_booked"}:
        meeting = outcome.meeting
        reply.say(CONFIRMATIONS[code], **meeting_variables(meeting, zone=outcome.zone))
        reply.events.append(SlotSet("booked_meeting", str(meeting.public_id)))
        if code == "booked":
            reply.events.append(SlotSet("email_followup", None))
    elif code == "email_needed":
        reply.events += [SlotSet("slot_choice", outcome.choice), FollowupAction("booking_email_form")]
    elif code == "invalid_email":
        reply.say("utter_booking_error_invalid_email")
        reply.events += [
            SlotSet("slot_choice", outcome.choice),
            SlotSet("booking_email", None),
            FollowupAction("booking_email_form"),
        ]
    elif code == "try_again":
        reply.say("utter_booking_error_try_again")
    else:
        error, intro = BOOKING_ERRORS[code]
        if error:
            reply.say(error)
        say_offer(reply, outcome.offer, domain, intro=intro)


def say_followup(reply: Reply, outcome: services.FollowupOutcome) -> None:
    if outcome.code == "followup_recorded":
        reply.say("utter_followup_confirmed", email=outcome.email)
        reply.events.append(SlotSet("email_followup", None))
    else:
        reply.events += [SlotSet("email_followup", True), FollowupAction("booking_email_form")]


def _latest(tracker: Tracker) -> tuple[str, str]:
    message = tracker.latest_message or {}
    return (message.get("text") or "").strip(), ((message.get("intent") or {}).get("name") or "")


def _offered_until(tracker: Tracker) -> datetime | None:
    try:
        return datetime.fromisoformat(tracker.get_slot("offered_until") or "")
    except ValueError:
        return None


class ActionOfferSlots(Action):
    """Offers 3-5 times (or the ones matching what the visitor typed) as buttons in their zone."""

    def name(self) -> str:
        return "action_offer_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text, intent = _latest(tracker)
        after = _offered_until(tracker) if intent == "other_times" else None
        preference = text if intent == "time_preference" else None

        def act() -> Reply:
            conversation = conversation_by_public_id(tracker.sender_id)
            offer = services.slots_offer(
                conversation=conversation,
                zone=tracker.get_slot("timezone"),
                preference_text=preference,
                after=after,
            )
            reply = Reply()
            talk_now = offer.code in OFFER_INTROS and live.talk_now_available(conversation=conversation)
            say_offer(reply, offer, domain, talk_now=talk_now)
            return reply

        return (await db(act)()).send(dispatcher)


class ActionBookSlot(Action):
    """Books the picked time; asks for the email first when it is not known yet."""

    def name(self) -> str:
        return "action_book_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text, intent = _latest(tracker)
        form_email = tracker.get_slot("booking_email")
        reply = Reply()
        if form_email == DECLINED:
            # Never trap the visitor in the email form: a "no" ends it, nothing is booked.
            followup = tracker.get_slot("email_followup")
            reply.say("utter_booking_email_declined_followup" if followup else "utter_booking_email_declined")
            reply.events += [SlotSet("booking_email", None), SlotSet("email_followup", None)]
            return reply.send(dispatcher)
        choice = next(tracker.get_latest_entity_values("slot_choice"), None)
        typed = text if choice is None and intent == "choose_slot" and not text.startswith("/") else ""
        if choice is None and intent != "choose_slot":
            choice = tracker.get_slot("slot_choice")  # back from the email form
        followup = choice is None and not typed and bool(tracker.get_slot("email_followup"))

        def act() -> Reply:
            conversation = conversation_by_public_id(tracker.sender_id)
            if followup and conversation is not None:
                # Back from the email form that the "email me" follow-up started.
                say_followup(reply, services.followup_request(conversation=conversation, email=form_email))
                return reply
            outcome = services.meeting_book_offered(
                conversation=conversation,
                choice=choice,
                choice_text=typed,
                email=form_email,
                zone=tracker.get_slot("timezone"),
            )
            say_booking(reply, outcome, domain)
            return reply

        return (await db(act)()).send(dispatcher)


class ActionManageBooking(Action):
    """After booking: where to reschedule or cancel (the links of the invitation)."""

    def name(self) -> str:
        return "action_manage_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        def act() -> Reply:
            conversation = conversation_by_public_id(tracker.sender_id)
            meeting = selectors.booked_meeting(conversation) if conversation is not None else None
            zone, _ = selectors.visitor_zone(conversation=conversation, zone=tracker.get_slot("timezone"))
            reply = Reply()
            say_manage(reply, meeting, zone=zone)
            return reply

        return (await db(act)()).send(dispatcher)


class ActionEmailFollowup(Action):
    """Nobody was free and the visitor asked to be emailed: confirm, or ask for the email first."""

    def name(self) -> str:
        return "action_email_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        def act() -> Reply:
            reply = Reply()
            conversation = conversation_by_public_id(tracker.sender_id)
            if conversation is not None:
                say_followup(reply, services.followup_request(conversation=conversation))
            return reply

        return (await db(act)()).send(dispatcher)


class ValidateBookingEmailForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_email_form"

    async def validate_booking_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""

        def act() -> services.EmailAnswer:
            conversation = conversation_by_public_id(tracker.sender_id)
            if conversation is None:
                return services.EmailAnswer("invalid_email")
            return services.booking_email_record(conversation=conversation, text=text)

        answer = await db(act)()
        if answer.code == "recorded":
            return {"booking_email": answer.email}
        if answer.code == "declined":
            return {"booking_email": DECLINED}
        dispatcher.utter_message(response="utter_booking_email_invalid")
        return {"booking_email": None}
