"""The qualification conversation's bot actions.

`ValidateQualificationForm` reads every visitor message for facts (entities plus
the parsers in qualification/parsing.py), stores them on the Lead as they arrive
and picks the next missing question, so the bot never asks for what it knows.
The other actions handle the ways out: a decision, stop, a person, email.
Actions stay thin: every write goes through a service.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from chatbot import services as chat_services
from qualification import parsing, services
from qualification.models import Lead
from qualification.scoring import lead_decide, lead_score

FORM = "qualification_form"
REQUESTED_SLOT = "requested_slot"
MISSES_BEFORE_OFFER = 2
# Intents that are not answers: the form rejects them and a rule answers (then the form resumes).
DIGRESSIONS = {
    "faq_pricing",
    "faq_integrations",
    "faq_security",
    "faq_product",
    "faq_trial",
    "why_ask",
    "chitchat",
    "greet",
    "thanks",
    "bot_challenge",
    "stop",
    "goodbye",
    "request_human",
    "request_email_followup",
    "out_of_scope",
    "nlu_fallback",
    "affirm",
    "deny",
}
UNDERSTOOD_DIGRESSIONS = DIGRESSIONS - {"out_of_scope", "nlu_fallback", "affirm", "deny"}
NEVER_AN_ANSWER = {"stop", "goodbye", "request_human", "request_email_followup", "why_ask", "bot_challenge"}
# Free-text questions: a short reply is the answer even when the NLU had no idea what it was.
FREE_TEXT = {"need", "role", "company_name", "name"}


def db(fn):
    return database_sync_to_async(fn, thread_sensitive=False)


def lead_knocked_out(*, public_id: str) -> bool:
    """Does a knockout already apply (student, job seeker, vendor, competitor, too small)? Then stop asking."""
    lead = services.lead_for_conversation(public_id=public_id)
    if lead.visitor_type in parsing.KNOCKOUT_VISITOR_TYPES or lead.authority == Lead.Authority.STUDENT:
        return True
    return any(reason.knockout for reason in lead_score(lead=lead).reasons)


def next_question(slots: dict, *, knocked_out: bool) -> str | None:
    if knocked_out:
        return None
    if slots.get("continue_by_email"):
        return None if slots.get("email") else "email"
    return next((slot for slot in parsing.QUESTIONS if slots.get(slot) in (None, "")), None)


def is_resuming(tracker: Tracker) -> bool:
    """True when the form runs again after a digression was answered, not straight after the visitor spoke."""
    actions = [e.get("name") for e in tracker.events if e.get("event") == "action"]
    if actions and actions[-1] == FORM:
        actions = actions[:-1]
    previous = next((name for name in reversed(actions) if name != "action_extract_slots"), None)
    return previous not in (None, "action_listen")


def miss_events(dispatcher: CollectingDispatcher, tracker: Tracker, *, response: str) -> list[EventType]:
    """A reply we could not use: say so, and after two in a row offer email or a person."""
    streak = int(tracker.get_slot("off_topic_streak") or 0) + 1
    if streak >= MISSES_BEFORE_OFFER:
        dispatcher.utter_message(response="utter_offer_email_or_person")
    else:
        dispatcher.utter_message(response=response)
    return [SlotSet("off_topic_streak", float(streak))]


class ValidateQualificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_qualification_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name") or ""
        text = message.get("text") or ""
        requested = tracker.get_slot(REQUESTED_SLOT) if tracker.active_loop_name == FORM else None
        slots = dict(tracker.current_slot_values())
        resuming = is_resuming(tracker)

        if intent in DIGRESSIONS and not self.answers_anyway(intent=intent, text=text, requested=requested):
            if not resuming:
                return []  # the form rejects; a rule answers the digression, then the form comes back here
            knocked_out = await db(lead_knocked_out)(public_id=tracker.sender_id)
            events: list[EventType] = []
            if intent in UNDERSTOOD_DIGRESSIONS and slots.get("off_topic_streak"):
                events.append(SlotSet("off_topic_streak", 0.0))
            return [*events, SlotSet(REQUESTED_SLOT, next_question(slots, knocked_out=knocked_out))]

        extraction = parsing.facts_from_message(
            text=text,
            intent=intent,
            entities=message.get("entities") or [],
            requested=requested,
            known=slots,
        )
        events = [SlotSet(slot, value) for slot, value in extraction.slots.items()]
        slots.update(extraction.slots)
        await db(services.lead_record_for_conversation)(
            public_id=tracker.sender_id, facts=extraction.facts, raw=extraction.raw
        )
        if intent == "request_demo" and tracker.active_loop_name == FORM:
            dispatcher.utter_message(response="utter_demo_noted")
        if intent == "request_demo":
            events.append(SlotSet("demo_requested", True))
        if extraction.slots:
            if slots.get("off_topic_streak"):
                events.append(SlotSet("off_topic_streak", 0.0))
        elif requested and not resuming and intent != "request_demo":
            response = "utter_invalid_email" if extraction.invalid == "email" else "utter_didnt_get"
            events += miss_events(dispatcher, tracker, response=response)
        knocked_out = await db(lead_knocked_out)(public_id=tracker.sender_id)
        events.append(SlotSet(REQUESTED_SLOT, next_question(slots, knocked_out=knocked_out)))
        return events

    @staticmethod
    def answers_anyway(*, intent: str, text: str, requested: str | None) -> bool:
        """Some "digressions" are really answers: "yes" to the budget question, "Contoso" read as noise,
        an address typed while the email was asked."""
        if not requested or "?" in text:
            return False
        if requested == "budget" and intent in {"affirm", "deny"}:
            return True
        if requested == "email" and parsing.parse_email(text):
            return True
        if requested == "timeline" and intent in {"deny", "nlu_fallback", "out_of_scope"}:
            return parsing.parse_timeline(text, asked=True) is not None
        if requested == "company_size" and intent in {"nlu_fallback", "out_of_scope", "deny"}:
            return parsing.parse_company_size(text, asked=True) is not None
        if intent.startswith("faq_"):
            # "Northwind Traders" may read as a product question; a real question gets answered.
            return requested in {"company_name", "name"} and text[:1].isupper() and len(text.split()) <= 3
        if requested in FREE_TEXT and intent not in NEVER_AN_ANSWER:
            # "Dana Kim" or "Brightside Advisory" read as noise, small talk or "yes" by the NLU: a short
            # reply is the answer, but gibberish is not a job title.
            if len(text.split()) > 5 or parsing.SMALL_TALK.search(text.strip()):
                return False
            return parsing.looks_like_title(text) if requested == "role" else True
        return False


class ActionQualificationDecide(Action):
    """The end of the form: score the lead (qualification/scoring.py) and say what happens next."""

    def name(self) -> str:
        return "action_qualification_decide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        slots = tracker.current_slot_values()
        knocked_out = await db(lead_knocked_out)(public_id=tracker.sender_id)
        complete = all(slots.get(slot) not in (None, "") for slot in parsing.QUESTIONS)
        events: list[EventType] = [SlotSet("off_topic_streak", 0.0)]
        if knocked_out or complete:
            lead = await db(decide)(public_id=tracker.sender_id)
            outcome = lead.outcome
        else:
            lead = await db(services.lead_for_conversation)(public_id=tracker.sender_id)
            outcome = Lead.Outcome.INCOMPLETE
        events.append(SlotSet("qualification_outcome", str(outcome)))

        if outcome == Lead.Outcome.QUALIFIED:
            dispatcher.utter_message(response="utter_qualified_intro")
        elif outcome == Lead.Outcome.NURTURE and not slots.get("continue_by_email"):
            dispatcher.utter_message(response="utter_nurture_offer")
            events.append(SlotSet("awaiting_consent", True))
        elif outcome == Lead.Outcome.DISQUALIFIED:
            dispatcher.utter_message(response=exit_response(lead))
        elif slots.get("continue_by_email") and slots.get("email"):
            dispatcher.utter_message(response="utter_followup_noted")
        else:
            dispatcher.utter_message(response="utter_incomplete")
        return events


def decide(*, public_id: str) -> Lead:
    return lead_decide(lead=services.lead_for_conversation(public_id=public_id))


def exit_response(lead: Lead) -> str:
    """A polite, useful exit for each kind of knockout."""
    by_type = {
        Lead.VisitorType.STUDENT: "utter_disqualified_student",
        Lead.VisitorType.JOB_SEEKER: "utter_disqualified_job_seeker",
        Lead.VisitorType.VENDOR: "utter_disqualified_vendor",
        Lead.VisitorType.COMPETITOR: "utter_disqualified_competitor",
        Lead.VisitorType.EXISTING_CUSTOMER: "utter_disqualified_customer",
    }
    if lead.visitor_type in by_type:
        return by_type[lead.visitor_type]
    if lead.authority == Lead.Authority.STUDENT:
        return "utter_disqualified_student"
    knocked_out_by = {r.get("field") for r in lead.reasons if r.get("knockout")}
    if "company_size" in knocked_out_by or (lead.company_size is not None and lead.company_size < 10):
        return "utter_disqualified_small"
    return "utter_disqualified_generic"


def end_form_events(tracker: Tracker) -> list[EventType]:
    if tracker.active_loop_name != FORM:
        return []
    return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)]


class ActionQualificationStop(Action):
    """ "stop", "not now", "I'd rather not say": keep what we have, ask nothing more, close politely."""

    def name(self) -> str:
        return "action_qualification_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events = end_form_events(tracker)
        if not tracker.get_slot("qualification_outcome"):
            events.append(SlotSet("qualification_outcome", Lead.Outcome.INCOMPLETE.value))
        dispatcher.utter_message(response="utter_stop_ack")
        return events


class ActionQualificationOffTopic(Action):
    """Off-topic or not understood inside the form: a re-prompt; after two in a row, offer email or a person."""

    def name(self) -> str:
        return "action_qualification_off_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return miss_events(dispatcher, tracker, response="utter_didnt_get")


class ActionExplainWhy(Action):
    """ "Why do you ask?": a short reason for the question that is open."""

    def name(self) -> str:
        return "action_explain_why"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        response = f"utter_why_{requested}" if requested in parsing.QUESTIONS else "utter_why_generic"
        dispatcher.utter_message(response=response)
        return []


class ActionRequestHandoff(Action):
    """ "Can I talk to a person?": flag the conversation for the team and offer a meeting or email."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await db(chat_services.conversation_request_handoff)(public_id=tracker.sender_id)
        dispatcher.utter_message(response="utter_handoff")
        return [*end_form_events(tracker), SlotSet("off_topic_streak", 0.0)]


class ActionFollowupByEmail(Action):
    """ "Just email me": record consent; the form then asks only for the address (if unknown)."""

    def name(self) -> str:
        return "action_followup_by_email"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        await db(services.lead_set_email_consent)(public_id=tracker.sender_id, consent=True)
        dispatcher.utter_message(response="utter_followup_ok")
        return [SlotSet("continue_by_email", True), SlotSet("off_topic_streak", 0.0)]


class ActionRecordFollowupConsent(Action):
    """The answer to the nurture offer ("Can I send you resources by email?")."""

    def name(self) -> str:
        return "action_record_followup_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        consent = intent == "affirm"
        await db(services.lead_set_email_consent)(public_id=tracker.sender_id, consent=consent)
        dispatcher.utter_message(response="utter_consent_thanks" if consent else "utter_consent_declined")
        return [SlotSet("awaiting_consent", False)]
