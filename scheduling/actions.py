"""Scheduling's bot actions: offer times, book the one the visitor picks, ask where the invitation goes.

The qualification flow runs `action_offer_slots` once a lead is qualified. From there:

- slot buttons carry `/choose_slot{"slot_choice": "<rep_id>|<UTC ISO start>"}`; `action_book_slot`
  hands that hint to `meeting_book`, which re-checks it (never trust a payload) and returns the
  existing booking on a second click, a reload or a retried message;
- "Other times" and typed preferences ("next Tuesday afternoon") run `action_offer_slots` again,
  which reads the latest message;
- without a known email, `booking_email_form` asks for it before booking;
- nobody free: the visitor is offered an email follow-up instead of being left stuck.

Every ORM call runs in a worker thread (`database_sync_to_async(..., thread_sensitive=False)`); the
sync functions below each take one hop and return what the bot says.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone as django_timezone
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot.models import Conversation
from qualification import services as lead_services
from qualification.models import Lead
from scheduling import selectors, services
from scheduling import slot_text as words
from scheduling.errors import MESSAGES, SchedulingError
from scheduling.models import Meeting, SlotOffer
from scheduling.notifications import manage_url

OFFER_LIMIT = 5
# A typed preference or "Other times" filters a wider list down to what was asked for.
WIDE_LIMIT = 60
VISITOR_DAY = (time(8, 0), time(20, 0))
OTHER_TIMES_BUTTON = {"title": "Other times", "payload": "/other_times"}
FOLLOWUP_BUTTON = {"title": "Yes, email me", "payload": "/request_followup"}
DECLINED = "declined"
EMAIL_RE = re.compile(r"[^\s@<>(),;:\"]+@[^\s@<>(),;:\"]+\.[A-Za-z]{2,}")
REFUSAL_RE = re.compile(r"\b(no|nope|skip|cancel|stop|never ?mind|not now|rather not|don'?t|no thanks)\b", re.I)
ORDINALS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}


@dataclass
class Reply:
    """What one action says (in order) and the slots it sets."""

    messages: list[dict] = field(default_factory=list)
    events: list[EventType] = field(default_factory=list)

    def say(self, text: str, buttons: list[dict] | None = None) -> None:
        self.messages.append({"text": text, "buttons": buttons or []})

    def send(self, dispatcher: CollectingDispatcher) -> list[EventType]:
        for message in self.messages:
            dispatcher.utter_message(text=message["text"], buttons=message["buttons"])
        return self.events


@dataclass(frozen=True)
class Visit:
    conversation: Conversation
    lead: Lead | None
    zone: str
    zone_is_fallback: bool


def visit_load(*, public_id: str, zone_slot: str | None) -> Visit | None:
    conversation = Conversation.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None
    if conversation is None:
        return None
    lead = Lead.objects.filter(conversation=conversation).first()
    zone, fallback = words.zone_or_utc(zone_slot or conversation.timezone)
    return Visit(conversation=conversation, lead=lead, zone=zone, zone_is_fallback=fallback)


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value or ""))


def booking_allowed(visit: Visit) -> bool:
    """Times are offered to qualified leads only (or once they were offered in this chat)."""
    if visit.lead is not None and visit.lead.outcome == Lead.Outcome.QUALIFIED:
        return True
    return SlotOffer.objects.filter(conversation=visit.conversation).exists()


def spread(slots: list, *, limit: int, zone: str) -> list:
    """Up to `limit` slots, the earliest of each day first, so the visitor sees a choice of days."""
    by_day: dict = {}
    for slot in sorted(slots, key=lambda s: s.start):
        by_day.setdefault(words.local_time(slot.start, zone).date(), []).append(slot)
    picked: list = []
    rank = 0
    while len(picked) < limit and any(len(day) > rank for day in by_day.values()):
        for day in sorted(by_day):
            if rank < len(by_day[day]) and len(picked) < limit:
                picked.append(by_day[day][rank])
        rank += 1
    return sorted(picked, key=lambda s: s.start)


def in_visitor_day(slots: list, zone: str) -> list:
    daytime = [s for s in slots if VISITOR_DAY[0] <= words.local_time(s.start, zone).time() < VISITOR_DAY[1]]
    return daytime or slots


def offer_build(
    *,
    visit: Visit,
    text: str = "",
    intent: str = "",
    after: datetime | None = None,
    exclude: tuple[int, datetime] | None = None,
    lead_in: str = "",
    intro: str = "",
    now: datetime | None = None,
) -> Reply:
    """Find times for the visitor, record the offer, and word it (buttons in the visitor's zone)."""
    now = now or django_timezone.now()
    reply = Reply()
    conversation, lead, zone = visit.conversation, visit.lead, visit.zone
    if lead_in:
        reply.say(lead_in)

    def find(**window: Any) -> list:
        found = selectors.slots_for_lead(lead=lead, conversation=conversation, now=now, **window)
        return [s for s in found if exclude is None or (s.rep_id, s.start) != exclude]

    preference = words.parse_preference(text, now=now, zone=zone) if text else None
    # What the visitor typed is kept with the offer, understood or not (analytics reads both).
    preference_text = text if intent == "time_preference" else ""
    if preference is not None:
        end = preference.end.astimezone(timezone.utc) if preference.end else None
        matching = [s for s in find(start=preference.start, end=end, limit=WIDE_LIMIT) if preference.matches(s.start)]
        if matching:
            slots = spread(matching, limit=OFFER_LIMIT, zone=zone)
            intro = words.match_intro(preference, zone=zone, zone_is_fallback=visit.zone_is_fallback)
        else:
            everything = find(limit=WIDE_LIMIT)
            nearest = words.nearest_first([s.start for s in everything], preference)[:OFFER_LIMIT]
            slots = sorted((s for s in everything if s.start in nearest), key=lambda s: s.start)[:OFFER_LIMIT]
            intro = words.no_match_text(preference, zone=zone, zone_is_fallback=visit.zone_is_fallback)
    elif after is not None:
        later = find(start=after + timedelta(minutes=1), limit=WIDE_LIMIT)
        slots = spread(in_visitor_day(later, zone), limit=OFFER_LIMIT, zone=zone)
        if slots:
            intro = (
                f"Here are some later times ({_zone_words(visit)}). You can also type a day or time that suits "
                "you, like “Thursday afternoon”:"
            )
        else:
            slots = find(limit=OFFER_LIMIT)
            intro = f"There are no later free times, so here are the earliest ones again ({_zone_words(visit)}):"
    else:
        slots = find(limit=OFFER_LIMIT)
        if text and intent == "time_preference" and not text.startswith("/"):
            intro = (
                "Sorry, I couldn't tell which day or time you meant. You can type something like "
                f"“Thursday afternoon”. These are the next free times ({_zone_words(visit)}):"
            )
        else:
            intro = intro or words.offer_intro(zone=zone, zone_is_fallback=visit.zone_is_fallback, count=len(slots))

    if not slots:
        return nobody_free(visit=visit, reply=reply)
    services.slot_offer_record(conversation=conversation, slots=slots, preference_text=preference_text[:500])
    buttons = [
        {"title": words.slot_text(s.start, zone), "payload": words.slot_payload(s.rep_id, s.start)} for s in slots
    ]
    reply.say(intro, buttons + [OTHER_TIMES_BUTTON])
    reply.events += [
        SlotSet("booking_requested", True),
        SlotSet("offered_until", max(s.start for s in slots).astimezone(timezone.utc).isoformat()),
    ]
    return reply


def nobody_free(*, visit: Visit, reply: Reply) -> Reply:
    """No rep has a free time in the horizon: never a dead end, offer an email follow-up."""
    reply.say(
        "I'm sorry, nobody on the team has a free slot in the coming weeks. "
        "Would you like them to email you to find a time that works?",
        [FOLLOWUP_BUTTON],
    )
    reply.events += [SlotSet("booking_requested", True), SlotSet("slot_choice", None)]
    return reply


def followup_confirm(*, visit: Visit, email: str) -> Reply:
    """The visitor asked to be emailed instead of booking: record their consent, confirm."""
    lead = visit.lead or lead_services.lead_for_conversation(public_id=str(visit.conversation.public_id))
    facts: dict[str, Any] = {"consent_email_followup": True}
    if not lead.email:
        facts["email"] = email
    lead_services.lead_record_facts(lead=lead, facts=facts)
    reply = Reply()
    reply.say(f"Thanks! The team will email you at {email} to find a time that works.")
    reply.events.append(SlotSet("email_followup", None))
    return reply


def choice_from_text(*, visit: Visit, text: str) -> str | None:
    """ "the second one": the matching slot of the latest offer, as a payload value."""
    offer = SlotOffer.objects.filter(conversation=visit.conversation).order_by("-created_at", "-id").first()
    if offer is None or not offer.slots:
        return None
    lowered = text.lower()
    index = next((i for word, i in ORDINALS.items() if re.search(rf"\b{word}\b", lowered)), None)
    if index is None and re.search(r"\blast\b", lowered):
        index = len(offer.slots) - 1
    if index is None or index >= len(offer.slots):
        return None
    slot = offer.slots[index]
    return f"{slot['rep']}|{slot['start']}"


def _zone_words(visit: Visit) -> str:
    return "in UTC, as I don't know your time zone" if visit.zone_is_fallback else f"in {words.zone_label(visit.zone)}"


def was_offered(*, visit: Visit, choice: words.SlotChoice) -> bool:
    """Only times this chat was shown can be booked from it (a forged payload picks no rep).

    Checked in Python: the embedded SQLite default has no JSON containment lookup.
    """
    wanted = {"rep": choice.rep_id, "start": choice.start.isoformat()}
    offers = SlotOffer.objects.filter(conversation=visit.conversation).values_list("slots", flat=True)
    return any(wanted in slots for slots in offers)


def confirmation_text(meeting: Meeting, *, zone: str, again: bool) -> str:
    when = words.slot_text(meeting.start, zone)
    minutes = int((meeting.end - meeting.start).total_seconds() // 60)
    head = "You're already booked" if again else "You're booked"
    return (
        f"{head}: {when} with {meeting.rep.name} ({minutes} minutes). "
        f"An invitation is on its way to {meeting.visitor_email}, with links to reschedule or cancel "
        "if your plans change. Talk soon!"
    )


def book(*, visit: Visit, choice_value: str | None, email: str, now: datetime | None = None) -> Reply:
    reply = Reply()
    choice = words.slot_choice_parse(choice_value)
    if choice is None:
        return offer_build(
            visit=visit,
            lead_in="Sorry, I couldn't read which time you picked.",
            intro=f"Here are the free times ({_zone_words(visit)}):",
            now=now,
        )
    if not was_offered(visit=visit, choice=choice):
        return offer_build(
            visit=visit,
            lead_in="Sorry, that isn't one of the times I offered you.",
            intro=f"Here are the free times ({_zone_words(visit)}):",
            now=now,
        )
    lead = visit.lead
    try:
        booking = services.meeting_book(
            rep_id=choice.rep_id,
            start=choice.start,
            conversation=visit.conversation,
            lead=lead,
            visitor_email=email,
            visitor_name=lead.name if lead else "",
            visitor_timezone=visit.zone,
            now=now,
        )
    except SchedulingError as error:
        if error.code == "already_booked" and error.meeting is not None:
            meeting = Meeting.objects.select_related("rep").get(pk=error.meeting.pk)
            reply.say(confirmation_text(meeting, zone=visit.zone, again=True))
            reply.events.append(SlotSet("booked_meeting", str(meeting.public_id)))
            return reply
        if error.code == "invalid_email":
            reply.say(error.message)
            reply.events += [SlotSet("booking_email", None), FollowupAction("booking_email_form")]
            return reply
        if error.code in {"slot_taken", "slot_unavailable"}:
            lead_in = MESSAGES[error.code].split(".")[0] + "."
            intro = f"Here are the next free times ({_zone_words(visit)}):"
            return offer_build(
                visit=visit, exclude=(choice.rep_id, choice.start), lead_in=lead_in, intro=intro, now=now
            )
        reply.say(error.message)
        return reply
    meeting = Meeting.objects.select_related("rep").get(pk=booking.meeting.pk)
    reply.say(confirmation_text(meeting, zone=visit.zone, again=not booking.created))
    reply.events += [SlotSet("booked_meeting", str(meeting.public_id)), SlotSet("email_followup", None)]
    return reply


def booked_meeting(conversation: Conversation) -> Meeting | None:
    return (
        Meeting.objects.select_related("rep")
        .filter(conversation=conversation, status=Meeting.Status.BOOKED)
        .order_by("-created_at")
        .first()
    )


def manage_text(*, visit: Visit) -> str:
    meeting = booked_meeting(visit.conversation)
    if meeting is None:
        return "You don't have a meeting booked in this chat yet."
    when = words.slot_text(meeting.start, visit.zone)
    return (
        f"Your meeting is {when} with {meeting.rep.name}. To reschedule or cancel, use the links in the "
        f"invitation we sent to {meeting.visitor_email}, or open this page: {manage_url(meeting)}"
    )


def _sync(fn):
    return database_sync_to_async(fn, thread_sensitive=False)


def _latest(tracker: Tracker) -> tuple[str, str]:
    message = tracker.latest_message or {}
    return (message.get("text") or "").strip(), ((message.get("intent") or {}).get("name") or "")


class ActionOfferSlots(Action):
    """Offers 3-5 times (or the ones matching what the visitor typed) as buttons in their zone."""

    def name(self) -> str:
        return "action_offer_slots"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text, intent = _latest(tracker)

        def offer() -> Reply:
            visit = visit_load(public_id=tracker.sender_id, zone_slot=tracker.get_slot("timezone"))
            if visit is None or not booking_allowed(visit):
                reply = Reply()
                reply.say("Happy to set up a call. First, tell me a little about what you're looking for.")
                return reply
            if booked_meeting(visit.conversation) is not None:
                reply = Reply()
                reply.say(manage_text(visit=visit))
                return reply
            after = None
            if intent == "other_times" and (until := tracker.get_slot("offered_until")):
                try:
                    after = datetime.fromisoformat(until)
                except ValueError:
                    after = None
            preference = text if intent == "time_preference" else ""
            return offer_build(visit=visit, text=preference, intent=intent, after=after)

        return (await _sync(offer)()).send(dispatcher)


class ActionBookSlot(Action):
    """Books the picked time; asks for the email first when it is not known yet."""

    def name(self) -> str:
        return "action_book_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text, intent = _latest(tracker)
        entity_choice = next(tracker.get_latest_entity_values("slot_choice"), None)

        def act() -> Reply:
            visit = visit_load(public_id=tracker.sender_id, zone_slot=tracker.get_slot("timezone"))
            reply = Reply()
            if visit is None or not booking_allowed(visit):
                reply.say("Happy to set up a call. First, tell me a little about what you're looking for.")
                return reply
            form_email = tracker.get_slot("booking_email")
            if form_email == DECLINED:
                if tracker.get_slot("email_followup"):
                    reply.say("No problem. You're welcome to come back and book a call any time.")
                else:
                    reply.say(
                        "No problem. You can pick a time again whenever you like; without an email I can't "
                        "send the invitation, so I haven't booked anything."
                    )
                reply.events += [SlotSet("booking_email", None), SlotSet("email_followup", None)]
                return reply
            choice = entity_choice
            if choice is None and intent == "choose_slot" and not text.startswith("/"):
                choice = choice_from_text(visit=visit, text=text)
            if choice is None and intent != "choose_slot":
                choice = tracker.get_slot("slot_choice")  # back from the email form
            email = (visit.lead.email if visit.lead else "") or form_email or ""
            if choice is None and tracker.get_slot("email_followup") and email:
                return followup_confirm(visit=visit, email=email)  # back from the email form
            if choice is None:
                return offer_build(visit=visit, intro=f"Which of these times would you like ({_zone_words(visit)})?")
            if not email:
                reply.events += [SlotSet("slot_choice", choice), FollowupAction("booking_email_form")]
                return reply
            return book(visit=visit, choice_value=choice, email=email)

        return (await _sync(act)()).send(dispatcher)


class ActionManageBooking(Action):
    """After booking: where to reschedule or cancel (the links of the invitation)."""

    def name(self) -> str:
        return "action_manage_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        def act() -> str:
            visit = visit_load(public_id=tracker.sender_id, zone_slot=tracker.get_slot("timezone"))
            if visit is None:
                return "You don't have a meeting booked in this chat yet."
            return manage_text(visit=visit)

        dispatcher.utter_message(text=await _sync(act)())
        return []


class ActionEmailFollowup(Action):
    """Nobody was free and the visitor asked to be emailed: confirm, or ask for the email first."""

    def name(self) -> str:
        return "action_email_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        def act() -> Reply:
            visit = visit_load(public_id=tracker.sender_id, zone_slot=tracker.get_slot("timezone"))
            if visit is None:
                return Reply()
            email = (visit.lead.email if visit.lead else "") or ""
            if email:
                return followup_confirm(visit=visit, email=email)
            reply = Reply()
            reply.events += [SlotSet("email_followup", True), FollowupAction("booking_email_form")]
            return reply

        return (await _sync(act)()).send(dispatcher)


def email_from_text(text: str) -> str | None:
    match = EMAIL_RE.search(text or "")
    if not match:
        return None
    email = match.group(0).strip(".").lower()
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email


def email_store(*, public_id: str, email: str) -> None:
    lead = lead_services.lead_for_conversation(public_id=public_id)
    if lead.email != email:
        lead_services.lead_record_facts(lead=lead, facts={"email": email}, raw={"email": email})


class ValidateBookingEmailForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_email_form"

    async def validate_booking_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        email = email_from_text(text)
        if email is None:
            if REFUSAL_RE.search(text):
                # Never trap the visitor in the form: a "no" ends it.
                return {"booking_email": DECLINED}
            dispatcher.utter_message(
                text="That doesn't look like an email address. Could you type it again, like name@company.com?"
            )
            return {"booking_email": None}
        await _sync(email_store)(public_id=tracker.sender_id, email=email)
        return {"booking_email": email}
