"""The qualification actions on hand-built trackers: what they store, which events they return,
and what the visitor is told."""

import importlib

import pytest
from django.apps import apps as django_apps
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from qualification import actions
from qualification.models import Lead
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)
FORM = "qualification_form"
ALL_FACTS = {
    "need": "our forecasts are always wrong",
    "role": "VP of Sales",
    "company_name": "Acme",
    "company_size": 300.0,
    "timeline": "this quarter",
    "budget": "has_budget",
    "name": "Dana Kim",
    "email": "dana@acme.io",
}


@pytest.fixture
def default_rules(transactional_db):
    """The shipped rule set (its data migration's rows are flushed between transactional tests)."""
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)


@pytest.fixture
def conversation(transactional_db):
    return ConversationFactory()


def tracker(
    conversation,
    text="",
    intent="inform",
    *,
    requested=None,
    slots=None,
    entities=None,
    active=True,
    previous_action="action_listen",
):
    events = [{"event": "action", "name": previous_action}]
    if active:
        events.append({"event": "action", "name": FORM})
    return Tracker(
        sender_id=str(conversation.public_id),
        slots={"requested_slot": requested, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
        },
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": FORM} if active else {},
        latest_action_name=FORM if active else previous_action,
    )


async def run(action, tr):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tr, {})
    return events, [m.get("response") or m.get("text") for m in dispatcher.messages]


def lead_of(conversation) -> Lead:
    return Lead.objects.get(conversation=conversation)


def slot_events(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


validate = actions.ValidateQualificationForm()


async def test_a_multi_fact_message_fills_every_fact_and_asks_only_what_is_missing(conversation, default_rules):
    text = "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter"
    events, said = await run(validate, tracker(conversation, text, "describe_need", active=False))
    slots = slot_events(events)
    assert slots["role"] == "VP of Sales" and slots["authority"] == "decision_maker"
    assert slots["company_size"] == 300.0 and slots["industry"] == "fintech"
    assert slots["buying_stage"] in {"immediate", "active"} and slots["use_case"] == "forecasting"
    assert slots["requested_slot"] == "email"  # need, role, size, timeline are known; the email names the company
    assert said == ["utter_ack_facts"]  # "Got it: VP of Sales, about 300 people." before the next question
    lead = await actions.db(lead_of)(conversation)
    assert (lead.role, lead.authority, lead.company_size, lead.industry) == (
        "VP of Sales",
        "decision_maker",
        300,
        "fintech",
    )
    assert lead.need_text == text and lead.raw["company_size"] == text and lead.visitor_type == "prospect"


async def test_company_size_answer_is_normalised_and_the_raw_range_kept(conversation, default_rules):
    events, _ = await run(
        validate, tracker(conversation, "50-100", requested="company_size", slots={"need": "x", "role": "CRO"})
    )
    assert slot_events(events)["company_size"] == 75.0
    lead = await actions.db(lead_of)(conversation)
    assert lead.company_size == 75 and lead.raw["company_size"] == "50-100"


async def test_a_correction_updates_the_fact(conversation, default_rules):
    known = {**ALL_FACTS, "email": None, "company_size": 200.0}
    events, _ = await run(validate, tracker(conversation, "actually we're 500 people", requested="email", slots=known))
    assert slot_events(events)["company_size"] == 500.0
    assert slot_events(events)["requested_slot"] == "email"


async def test_timeline_answer_sets_months_and_stage(conversation, default_rules):
    events, _ = await run(
        validate, tracker(conversation, "in 3 months", requested="timeline", slots={"need": "x", "role": "CRO"})
    )
    assert slot_events(events)["buying_stage"] == "active"
    lead = await actions.db(lead_of)(conversation)
    assert (lead.timeline_months, lead.buying_stage, lead.raw["timeline"]) == (3, "active", "in 3 months")


async def test_yes_to_the_budget_question_is_an_answer_not_a_digression(conversation, default_rules):
    events, _ = await run(validate, tracker(conversation, "yes", "affirm", requested="budget", slots={"need": "x"}))
    assert slot_events(events)["budget"] == "has_budget"


async def test_a_free_mail_address_is_kept_and_flagged(conversation, default_rules):
    events, said = await run(
        validate, tracker(conversation, "dana.kim@gmail.com", requested="email", slots={**ALL_FACTS, "email": None})
    )
    assert slot_events(events)["email"] == "dana.kim@gmail.com" and slot_events(events)["requested_slot"] is None
    lead = await actions.db(lead_of)(conversation)
    assert (lead.email, lead.email_flag) == ("dana.kim@gmail.com", "free_mail")


async def test_an_invalid_email_is_rejected_with_a_hint(conversation, default_rules):
    events, said = await run(
        validate, tracker(conversation, "dana at acme", requested="email", slots={**ALL_FACTS, "email": None})
    )
    assert said == ["utter_invalid_email"]
    assert "email" not in slot_events(events) and slot_events(events)["requested_slot"] == "email"
    assert slot_events(events)["off_topic_streak"] == 1.0


async def test_an_unusable_answer_is_re_asked_and_the_second_miss_offers_email_or_a_person(conversation, default_rules):
    known = {"need": "x", "role": "CRO", "email": "cro@acme.example", "company_name": "Acme"}
    first, said = await run(validate, tracker(conversation, "hmm whatever", requested="company_size", slots=known))
    assert said == ["utter_didnt_get"] and slot_events(first)["requested_slot"] == "company_size"
    second, said = await run(
        validate,
        tracker(conversation, "blah", requested="company_size", slots={**known, "off_topic_streak": 1.0}),
    )
    assert said == ["utter_offer_email_or_person"] and slot_events(second)["off_topic_streak"] == 2.0


async def test_a_digression_is_rejected_then_the_form_resumes_with_the_same_question(conversation, default_rules):
    known = {"need": "x", "role": "CRO", "email": "cro@acme.example", "company_name": "Acme"}
    events, said = await run(
        validate, tracker(conversation, "how much does it cost?", "faq_pricing", requested="company_size", slots=known)
    )
    assert events == [] and said == []  # the form rejects, a rule answers the question
    resumed, said = await run(
        validate,
        tracker(
            conversation,
            "how much does it cost?",
            "faq_pricing",
            requested="company_size",
            slots=known,
            previous_action="utter_faq_pricing",
        ),
    )
    assert resumed == [SlotSet("requested_slot", "company_size")] and said == []


async def test_a_short_answer_read_as_yes_or_noise_is_taken_as_the_company(conversation, default_rules):
    known = {"need": "x", "role": "founder"}
    events, said = await run(
        validate, tracker(conversation, "Brightside Advisory", "affirm", requested="company_name", slots=known)
    )
    assert slot_events(events)["company_name"] == "Brightside Advisory" and said == []


async def test_gibberish_is_not_a_job_title(conversation, default_rules):
    events, said = await run(
        validate, tracker(conversation, "qwxz blorf zzkt vrrp", requested="role", slots={"need": "x"})
    )
    assert "role" not in slot_events(events) and said == ["utter_didnt_get"]
    rejected, _ = await run(
        validate, tracker(conversation, "qwxz blorf", "nlu_fallback", requested="role", slots={"need": "x"})
    )
    assert rejected == []  # not an answer: the off-topic rule takes it


async def test_a_student_ends_the_form_at_once(conversation, default_rules):
    events, _ = await run(validate, tracker(conversation, "I'm a student doing research", active=False))
    assert slot_events(events)["visitor_type"] == "student"
    assert slot_events(events)["requested_slot"] is None


async def test_too_small_is_a_knockout_from_the_scoring_rules(conversation, default_rules):
    events, _ = await run(
        validate, tracker(conversation, "just me", requested="company_size", slots={"need": "x", "role": "founder"})
    )
    assert slot_events(events)["company_size"] == 1.0 and slot_events(events)["requested_slot"] is None


async def test_a_demo_request_mid_form_is_noted_and_the_form_continues(conversation, default_rules):
    events, said = await run(
        validate, tracker(conversation, "can I book a demo?", "request_demo", requested="role", slots={"need": "x"})
    )
    assert said == ["utter_demo_noted"]
    assert slot_events(events)["demo_requested"] is True and slot_events(events)["requested_slot"] == "role"


async def test_decide_qualifies_a_good_lead(conversation, default_rules):
    await run(validate, tracker(conversation, "I'm VP of Sales at Acme, 300 people, buying this quarter", active=False))
    events, said = await run(actions.ActionQualificationDecide(), tracker(conversation, slots=ALL_FACTS, active=False))
    assert SlotSet("qualification_outcome", "qualified") in events and said == ["utter_qualified_intro"]
    lead = await actions.db(lead_of)(conversation)
    assert lead.outcome == Lead.Outcome.QUALIFIED and lead.decided_at is not None and lead.reasons


async def test_decide_nurtures_a_late_buyer_and_asks_for_consent(conversation, default_rules):
    await run(validate, tracker(conversation, "I'm the CRO, 300 people, maybe next year", active=False))
    events, said = await run(actions.ActionQualificationDecide(), tracker(conversation, slots=ALL_FACTS, active=False))
    assert SlotSet("qualification_outcome", "nurture") in events and SlotSet("awaiting_consent", True) in events
    assert said == ["utter_nurture_offer"]
    consent, said = await run(
        actions.ActionRecordFollowupConsent(), tracker(conversation, "yes please", "affirm", active=False)
    )
    assert said == ["utter_consent_thanks"] and consent == [SlotSet("awaiting_consent", False)]
    assert (await actions.db(lead_of)(conversation)).consent_email_followup is True


@pytest.mark.parametrize(
    ("text", "intent", "response"),
    [
        ("I'm a student doing research", "inform", "utter_disqualified_student"),
        ("are you hiring?", "job_seeking", "utter_disqualified_job_seeker"),
        ("we offer SEO services", "vendor_pitch", "utter_disqualified_vendor"),
        ("we're already a customer and need better forecasting", "describe_need", "utter_disqualified_customer"),
    ],
)
async def test_decide_gives_each_knockout_a_useful_exit(conversation, default_rules, text, intent, response):
    await run(validate, tracker(conversation, text, intent, active=False))
    events, said = await run(actions.ActionQualificationDecide(), tracker(conversation, active=False))
    assert SlotSet("qualification_outcome", "disqualified") in events and said == [response]


async def test_decide_with_facts_missing_is_incomplete_without_scoring(conversation, default_rules):
    events, said = await run(
        actions.ActionQualificationDecide(), tracker(conversation, slots={"need": "x"}, active=False)
    )
    assert SlotSet("qualification_outcome", "incomplete") in events and said == ["utter_incomplete"]
    lead = await actions.db(lead_of)(conversation)
    assert lead.outcome == Lead.Outcome.INCOMPLETE and lead.decided_at is None


async def test_stop_ends_the_form_and_keeps_the_facts(conversation, default_rules):
    await run(validate, tracker(conversation, "I'm the CRO", requested="role", slots={"need": "x"}))
    events, said = await run(
        actions.ActionQualificationStop(), tracker(conversation, "I'd rather not say", "stop", requested="company_name")
    )
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("qualification_outcome", "incomplete"),
    ]
    assert said == ["utter_stop_ack"]
    assert (await actions.db(lead_of)(conversation)).role == "CRO"


@pytest.mark.parametrize(
    ("requested", "response"), [("company_size", "utter_why_company_size"), (None, "utter_why_generic")]
)
async def test_why_do_you_ask_explains_the_open_question(conversation, requested, response):
    _, said = await run(actions.ActionExplainWhy(), tracker(conversation, "why?", "why_ask", requested=requested))
    assert said == [response]


async def test_email_follow_up_records_consent_and_narrows_the_form_to_the_address(conversation, default_rules):
    events, said = await run(
        actions.ActionFollowupByEmail(), tracker(conversation, "just email me", "request_email_followup")
    )
    assert SlotSet("continue_by_email", True) in events and said == ["utter_followup_ok"]
    assert (await actions.db(lead_of)(conversation)).consent_email_followup is True
    resumed, _ = await run(
        validate,
        tracker(
            conversation,
            "just email me",
            "request_email_followup",
            requested="role",
            slots={"need": "x", "continue_by_email": True},
            previous_action="action_followup_by_email",
        ),
    )
    assert resumed[-1] == SlotSet("requested_slot", "email")


# ---- dialogue invariants (issue 11)


def bot_turns(*responses_per_turn):
    """Tracker events for earlier turns: a visitor message, then the responses the bot said."""
    events = []
    for responses in responses_per_turn:
        events.append({"event": "user", "text": "…"})
        events += [{"event": "bot", "text": name, "metadata": {"utter_action": name}} for name in responses]
    return events


def with_history(tr, history):
    tr.events = history + [{"event": "user", "text": tr.latest_message["text"]}] + tr.events
    return tr


async def test_i_d_rather_not_say_skips_that_one_question_and_goes_on(conversation, default_rules):
    events, said = await run(
        validate,
        tracker(
            conversation,
            "I'd rather not say",
            "decline_answer",
            requested="company_size",
            slots=ALL_FACTS | {"company_size": None, "timeline": None},
        ),
    )

    assert slot_events(events)["declined"] == ["company_size"]
    assert slot_events(events)["requested_slot"] == "timeline"
    assert said == ["utter_skip_ack"]


async def test_a_declined_question_is_never_asked_again(conversation, default_rules):
    slots = ALL_FACTS | {"company_size": None, "declined": ["company_size"]}
    events, _ = await run(
        validate,
        tracker(conversation, "sure", "affirm", requested="budget", slots=slots, previous_action="utter_faq_pricing"),
    )

    assert slot_events(events)["requested_slot"] is None


async def test_a_full_name_the_nlu_read_as_stop_is_taken_as_the_name(conversation, default_rules):
    events, _ = await run(validate, tracker(conversation, "Priya Raman-Shah", "stop", requested="name"))

    assert slot_events(events)["name"] == "Priya Raman-Shah"
    assert (await Lead.objects.aget(conversation=conversation)).name == "Priya Raman-Shah"


async def test_a_short_name_the_nlu_read_as_a_job_seeker_does_not_disqualify(conversation, default_rules):
    events, _ = await run(validate, tracker(conversation, "Sam", "job_seeking", requested="name", slots={"need": "x"}))

    assert slot_events(events)["name"] == "Sam"
    assert (await Lead.objects.aget(conversation=conversation)).visitor_type != Lead.VisitorType.JOB_SEEKER


async def test_a_finance_title_is_taken_as_the_role(conversation, default_rules):
    events, _ = await run(
        validate, tracker(conversation, "Controller", "nlu_fallback", requested="role", slots={"need": "x"})
    )

    assert slot_events(events)["role"] == "Controller"


async def test_a_knockout_marketing_switched_off_no_longer_stops_the_form(conversation, default_rules):
    from qualification.models import QualificationRule

    await QualificationRule.objects.filter(field="visitor_type", value="job_seeker").aupdate(active=False)
    events, _ = await run(
        validate, tracker(conversation, "I'm looking for a job in your sales team", "job_seeking", active=False)
    )

    assert slot_events(events)["visitor_type"] == "job_seeker"
    assert slot_events(events)["requested_slot"] is not None  # no rule knocks job seekers out: keep qualifying


async def test_an_exit_said_twice_in_a_row_closes_politely_instead(conversation, default_rules):
    decide = actions.ActionQualificationDecide()
    slots = {"visitor_type": "job_seeker", "qualification_outcome": "disqualified"}
    await Lead.objects.acreate(conversation=conversation, visitor_type="job_seeker")
    exit_ = "utter_disqualified_job_seeker"

    _, once_more = await run(
        decide,
        with_history(tracker(conversation, "any jobs?", "job_seeking", slots=slots, active=False), bot_turns([exit_])),
    )
    _, third = await run(
        decide,
        with_history(
            tracker(conversation, "pls", "job_seeking", slots=slots, active=False), bot_turns([exit_], [exit_])
        ),
    )

    assert once_more == [exit_]  # the NLG words it differently the second time
    assert third == ["utter_closing"]


async def test_an_email_typed_as_the_answer_to_the_resources_offer_is_a_yes_to_that_address(
    conversation, default_rules
):
    consent = actions.ActionRecordFollowupConsent()
    events, said = await run(
        consent,
        tracker(conversation, "ok, ronan@brightline.io", "inform", slots={"awaiting_consent": True}, active=False),
    )

    lead = await Lead.objects.aget(conversation=conversation)
    assert said == ["utter_consent_thanks"]
    assert lead.consent_email_followup is True and lead.email == "ronan@brightline.io"
    assert slot_events(events)["email"] == "ronan@brightline.io"


async def test_a_correction_answering_the_resources_offer_is_taken_as_a_correction_not_a_no(
    conversation, default_rules
):
    """Whatever the NLU calls it ("deny", "affirm"), a message that puts a known fact right goes to the
    form, which decides again; the offer is neither accepted nor declined by it."""
    known = {**ALL_FACTS, "timeline": "next year", "awaiting_consent": True}
    text = "wait, scratch what I said on timing, we need this live this quarter"
    for intent in ("deny", "affirm"):
        events, said = await run(
            actions.ActionRecordFollowupConsent(), tracker(conversation, text, intent, slots=known, active=False)
        )
        assert events == [SlotSet("awaiting_consent", False), FollowupAction(actions.FORM)] and said == []
    lead = await Lead.objects.filter(conversation=conversation).afirst()
    assert lead is None or lead.consent_email_followup is False

    # A plain "no thanks" is still a no.
    _, said = await run(
        actions.ActionRecordFollowupConsent(), tracker(conversation, "no thanks", "deny", slots=known, active=False)
    )
    assert said == ["utter_consent_declined"]


async def test_leading_on_after_a_digression(conversation, default_rules):
    lead_on = actions.ActionLeadOn()

    fresh, fresh_said = await run(lead_on, tracker(conversation, "hi", "greet", active=False))
    back, back_said = await run(
        lead_on, tracker(conversation, "hello again", "greet", slots={"need": "forecasting"}, active=False)
    )
    answered, _ = await run(lead_on, tracker(conversation, "how much is it", "faq_pricing", active=False))
    qualified, _ = await run(
        lead_on, tracker(conversation, "ok", "affirm", slots={"qualification_outcome": "qualified"}, active=False)
    )
    nurtured, nurtured_said = await run(
        lead_on, tracker(conversation, "ok", "affirm", slots={"qualification_outcome": "nurture"}, active=False)
    )

    assert fresh_said == ["utter_greet"] and fresh == []
    assert back_said == ["utter_welcome_back"] and back[-1]["name"] == FORM  # resumes, does not restart
    question, question_said = await run(
        lead_on, tracker(conversation, "hi, question about your company", "greet", active=False)
    )
    assert question_said == ["utter_greet"] and question == []  # first visit: greeted, not "welcome back"
    need, need_said = await run(lead_on, tracker(conversation, "hi, we need better forecasts", "greet", active=False))
    assert need_said == [] and need[-1]["name"] == FORM  # straight on: the form keeps the need
    person, _ = await run(lead_on, tracker(conversation, "are you a bot? is there a live rep?", "bot_challenge"))
    assert person[-1]["name"] == "action_request_handoff"
    assert answered[-1] == {"event": "followup", "name": FORM, "timestamp": None}
    assert qualified[-1]["name"] == "action_offer_slots"
    assert nurtured_said == ["utter_anything_else"]


async def test_off_topic_outside_the_form_re_prompts_then_offers_email_or_a_person(conversation, default_rules):
    off_topic = actions.ActionQualificationOffTopic()

    _, first = await run(off_topic, tracker(conversation, "weather tomorrow?", "out_of_scope", active=False))
    _, second = await run(
        off_topic,
        tracker(conversation, "recipe for lasagna", "out_of_scope", slots={"off_topic_streak": 1.0}, active=False),
    )

    assert first == ["utter_out_of_scope"]
    assert second == ["utter_offer_email_or_person"]


async def test_an_answer_that_reads_as_the_asked_fact_is_taken_whatever_the_nlu_said(conversation, default_rules):
    events, _ = await run(
        validate, tracker(conversation, "Not sure, procurement handles that side.", "out_of_scope", requested="budget")
    )

    assert slot_events(events)["budget"] == "not_sure"


async def test_an_answer_unreadable_twice_is_kept_as_typed_and_not_asked_again(conversation, default_rules):
    slots = {"need": "x", "role": "CRO", "email": "cro@acme.example", "company_name": "Acme", "company_size": 300.0}
    text = "whenever the board signs off on it"
    first, first_said = await run(validate, tracker(conversation, text, requested="timeline", slots=slots))
    second, second_said = await run(
        validate,
        tracker(conversation, text, requested="timeline", slots={**slots, **slot_events(first)}),
    )

    assert slot_events(first)["requested_slot"] == "timeline" and first_said == ["utter_didnt_get"]
    assert second_said == ["utter_noted_as_written"]
    assert slot_events(second)["declined"] == ["timeline"] and slot_events(second)["requested_slot"] != "timeline"
    assert (await Lead.objects.aget(conversation=conversation)).raw["timeline"] == text


async def test_budget_is_not_asked_when_no_answer_could_change_the_decision(conversation, default_rules):
    facts = {
        "need_text": "x",
        "role": "VP Sales",
        "authority": "decision_maker",
        "company_name": "Acme",
        "company_size": 300,
        "buying_stage": "active",
        "timeline_months": 2,
    }
    await Lead.objects.acreate(conversation=conversation, **facts)
    slots = {"need": "x", "role": "VP Sales", "email": "vp@acme.example", "company_name": "Acme", "company_size": 300.0}
    events, _ = await run(validate, tracker(conversation, "this quarter", requested="timeline", slots=slots))

    assert slot_events(events)["requested_slot"] is None  # 95 points qualify with or without budget


async def test_budget_is_asked_when_it_can_tip_the_decision(conversation, default_rules):
    facts = {
        "need_text": "x",
        "role": "Sales Manager",
        "authority": "influencer",
        "company_name": "Acme",
        "company_size": 40,
        "buying_stage": "planning",
        "timeline_months": 5,
    }
    await Lead.objects.acreate(conversation=conversation, **facts)
    slots = {
        "need": "x",
        "role": "Sales Manager",
        "email": "sm@acme.example",
        "company_name": "Acme",
        "company_size": 40.0,
    }
    events, _ = await run(validate, tracker(conversation, "in 5 months", requested="timeline", slots=slots))

    assert slot_events(events)["requested_slot"] == "budget"  # 15 + 20 + 15 = 50: "no budget" makes it 40


async def test_a_work_email_names_the_company_so_the_company_question_is_skipped(conversation, default_rules):
    known = {"need": "x", "role": "CRO"}
    events, said = await run(
        validate, tracker(conversation, "Dana Kim, dana@mail.keswicktools.co.uk", requested="email", slots=known)
    )
    slots = slot_events(events)
    assert slots["company_name"] == "keswicktools.co.uk" and slots["requested_slot"] == "company_size"

    gmail, _ = await run(validate, tracker(conversation, "dana.kim@gmail.com", requested="email", slots=known))
    assert "company_name" not in slot_events(gmail) and slot_events(gmail)["requested_slot"] == "company_name"


async def test_facts_the_nlu_called_off_topic_start_the_form_instead_of_a_refusal(conversation, default_rules):
    off_topic = actions.ActionQualificationOffTopic()
    text = "hey im vp revenue operations at brightwell, 650ish ppl, forecasts are a mess"

    events, said = await run(off_topic, tracker(conversation, text, "out_of_scope", active=False))
    form_events, _ = await run(
        validate,
        tracker(conversation, text, "out_of_scope", active=False, previous_action="action_qualification_off_topic"),
    )

    assert said == [] and events == [{"event": "followup", "name": FORM, "timestamp": None}]
    assert (
        slot_events(form_events)["role"] == "vp revenue operations" and slot_events(form_events)["company_size"] == 650
    )


async def test_no_budget_right_now_is_a_budget_answer_not_stop(conversation, default_rules):
    events, _ = await run(validate, tracker(conversation, "no budget right now", "stop", requested="budget"))

    assert slot_events(events)["budget"] == "none"


async def test_an_answer_given_is_not_overwritten_in_passing_but_a_correction_is(conversation, default_rules):
    slots = {
        "need": "x",
        "role": "Founder",
        "company_name": "Quillbyte",
        "company_size": 12.0,
        "timeline": "in 5 months",
    }
    in_passing, _ = await run(
        validate, tracker(conversation, "no budget right now, maybe in 2 months", requested="budget", slots=slots)
    )
    corrected, _ = await run(
        validate, tracker(conversation, "actually we need it within 2 months", requested="budget", slots=slots)
    )

    assert slot_events(in_passing)["budget"] == "none" and "timeline" not in slot_events(in_passing)
    assert slot_events(corrected)["timeline"] == "actually we need it within 2 months"


async def test_a_company_named_in_a_longer_reply_is_the_answer_whatever_the_nlu_said(conversation, default_rules):
    text = "We're Saltmarsh Outdoor, we make camping gear for retailers."
    events, _ = await run(
        validate, tracker(conversation, text, "out_of_scope", requested="company_name", slots={"need": "x"})
    )

    assert slot_events(events)["company_name"] == "Saltmarsh Outdoor"


async def test_a_person_asked_for_among_facts_flags_the_handoff_and_keeps_the_facts(conversation, default_rules):
    text = "I'm the CFO at Dunmore Health, ~900 people. Can I just talk to a human please?"
    events, said = await run(validate, tracker(conversation, text, "inform", active=False))

    await conversation.arefresh_from_db()
    assert conversation.handoff_requested is True
    assert said[0] == "utter_handoff_noted" and slot_events(events)["role"] == "CFO"
