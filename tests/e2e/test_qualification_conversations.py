"""Whole qualification conversations through the consumer, the real Rasa server (trained on the repo's
bot data) and the real action endpoint. Each asserts what the visitor saw and what the Lead stored."""

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest
import yaml
from channels.db import database_sync_to_async

from chatbot.models import Conversation
from qualification.models import Lead
from tests.e2e.chat import Chat

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A question is asked when any of its wordings in the domain is (the NLG words a re-ask differently).
ASK_ROLE = "role"
ASK_COMPANY = "company_name"
ASK_SIZE = "company_size"
ASK_TIMELINE = "timeline"
ASK_BUDGET = "budget"
ASK_EMAIL = "email"
ALL_QUESTIONS = (ASK_ROLE, ASK_COMPANY, ASK_SIZE, ASK_TIMELINE, ASK_BUDGET, ASK_EMAIL)


@database_sync_to_async
def lead_of(chat: Chat) -> Lead:
    return Lead.objects.get(conversation__public_id=chat.conversation_id)


@database_sync_to_async
def conversation_of(chat: Chat) -> Conversation:
    return Conversation.objects.get(public_id=chat.conversation_id)


async def slots_of(chat: Chat, servers) -> dict:
    def fetch():
        url = servers.rasa_api(f"/conversations/{chat.conversation_id}/tracker")
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["slots"]

    return await asyncio.to_thread(fetch)


def wordings(response: str) -> list[str]:
    for path in sorted((ROOT / "chatbot/bot/domain").glob("*.yml")):
        variations = (yaml.safe_load(path.read_text()).get("responses") or {}).get(response)
        if variations:
            return [v["text"] for v in variations]
    raise KeyError(response)


def asks(reply: str, slot: str) -> bool:
    return any(text.lower() in reply.lower() for text in wordings(f"utter_ask_{slot}"))


async def test_one_message_with_several_facts_then_only_the_missing_questions(chat, rasa_settings):
    """Multi-fact first message; the bot never asks for what it already knows; a free-mail address is flagged."""
    transcript = [await chat.say_text("hi")]
    first = await chat.say_text("I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
    transcript.append(first)
    assert asks(first, ASK_EMAIL)
    # name and email come together; a free-mail address names no company, so the company is asked
    transcript.append(await chat.say_text("Dana Kim, dana.kim@gmail.com"))
    assert asks(transcript[-1], ASK_COMPANY)
    final = await chat.say_text("Globex")
    transcript.append(final)
    # 95 points qualify whatever the budget: the question is left out
    assert "everything I need" in final and not asks(final, ASK_BUDGET)  # then the booking offer
    assert len(final.splitlines()) >= 2
    joined = "\n".join(transcript).lower()
    for known in (ASK_ROLE, ASK_SIZE, ASK_TIMELINE):
        assert known.lower() not in joined, f"asked again: {known}"

    lead = await lead_of(chat)
    assert (lead.role, lead.authority, lead.company_size, lead.industry) == (
        "VP of Sales",
        "decision_maker",
        300,
        "fintech",
    )
    assert lead.use_case == "forecasting" and "forecasting" in lead.need_text
    assert lead.buying_stage in {"immediate", "active"} and lead.timeline_months is not None
    assert (lead.company_name, lead.budget, lead.name) == ("Globex", "", "Dana Kim")
    assert (lead.email, lead.email_flag) == ("dana.kim@gmail.com", "free_mail")
    assert lead.outcome == Lead.Outcome.QUALIFIED and lead.decided_at is not None
    assert (await slots_of(chat, rasa_settings))["qualification_outcome"] == "qualified"


async def test_a_correction_updates_the_stored_fact(chat, rasa_settings):
    assert asks(await chat.say_text("we want to know which deals will actually close"), ASK_ROLE)
    assert asks(await chat.say_text("I'm the CRO"), ASK_EMAIL)
    assert asks(await chat.say_text("dana@acmecorp.com"), ASK_SIZE)  # the work email names the company
    assert asks(await chat.say_text("about 200 people"), ASK_TIMELINE)
    assert (await lead_of(chat)).company_size == 200
    # Volunteered while another question is open: updates the fact, re-asks the open question.
    assert asks(await chat.say_text("actually we're 500 people"), ASK_TIMELINE)
    lead = await lead_of(chat)
    assert lead.company_size == 500 and lead.raw["company_size"] == "actually we're 500 people"
    assert lead.use_case == "deal_scoring" and lead.authority == "decision_maker"


async def test_faq_and_why_do_you_ask_mid_form_then_it_resumes_without_re_asking(chat, rasa_settings):
    assert asks(await chat.say_text("our pipeline reporting is a mess"), ASK_ROLE)
    assert asks(await chat.say_text("head of revenue operations"), ASK_EMAIL)
    assert asks(await chat.say_text("rita.ops@gmail.com"), ASK_COMPANY)
    pricing = await chat.say_text("how much does it cost?")
    assert "$49" in pricing and asks(pricing, ASK_COMPANY)
    why = await chat.say_text("why do you need to know that?")
    assert "look at your setup" in why and asks(why, ASK_COMPANY)
    integrations = await chat.say_text("do you integrate with Salesforce?")
    assert "Salesforce" in integrations and asks(integrations, ASK_COMPANY)
    assert asks(await chat.say_text("Initech"), ASK_SIZE)
    lead = await lead_of(chat)
    assert (lead.company_name, lead.role, lead.authority) == ("Initech", "head of revenue operations", "decision_maker")
    assert lead.use_case == "pipeline_analytics" and lead.outcome == Lead.Outcome.INCOMPLETE


async def test_two_misses_in_a_row_offer_email_or_a_person(chat, rasa_settings):
    assert asks(await chat.say_text("we need better revenue forecasting"), ASK_ROLE)
    first = await chat.say("what's the weather like in Paris today?")
    assert asks(first[-1]["text"], ASK_ROLE)
    assert not any(b["payload"] == "/request_human" for frame in first for b in frame.get("buttons") or [])
    second = await chat.say("qwxz blorf zzkt vrrp")
    payloads = {b["payload"] for frame in second for b in frame.get("buttons") or []}
    assert {"/request_email_followup", "/request_human"} <= payloads
    assert "email" in second[0]["text"] and "person" in second[0]["text"]
    # Taking the email route narrows the form to the address, then thanks and closes.
    by_email = await chat.say_text("/request_email_followup")
    assert "continue by email" in by_email and asks(by_email, ASK_EMAIL)
    done = await chat.say_text("sam@northwind-customer.com")
    assert "sam@northwind-customer.com" in done
    lead = await lead_of(chat)
    assert lead.consent_email_followup is True and lead.email == "sam@northwind-customer.com"
    assert lead.outcome == Lead.Outcome.INCOMPLETE
    assert (await slots_of(chat, rasa_settings))["qualification_outcome"] == "incomplete"


async def test_declining_one_question_skips_it_and_stop_keeps_the_facts_and_closes(chat, rasa_settings):
    assert asks(await chat.say_text("we need a forecasting tool"), ASK_ROLE)
    assert asks(await chat.say_text("sales director"), ASK_EMAIL)
    # declining one question skips it (issue 11); "stop" is what ends the chat
    skipped = await chat.say_text("I'd rather not say")
    assert asks(skipped, ASK_COMPANY) and not asks(skipped, ASK_EMAIL)
    bye = await chat.say_text("stop, I don't have time for this now")
    assert "kept what you told me" in bye and not any(asks(bye, q) for q in ALL_QUESTIONS)
    lead = await lead_of(chat)
    assert (lead.role, lead.authority, lead.need_text) == (
        "sales director",
        "decision_maker",
        "we need a forecasting tool",
    )
    assert lead.outcome == Lead.Outcome.INCOMPLETE and lead.decided_at is None
    assert (await slots_of(chat, rasa_settings))["qualification_outcome"] == "incomplete"


async def test_asking_for_a_person_flags_the_conversation_and_offers_meeting_or_email(chat, rasa_settings):
    assert asks(await chat.say_text("we need better deal scoring"), ASK_ROLE)
    frames = await chat.say("can I talk to a person?")
    assert "let our team know" in frames[0]["text"]
    assert {b["payload"] for b in frames[0]["buttons"]} == {"/request_demo", "/request_email_followup"}
    assert (await conversation_of(chat)).handoff_requested is True
    assert (await lead_of(chat)).use_case == "deal_scoring"


async def test_demo_request_first_then_a_qualified_visitor_gets_the_booking_offer(chat, rasa_settings):
    demo = await chat.say_text("can I book a demo?")
    assert "A few quick questions first" in demo and asks(demo, "need")
    assert asks(await chat.say_text("our forecasts are always wrong and the board is unhappy"), ASK_ROLE)
    assert asks(await chat.say_text("I'm the CFO"), ASK_EMAIL)
    assert asks(await chat.say_text("Bruce, bruce@wayne-enterprises.com"), ASK_SIZE)
    assert asks(await chat.say_text("a few thousand"), ASK_TIMELINE)
    final = await chat.say("in 2 months, and we have about $50k a year for it")
    assert len(final) >= 2 and "everything I need" in final[0]["text"]  # then the booking offer
    lead = await lead_of(chat)
    assert (lead.company_size, lead.buying_stage, lead.timeline_months) == (3000, "active", 2)
    assert (lead.budget, lead.budget_amount, lead.email_flag) == ("range", 50000, "")
    assert lead.outcome == Lead.Outcome.QUALIFIED and lead.score >= 50
    slots = await slots_of(chat, rasa_settings)
    assert slots["qualification_outcome"] == "qualified" and slots["demo_requested"] is True


async def test_just_exploring_is_nurtured_with_consent(chat, rasa_settings):
    assert asks(await chat.say_text("I'm curious about pipeline analytics"), ASK_ROLE)
    assert asks(await chat.say_text("VP Sales"), ASK_EMAIL)
    assert asks(await chat.say_text("Gavin, gavin@hooli.com"), ASK_SIZE)
    assert asks(await chat.say_text("around 800"), ASK_TIMELINE)
    offer = await chat.say("just exploring for now")  # nurture whatever the budget
    assert "send you" in offer[-1]["text"] and {b["payload"] for b in offer[-1]["buttons"]} == {"/affirm", "/deny"}
    assert "on their way" in await chat.say_text("yes please")
    lead = await lead_of(chat)
    assert (lead.buying_stage, lead.timeline_months, lead.budget, lead.name) == ("browsing", None, "", "Gavin")
    assert lead.outcome == Lead.Outcome.NURTURE and lead.consent_email_followup is True
    assert (await slots_of(chat, rasa_settings))["qualification_outcome"] == "nurture"


async def test_a_student_is_decided_at_once_with_a_useful_exit(chat, rasa_settings):
    reply = await chat.say_text("I'm a student doing research on sales forecasting for my thesis")
    assert "northwind.example/docs" in reply and not any(asks(reply, q) for q in ALL_QUESTIONS)
    lead = await lead_of(chat)
    assert (lead.visitor_type, lead.authority, lead.outcome) == ("student", "student", Lead.Outcome.DISQUALIFIED)
    assert any(r["knockout"] for r in lead.reasons)


async def test_a_job_seeker_gets_the_careers_page(chat, rasa_settings):
    reply = await chat.say_text("are you hiring? I'd love to join your sales team")
    assert "careers" in reply and not any(asks(reply, q) for q in ALL_QUESTIONS)
    lead = await lead_of(chat)
    assert (lead.visitor_type, lead.outcome) == ("job_seeker", Lead.Outcome.DISQUALIFIED)


async def test_a_vendor_pitch_gets_the_partnerships_address(chat, rasa_settings):
    reply = await chat.say_text("hi, we offer SEO services and would love to help you get more traffic")
    assert "partners@northwind.example" in reply
    lead = await lead_of(chat)
    assert (lead.visitor_type, lead.outcome) == ("vendor", Lead.Outcome.DISQUALIFIED)


async def test_a_one_person_company_is_too_small(chat, rasa_settings):
    assert asks(await chat.say_text("I need help forecasting my revenue"), ASK_ROLE)
    assert asks(await chat.say_text("founder"), ASK_EMAIL)
    assert asks(await chat.say_text("dana@brightsideadvisory.com"), ASK_SIZE)
    reply = await chat.say_text("just me")
    assert "10 or more" in reply and not any(asks(reply, q) for q in ALL_QUESTIONS)
    lead = await lead_of(chat)
    assert (lead.company_size, lead.raw["company_size"], lead.outcome) == (1, "just me", Lead.Outcome.DISQUALIFIED)
    assert lead.timeline_months is None  # never asked: decided early
