"""The qualification conversation's bot actions.

`ValidateQualificationForm` reads every visitor message for facts (entities plus
the parsers in qualification/parsing/), stores them on the Lead as they arrive
and picks the next missing question, so the bot never asks for what it knows.
The other actions handle the ways out: a decision, stop, email; a person is the inbox's
(`inbox/actions.py`: who can come depends on who is online and at work). Actions stay thin:
every write goes through a service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from chatbot import services as chat_services
from config.db import db
from qualification import parsing, services
from qualification.models import Lead
from qualification.scoring import lead_decide, lead_questions_moot, lead_score
from qualification.selectors import site_terms_for_conversation

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
# Digressions that may still carry facts in passing ("We want better forecasts. How much is it?").
FACTS_IN_PASSING = {"faq_pricing", "faq_integrations", "faq_security", "faq_product", "faq_trial", "greet", "why_ask"}
# Free-text questions: a short reply is the answer even when the NLU had no idea what it was.
FREE_TEXT = {"need", "role", "company_name", "name"}
# Questions whose answers a parser reads; what it reads is the answer, whatever the NLU thought.
STRUCTURED = {
    "budget": lambda text: parsing.parse_budget(text, asked=True),
    "timeline": lambda text: parsing.parse_timeline(text, asked=True),
    "company_size": lambda text: parsing.parse_company_size(text, asked=True),
    "email": parsing.parse_email,
}
LEAVING = parsing.LEAVING
RAW_FIELD = {"need": "need_text"}  # the Lead's raw-text key of each question, where it differs
# An answer that fails to read twice is kept as typed (sales reads it) and the question is not asked again.
MISSES_BEFORE_SKIP = 2
# Facts a short acknowledgement names ("Got it: VP of Sales at Northwind, about 450 people.").
ACKNOWLEDGED = {"role": "ack_role", "company_name": "ack_company", "company_size": "ack_size"}


@dataclass(frozen=True)
class RulesSay:
    """What marketing's rules (admin) say about the questions left: stop, or which need no answer."""

    knocked_out: bool = False
    moot: frozenset[str] = frozenset()


def rules_say(*, public_id: str) -> RulesSay:
    lead = services.lead_for_conversation(public_id=public_id)
    if any(reason.knockout for reason in lead_score(lead=lead).reasons):
        return RulesSay(knocked_out=True)
    return RulesSay(moot=frozenset(lead_questions_moot(lead=lead)))


def next_question(slots: dict, *, rules: RulesSay) -> str | None:
    if rules.knocked_out:
        return None
    declined = set(slots.get("declined") or []) | rules.moot
    if slots.get("continue_by_email"):
        return None if slots.get("email") or "email" in declined else "email"
    return next((slot for slot in parsing.QUESTIONS if slots.get(slot) in (None, "") and slot not in declined), None)


def is_resuming(tracker: Tracker) -> bool:
    """True when the form runs again after a digression was answered, not straight after the visitor spoke."""
    actions = [e.get("name") for e in tracker.events if e.get("event") == "action"]
    if actions and actions[-1] == FORM:
        actions = actions[:-1]
    previous = next((name for name in reversed(actions) if name != "action_extract_slots"), None)
    return previous not in (None, "action_listen")


def said_in_a_row(tracker: Tracker, responses: set[str]) -> int:
    """How many of the bot's latest turns in a row said one of these responses."""
    count = 0
    turn_said: set[str] = set()
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "bot":
            turn_said.add((event.get("metadata") or {}).get("utter_action") or "")
        elif kind == "user":
            if turn_said and not turn_said & responses:
                break
            count += bool(turn_said & responses)
            turn_said = set()
    return count + bool(turn_said & responses)


def miss_events(dispatcher: CollectingDispatcher, tracker: Tracker, *, response: str) -> list[EventType]:
    """A reply we could not use: say so; every second miss in a row offers email or a person instead."""
    streak = int(tracker.get_slot("off_topic_streak") or 0) + 1
    if streak % MISSES_BEFORE_OFFER == 0:
        dispatcher.utter_message(response="utter_offer_email_or_person")
    else:
        dispatcher.utter_message(response=response)
    return [SlotSet("off_topic_streak", float(streak))]


def acknowledgement(extraction: parsing.Extraction, *, requested: str | None) -> dict:
    """The facts worth confirming: when a message said more than the one thing asked."""
    told = {slot: extraction.slots[slot] for slot in ACKNOWLEDGED if slot in extraction.slots}
    if requested == "email":
        told.pop("company_name", None)  # the company read off a work address: no need to say it back
    in_passing = set(told) - {requested}
    if not in_passing or (len(told) < 2 and requested is None and "need" not in extraction.slots):
        return {}
    return {ACKNOWLEDGED[slot]: value for slot, value in told.items()}


def lead_on_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """After an answer outside the form: the next step, so the visitor always has something to answer.

    Still qualifying (or back after "stop"): the form asks its next open question. Qualified and not
    booked: times again. Otherwise (booked, nurtured, exited): "anything else?".
    """
    outcome = tracker.get_slot("qualification_outcome")
    if tracker.get_slot("booked_meeting") or outcome in (Lead.Outcome.NURTURE, Lead.Outcome.DISQUALIFIED):
        dispatcher.utter_message(response="utter_anything_else")
        return []
    if outcome == Lead.Outcome.QUALIFIED:
        return [FollowupAction("action_offer_slots")]
    return [FollowupAction(FORM)]


async def reading_of(tracker: Tracker) -> parsing.Reading:
    """The latest message as the parsers read it, with the site's own terms (its product, its competitors)."""
    message = tracker.latest_message or {}
    return parsing.read_message(
        message.get("text") or "",
        intent=(message.get("intent") or {}).get("name") or "",
        known=tracker.current_slot_values(),
        site=await db(site_terms_for_conversation)(public_id=tracker.sender_id),
    )


def knows_anything(slots: dict) -> bool:
    return any(slots.get(slot) not in (None, "") for slot in parsing.QUESTIONS)


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

        if requested and not resuming and self.declines(intent=intent, text=text):
            declined = [*(slots.get("declined") or []), requested]
            slots["declined"] = declined
            dispatcher.utter_message(response="utter_skip_ack")
            rules = await db(rules_say)(public_id=tracker.sender_id)
            return [
                SlotSet("declined", declined),
                SlotSet(REQUESTED_SLOT, next_question(slots, rules=rules)),
            ]

        reading = await reading_of(tracker)
        intent, site = reading.intent, reading.site
        answer = self.answers_anyway(intent=intent, text=text, requested=requested)
        if intent in DIGRESSIONS and not answer:
            if not resuming:
                return []  # the form rejects; a rule answers the digression, then the form comes back here
            # back from the digression: keep what the message said in passing, then ask what is open
            events: list[EventType] = []
            if intent in FACTS_IN_PASSING:
                extraction = parsing.facts_from_message(
                    text=text,
                    intent="inform",
                    entities=message.get("entities") or [],
                    requested=None,
                    known=slots,
                    site=site,
                )
                if intent != "greet":
                    # a question's words are not facts ("does it work with Salesforce?" names no company)
                    extraction = extraction.only({"need", "use_case"})
                events += [SlotSet(slot, value) for slot, value in extraction.slots.items()]
                slots.update(extraction.slots)
                await db(services.lead_record_for_conversation)(
                    public_id=tracker.sender_id, facts=extraction.facts, raw=extraction.raw
                )
            if reading.person_unanswered and await db(chat_services.conversation_request_handoff)(
                public_id=tracker.sender_id
            ):
                # "are you a bot? is there a live rep I can talk to?": answered, and the team is told
                dispatcher.utter_message(response="utter_handoff_noted")
            rules = await db(rules_say)(public_id=tracker.sender_id)
            if intent in UNDERSTOOD_DIGRESSIONS and slots.get("off_topic_streak"):
                events.append(SlotSet("off_topic_streak", 0.0))
            return [*events, SlotSet(REQUESTED_SLOT, next_question(slots, rules=rules))]

        extraction = parsing.facts_from_message(
            text=text,
            # a plain answer to the question asked is that answer, whatever else the NLU guessed it was
            intent="inform" if answer else intent,
            entities=message.get("entities") or [],
            requested=requested,
            known=slots,
            site=site,
        )
        # an answer already given stays unless this message corrects it or answers its question again
        if not parsing.CORRECTION.search(text):
            extraction = extraction.without(
                {
                    slot
                    for slot in extraction.slots
                    if slot in parsing.QUESTIONS and slot != requested and slots.get(slot)
                }
            )
        events = [SlotSet(slot, value) for slot, value in extraction.slots.items()]
        slots.update(extraction.slots)
        await db(services.lead_record_for_conversation)(
            public_id=tracker.sender_id, facts=extraction.facts, raw=extraction.raw
        )
        if reading.asks_for_person and await db(chat_services.conversation_request_handoff)(
            public_id=tracker.sender_id
        ):
            # a person asked for along with facts: the team is told, and the questions go on to a booking
            dispatcher.utter_message(response="utter_handoff_noted")
        if not intent.startswith("faq_") and not resuming and (faq := parsing.faq_asked(text)):
            dispatcher.utter_message(response=f"utter_{faq}")  # the question in a need: answered too
        if intent == "request_demo" and tracker.active_loop_name == FORM and not resuming:
            dispatcher.utter_message(response="utter_demo_noted")  # not right after "a few questions first"
        if intent == "request_demo":
            events.append(SlotSet("demo_requested", True))
        rules = await db(rules_say)(public_id=tracker.sender_id)
        if extraction.slots:
            if slots.get("off_topic_streak"):
                events.append(SlotSet("off_topic_streak", 0.0))
            if not rules.knocked_out and (facts := acknowledgement(extraction, requested=requested)):
                dispatcher.utter_message(response="utter_ack_facts", **facts)
        elif requested and not resuming and intent != "request_demo":
            misses = {**(tracker.get_slot("answer_misses") or {})}
            misses[requested] = misses.get(requested, 0) + 1
            events.append(SlotSet("answer_misses", misses))
            if misses[requested] >= MISSES_BEFORE_SKIP and requested != "email":
                # never stuck on one question: keep the words for sales and go on
                slots["declined"] = [*(slots.get("declined") or []), requested]
                events.append(SlotSet("declined", slots["declined"]))
                await db(services.lead_record_for_conversation)(
                    public_id=tracker.sender_id, facts={}, raw={RAW_FIELD.get(requested, requested): text}
                )
                dispatcher.utter_message(response="utter_noted_as_written")
            else:
                response = "utter_invalid_email" if extraction.invalid == "email" else "utter_didnt_get"
                events += miss_events(dispatcher, tracker, response=response)
        events.append(SlotSet(REQUESTED_SLOT, next_question(slots, rules=rules)))
        return events

    @staticmethod
    def declines(*, intent: str, text: str) -> bool:
        """ "I'd rather not say" skips this one question; "stop" is a different thing."""
        if intent == "decline_answer":
            return not parsing.INTENT_WORDS.search(text) or bool(parsing.DECLINE.search(text))
        return intent in {"stop", "deny", "out_of_scope", "nlu_fallback", "inform"} and bool(
            parsing.DECLINE.search(text)
        )

    @staticmethod
    def answers_anyway(*, intent: str, text: str, requested: str | None) -> bool:
        """Some "digressions" are really answers: "yes" to the budget question, "Contoso" read as noise,
        an address typed while the email was asked, a name the NLU took for "stop"."""
        if not requested or "?" in text or text.lstrip().startswith("/"):
            return False  # a question, or a button's payload, is never an answer
        if requested == "budget" and intent in {"affirm", "deny"}:
            return True
        # whatever the NLU called it, text that reads as the asked fact is the answer ("not sure, procurement
        # handles that" to the budget question is not small talk)
        leaving = intent in LEAVING and parsing.INTENT_WORDS.search(text)
        if not leaving and (parse := STRUCTURED.get(requested)) and parse(text) is not None:
            return True
        if requested == "need" and intent == "out_of_scope" and not parsing.mentions_need(text):
            return False
        if requested in FREE_TEXT:
            # "Dana Kim", "Controller" or "Brightside Advisory" read as noise, small talk, "stop" or a job
            # seeker by the NLU: a short plain reply is the answer, but "hi" or "ok" is not a name.
            # The reply is judged by its answer part: "We're Saltmarsh Outdoor, we make camping gear" names a company.
            answer = {
                "role": lambda: parsing.clean_role(text, asked=True),
                "company_name": lambda: parsing.clean_company(text) or "",
            }.get(requested, lambda: text)()
            plain = parsing.is_plain_answer(answer) and not parsing.SMALL_TALK.search(text.strip())
            plain = plain and not parsing.INTENT_WORDS.search(text) and "?" not in text
            if requested == "role":
                return plain and (parsing.looks_like_title(answer) or parsing.looks_like_words(answer))
            return plain
        return False


class ActionQualificationDecide(Action):
    """The end of the form: score the lead (qualification/scoring.py) and say what happens next."""

    def name(self) -> str:
        return "action_qualification_decide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        slots = tracker.current_slot_values()
        rules = await db(rules_say)(public_id=tracker.sender_id)
        skipped = set(slots.get("declined") or []) | rules.moot
        complete = all(slots.get(slot) not in (None, "") or slot in skipped for slot in parsing.QUESTIONS)
        events: list[EventType] = [SlotSet("off_topic_streak", 0.0)]
        if rules.knocked_out or complete:
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
            exit_reply = exit_response(lead)
            # said once, then rephrased (NLG); a third time, close politely instead of looping
            repeats = said_in_a_row(tracker, {exit_reply, "utter_closing"})
            dispatcher.utter_message(response=exit_reply if repeats < 2 else "utter_closing")
        elif slots.get("continue_by_email") and slots.get("email"):
            dispatcher.utter_message(response="utter_followup_noted")
        else:
            dispatcher.utter_message(response="utter_incomplete")
        return events


def decide(*, public_id: str) -> Lead:
    return lead_decide(lead=services.lead_for_conversation(public_id=public_id))


def exit_response(lead: Lead) -> str:
    """A polite, useful exit fitting the knockout rule that applied (the rules in admin decide)."""
    knocked_out_by = {r.get("field") for r in lead.reasons if r.get("knockout")}
    if "visitor_type" in knocked_out_by and lead.visitor_type in EXIT_BY_VISITOR_TYPE:
        return EXIT_BY_VISITOR_TYPE[lead.visitor_type]
    if "authority" in knocked_out_by and lead.authority == Lead.Authority.STUDENT:
        return "utter_disqualified_student"
    if "company_size" in knocked_out_by:
        return "utter_disqualified_small"
    return "utter_disqualified_generic"


EXIT_BY_VISITOR_TYPE = {
    Lead.VisitorType.STUDENT: "utter_disqualified_student",
    Lead.VisitorType.JOB_SEEKER: "utter_disqualified_job_seeker",
    Lead.VisitorType.VENDOR: "utter_disqualified_vendor",
    Lead.VisitorType.COMPETITOR: "utter_disqualified_competitor",
    Lead.VisitorType.EXISTING_CUSTOMER: "utter_disqualified_customer",
}


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
        if tracker.active_loop_name == FORM:
            return miss_events(dispatcher, tracker, response="utter_didnt_get")
        reading = await reading_of(tracker)
        if reading.tells_facts or reading.corrects:
            return [FollowupAction(FORM)]  # the form takes the facts (the NLU was unsure, the parsers are not)
        if reading.person_unanswered:
            return [FollowupAction("action_request_handoff")]  # "is there a live rep I can talk to?"
        response = "utter_please_rephrase" if reading.intent == "nlu_fallback" else "utter_out_of_scope"
        return miss_events(dispatcher, tracker, response=response)


class ActionExplainWhy(Action):
    """ "Why do you ask?": a short reason for the question that is open."""

    def name(self) -> str:
        return "action_explain_why"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        response = f"utter_why_{requested}" if requested in parsing.QUESTIONS else "utter_why_generic"
        dispatcher.utter_message(response=response)
        return []


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
        reading = await reading_of(tracker)
        if reading.corrects:
            # "wait, scratch what I said on timing: we need it this quarter" is no answer to the offer,
            # whatever the NLU made of it (often "deny"): the form takes the correction and decides again
            return [SlotSet("awaiting_consent", False), FollowupAction(FORM)]
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        email = parsing.parse_email(message.get("text") or "")
        # "sure, send them to ana@acme.com" or just the address: a yes, to that address
        consent = intent in {"affirm", "request_email_followup"} or email is not None
        events: list[EventType] = [SlotSet("awaiting_consent", False)]
        if email is not None:
            await db(services.lead_record_for_conversation)(
                public_id=tracker.sender_id,
                facts={"email": email.address, "email_flag": email.flag},
                raw={"email": message.get("text") or ""},
            )
            events.append(SlotSet("email", email.address))
        await db(services.lead_set_email_consent)(public_id=tracker.sender_id, consent=consent)
        dispatcher.utter_message(response="utter_consent_thanks" if consent else "utter_consent_declined")
        return events


class ActionLeadOn(Action):
    """After a greeting, "yes", an answered question or small talk outside the form: the next step.

    A first "hi" is greeted; a visitor who comes back (after "stop", or a later visit) is welcomed
    back and the form resumes from what is known, never from the start.
    """

    def name(self) -> str:
        return "action_lead_on"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        reading = await reading_of(tracker)
        if reading.person_unanswered:
            return [FollowupAction("action_request_handoff")]  # "are you a bot? can I talk to a live rep?"
        if reading.intent == "greet":
            # "hi" or "hi, a question about your company": greeted; "hi, we need better forecasts": straight
            # on to the form, which keeps the need; a visitor the bot already knows: welcomed back
            if not knows_anything(tracker.current_slot_values()):
                text = (tracker.latest_message or {}).get("text") or ""
                if not (parsing.mentions_need(text) or reading.tells_facts):
                    dispatcher.utter_message(response="utter_greet")
                    return []
            else:
                dispatcher.utter_message(response="utter_welcome_back")
        return lead_on_events(dispatcher, tracker)
