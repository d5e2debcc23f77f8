"""The dialogue holds up on what visitors really type (issue 11): each test is one defect a
visitor met, played through the consumer, the real Rasa server and the real action endpoint.

Invariants: no message twice in a row, every turn leaves something to answer, nothing asked
twice, one question can be declined, an answer to the question asked is taken as that answer.
"""

import pytest
from channels.db import database_sync_to_async

from chatbot.models import Conversation
from qualification.models import Lead, QualificationRule
from tests.e2e.chat import Chat
from tests.e2e.test_qualification_conversations import (
    ASK_COMPANY,
    ASK_EMAIL,
    ASK_ROLE,
    ASK_SIZE,
    ASK_TIMELINE,
    asks,
    lead_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Transcript:
    """Every bot message of a chat, to check the invariants across turns."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.bot: list[dict] = []

    async def say(self, text: str) -> list[dict]:
        frames = await self.chat.say(text)
        self.bot += frames
        return frames

    async def say_text(self, text: str) -> str:
        return "\n".join(frame["text"] for frame in await self.say(text))

    def repeats(self) -> list[str]:
        return [b["text"] for a, b in zip(self.bot, self.bot[1:], strict=False) if a["text"] == b["text"]]


def leaves_something_to_answer(frames: list[dict]) -> bool:
    last = frames[-1]
    return "?" in last["text"] or bool(last.get("buttons"))


async def test_a_need_with_a_pricing_question_gets_the_price_and_the_next_question(chat):
    t = Transcript(chat)
    frames = await t.say("We want to qualify inbound visitors better. How much does it cost?")

    assert any("$49" in f["text"] for f in frames)
    assert leaves_something_to_answer(frames)
    assert "qualify inbound visitors" in (await lead_of(chat)).need_text


async def test_a_job_seeker_who_keeps_writing_never_gets_the_same_message_twice(chat):
    t = Transcript(chat)
    first = await t.say_text("Hi, are you hiring account executives? I'd love to apply")
    second = await t.say_text("I have five years of SaaS sales experience, can I send you my CV?")
    third = await t.say_text("please, I really want to work for you, where do I send my resume")

    assert "careers" in first
    assert second != first and third != second
    assert t.repeats() == []
    assert (await lead_of(chat)).visitor_type == Lead.VisitorType.JOB_SEEKER


async def test_asking_for_a_human_twice_is_answered_differently(chat):
    t = Transcript(chat)
    await t.say("we need better forecasting")
    once = await t.say_text("can I talk to a human?")
    twice = await t.say_text("no, I want a human")

    assert once != twice and t.repeats() == []


async def test_an_email_typed_after_the_resources_offer_is_a_yes(chat):
    t = Transcript(chat)
    for text in (
        "we're curious about pipeline analytics",
        "VP Sales",
        "Gavin, gavin@hooli.com",
        "around 800",
    ):
        await t.say(text)
    offer = await t.say("just exploring for now")
    assert {b["payload"] for b in offer[-1]["buttons"]} == {"/affirm", "/deny"}

    reply = await t.say_text("ok, ronan@hooli.com")

    lead = await lead_of(chat)
    assert lead.consent_email_followup is True and lead.email == "ronan@hooli.com"
    assert "send you" not in reply and t.repeats() == []


async def test_a_need_said_in_passing_is_not_asked_for_again(chat):
    t = Transcript(chat)
    reply = await t.say_text("our SDRs can't keep up with demo requests")

    assert not asks(reply, "need") and asks(reply, ASK_ROLE)
    assert (await lead_of(chat)).need_text


async def test_facts_in_an_answer_to_the_greeting_are_acknowledged_and_not_asked_again(chat):
    t = Transcript(chat)
    reply = await t.say_text("I'm VP of Sales at Northwind Traders, about 450 people")

    assert "Got it" in reply or "noted" in reply
    assert not any(asks(reply, slot) for slot in (ASK_ROLE, ASK_COMPANY, ASK_SIZE))
    lead = await lead_of(chat)
    assert (lead.role, lead.company_name, lead.company_size) == ("VP of Sales", "Northwind Traders", 450)


async def test_i_d_rather_not_say_skips_one_question_and_the_chat_goes_on(chat):
    t = Transcript(chat)
    for text in ("we need better revenue forecasting", "Head of Sales", "dana@initech.example"):
        await t.say(text)
    skipped = await t.say_text("I'd rather not say")
    later = await t.say_text("this quarter")

    assert asks(skipped, ASK_TIMELINE) and not asks(skipped, ASK_SIZE)
    assert not asks(later, ASK_SIZE) and "kept what you told me" not in skipped
    assert (await lead_of(chat)).outcome != Lead.Outcome.INCOMPLETE or not asks(later, ASK_SIZE)


async def test_a_full_name_is_taken_as_the_name_not_as_stop(chat):
    t = Transcript(chat)
    for text in ("our forecasts are always wrong", "CRO", "Globex", "about 300 people", "this quarter"):
        await t.say(text)
    reply = await t.say_text("Dana Kimberly Stopford")

    assert asks(reply, ASK_EMAIL) and "kept what you told me" not in reply
    assert (await lead_of(chat)).name == "Dana Kimberly Stopford"


async def test_a_knockout_marketing_switched_off_no_longer_ends_the_chat(chat):
    await database_sync_to_async(QualificationRule.objects.filter(field="visitor_type", value="job_seeker").update)(
        active=False
    )
    t = Transcript(chat)
    reply = await t.say_text("are you hiring? I'm looking for a job in sales")

    assert "careers" not in reply and leaves_something_to_answer(await t.say("Sales Development Rep"))


async def test_a_competitor_who_says_so_first_gets_the_competitor_exit(chat):
    t = Transcript(chat)
    reply = await t.say_text("Hi, I work for a competitor and wanted to see how your forecasting works")

    assert "northwind.example/docs" in reply
    assert (await lead_of(chat)).visitor_type == Lead.VisitorType.COMPETITOR


async def test_a_whole_title_is_stored_and_a_sales_team_is_not_the_company_size(chat):
    t = Transcript(chat)
    await t.say("we run a sales team of 40 reps and our forecasts are guesswork")
    await t.say("Senior Director, Inside Sales")
    after_email = await t.say_text("dana@contoso.example")

    lead = await lead_of(chat)
    assert lead.role == "Senior Director, Inside Sales"
    assert lead.company_size != 40 and asks(after_email, ASK_SIZE)


async def test_a_correction_while_another_question_is_open_puts_the_fact_right_and_goes_on(chat):
    t = Transcript(chat)
    await t.say("we need a simple way to forecast our pipeline")
    await t.say("co-founder")
    await t.say("ana@pebbleworks.example")  # the work email names the company
    await t.say("about 90 people")
    reply = await t.say_text("oops typo, we're 9 people not 90")

    lead = await lead_of(chat)
    assert lead.company_size == 9 and lead.outcome == Lead.Outcome.DISQUALIFIED  # marketing's size knockout
    assert "10 or more" in reply and t.repeats() == []


async def test_a_correction_after_the_decision_decides_again(chat):
    t = Transcript(chat)
    await t.say("we want to stop forecasting in excel")
    await t.say("Head of Sales Strategy")
    await t.say("sigrid@nordvikenergy.example")
    await t.say("1,100")
    await t.say("probably next year")
    assert (await lead_of(chat)).outcome == Lead.Outcome.NURTURE

    reply = await t.say("wait, scratch what I said on timing - we need this live this quarter")

    assert (await lead_of(chat)).outcome == Lead.Outcome.QUALIFIED
    assert leaves_something_to_answer(reply)  # times, or (no rep free here) the offer to find one by email


async def test_saying_who_you_are_while_declining_a_call_for_now_keeps_the_facts_and_asks_for_nobody(chat):
    t = Transcript(chat)
    await t.say("is there a free trial?")
    reply = await t.say_text(
        "got it. I'm director of sales at a 200-person company, wanted to try before talking to anyone"
    )

    lead = await lead_of(chat)
    conversation = await database_sync_to_async(lambda: lead.conversation)()
    assert (lead.role, lead.company_size) == ("director of sales", 200)
    assert not conversation.handoff_requested
    assert not asks(reply, ASK_ROLE) and not asks(reply, ASK_SIZE)


async def test_someone_who_makes_the_same_kind_of_software_is_a_competitor(chat):
    t = Transcript(chat)
    await t.say("I'm a PM at Dealcast, we make forecasting software too. Do you publish your enterprise pricing?")

    assert (await lead_of(chat)).visitor_type == Lead.VisitorType.COMPETITOR


async def test_asking_for_a_live_rep_once_times_are_offered_flags_the_handoff_and_offers_a_way_on(chat):
    t = Transcript(chat)
    await t.say("We need better deal scoring")
    await t.say("VP Sales")
    await t.say("anton@corriedalefoods.example")
    await t.say("600")
    await t.say("this quarter")
    assert (await lead_of(chat)).outcome == Lead.Outcome.QUALIFIED

    reply = await t.say("this is a lot of questions, is there a live rep I can talk to?")

    conversation = await database_sync_to_async(lambda: Conversation.objects.get(public_id=chat.conversation_id))()
    assert conversation.handoff_requested and leaves_something_to_answer(reply)
