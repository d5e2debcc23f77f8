"""Live handoff through the real Rasa server on the trained model.

- Take over records a pause in Rasa's tracker (its HTTP API, with the server's token); hand back
  records the resume, and the bot carries on with the question it had open.
- What the visitor told the rep reaches the bot's memory and the Lead at hand back: the bot asks only
  what is still missing. The rep's own words are not the visitor's facts.
- Never stranded: nobody takes the request within the site's wait, so the bot says so, and its
  "Book a meeting" button leads to offered meeting times.
"""

import asyncio
import importlib
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps as django_apps

from chatbot.live import notice_text
from chatbot.models import Conversation
from qualification import parsing
from qualification.models import Lead
from tests.e2e.chat import Chat
from tests.factories import SiteFactory, acreate
from tests.inbox.conftest import inbox_open, next_frame, next_message
from tests.scheduling.factories import SalesRepFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rasa_api(rasa_settings, settings):
    settings.RASA_API_TOKEN = rasa_settings.rasa_token
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
    return rasa_settings


def tracker(servers, conversation_id: str) -> dict:
    with urllib.request.urlopen(servers.rasa_api(f"/conversations/{conversation_id}/tracker"), timeout=10) as r:
        return json.load(r)


DOMAIN = Path(__file__).resolve().parents[2] / "chatbot/bot/domain"


def asks(reply: str, slot: str) -> bool:
    """Does the reply put the question for this slot (in any of its wordings)?"""
    for path in sorted(DOMAIN.glob("*.yml")):
        variations = (yaml.safe_load(path.read_text()).get("responses") or {}).get(f"utter_ask_{slot}")
        if variations:
            return any(v["text"].lower() in reply.lower() for v in variations)
    raise KeyError(slot)


async def visitor_says_to_rep(chat: Chat, inbox, text: str) -> None:
    chat.turn += 1
    await chat.communicator.send_json_to({"type": "message", "text": text, "id": f"held-{chat.turn}"})
    await next_message(inbox, text)  # the rep reads it; the bot does not


async def form_started(chat: Chat, servers) -> dict:
    """A demo request: the bot starts its questions with the need (nothing known yet)."""
    reply = await chat.say_text("Hi, can I get a demo of your product?")
    state = await asyncio.to_thread(tracker, servers, chat.conversation_id)
    assert state["active_loop"].get("name") == "qualification_form", reply
    assert state["slots"]["requested_slot"] == "need" and asks(reply, "need"), reply
    return state


@dataclass
class Desk:
    """A visitor's chat on a new site and Ana's inbox on it (the visitor in New York: times offered name it)."""

    chat: Chat
    inbox: WebsocketCommunicator
    inbox_open: bool = True

    async def take_over(self) -> None:
        await self.inbox.send_json_to({"type": "take_over", "conversation": self.chat.conversation_id})
        assert (await next_frame(self.chat.communicator, "mode"))["name"] == "Ana"

    async def hand_back(self) -> None:
        await self.inbox.send_json_to({"type": "hand_back", "conversation": self.chat.conversation_id})
        assert (await next_frame(self.chat.communicator, "mode"))["mode"] == "bot"

    async def inbox_close(self) -> None:
        self.inbox_open = False
        await self.inbox.disconnect()


@pytest.fixture
async def desk(rasa_api, rep_for):
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    chat = await Chat.open(site, timezone="America/New_York")
    inbox, _ = await inbox_open(ana)
    desk = Desk(chat, inbox)
    try:
        yield desk
    finally:
        if desk.inbox_open:
            await inbox.disconnect()
        await chat.close()


@pytest.fixture
async def held(desk, rasa_api):
    """The bot has started its questions (``form_started``), then Ana took the chat over."""
    await form_started(desk.chat, rasa_api)
    await desk.take_over()
    return desk


async def test_take_over_pauses_the_bot_and_hand_back_resumes_the_form(rasa_api, desk):
    chat, inbox = desk.chat, desk.inbox
    await chat.say_text("hi")
    asked = await chat.say_text("We need better pipeline forecasting for our sales team")
    slot_before = tracker(rasa_api, chat.conversation_id)["slots"].get("requested_slot")
    assert slot_before, asked  # the qualification form has a question open

    await desk.take_over()
    state = await asyncio.to_thread(tracker, rasa_api, chat.conversation_id)
    assert state["paused"] is True

    await chat.communicator.send_json_to({"type": "message", "text": "is anyone real here?", "id": "held-1"})
    await next_message(inbox, "is anyone real here?")
    assert await chat.communicator.receive_nothing(timeout=2)  # no bot, no "typing"

    await desk.hand_back()
    state = await asyncio.to_thread(tracker, rasa_api, chat.conversation_id)
    assert state["paused"] is False
    assert state["slots"].get("requested_slot") == slot_before  # nothing forgotten

    reply = await chat.say_text("Acme Analytics")
    assert reply  # the bot answers again, inside its form
    after = await asyncio.to_thread(tracker, rasa_api, chat.conversation_id)
    assert after["active_loop"].get("name") == state["active_loop"].get("name")


async def test_what_the_visitor_told_the_rep_is_not_asked_again(rasa_api, held):
    chat, inbox = held.chat, held.inbox
    await inbox.send_json_to(
        {"type": "message", "conversation": chat.conversation_id, "text": "Hi, Ana here. Who am I talking to?"}
    )
    await visitor_says_to_rep(chat, inbox, "I'm the CTO")
    await visitor_says_to_rep(chat, inbox, "We're about 300 people")
    await visitor_says_to_rep(chat, inbox, "We need better pipeline forecasting for our field sales team")

    await held.hand_back()
    state = await asyncio.to_thread(tracker, rasa_api, chat.conversation_id)
    assert state["paused"] is False
    slots = state["slots"]
    assert (slots["role"], slots["company_size"]) == ("CTO", 300.0)
    assert slots["need"] == "We need better pipeline forecasting for our field sales team"
    assert slots["requested_slot"] == "email"  # the next question still open, not the need
    lead = await Lead.objects.aget(conversation__public_id=chat.conversation_id)
    assert (lead.role, lead.authority, lead.company_size) == ("CTO", "decision_maker", 300)
    assert lead.need_text == slots["need"] and lead.use_case

    reply = await chat.say_text("Dana Kim, dana.kim@globex-fintech.com")
    assert not any(asks(reply, slot) for slot in ("need", "role", "company_size")), reply
    assert asks(reply, "timeline"), reply  # the company comes from the address; the size is known
    slots = (await asyncio.to_thread(tracker, rasa_api, chat.conversation_id))["slots"]
    assert slots["requested_slot"] == "timeline"
    assert (slots["role"], slots["company_size"], slots["email"]) == ("CTO", 300.0, "dana.kim@globex-fintech.com")


async def test_with_nothing_missing_the_bot_moves_on_to_meeting_times(rasa_api, held):
    chat = held.chat
    for text in (
        "We need better pipeline forecasting for our sales team",
        "I'm the VP of Sales at Globex, we're about 300 people",
        "my email is dana.kim@globex-fintech.com",
        "we want something in place this quarter",
        "the budget is approved, around $50k a year",
    ):
        await visitor_says_to_rep(chat, held.inbox, text)
    await held.hand_back()
    state = await asyncio.to_thread(tracker, rasa_api, chat.conversation_id)
    assert not state["active_loop"] and state["slots"]["requested_slot"] is None  # nothing left to ask
    assert state["slots"]["email"] == "dana.kim@globex-fintech.com" and state["slots"]["budget"]

    frames = await chat.say("ok")
    reply = "\n".join(f["text"] for f in frames)
    assert not any(asks(reply, slot) for slot in parsing.QUESTIONS), reply
    times = [b for f in frames for b in f.get("buttons") or [] if b["payload"].startswith("/choose_slot")]
    assert times and all(b["title"].endswith("New York time") for b in times), frames
    lead = await Lead.objects.aget(conversation__public_id=chat.conversation_id)
    assert lead.outcome == Lead.Outcome.QUALIFIED


async def test_a_released_hold_carries_what_the_visitor_told_the_rep(rasa_api, held, settings):
    settings.INBOX_RELEASE_SECONDS = 0.5
    chat = held.chat
    await visitor_says_to_rep(chat, held.inbox, "We need better pipeline forecasting, I'm the CFO")
    await held.inbox_close()  # the rep's last inbox tab closes: after the grace time the bot takes over
    assert (await next_frame(chat.communicator, "mode", timeout=10))["mode"] == "bot"
    slots = (await asyncio.to_thread(tracker, rasa_api, chat.conversation_id))["slots"]
    assert (slots["role"], slots["requested_slot"]) == ("CFO", "email")
    reply = await chat.say_text("dana.kim@globex-fintech.com")
    assert not any(asks(reply, slot) for slot in ("need", "role")), reply


async def test_the_reps_own_words_are_not_the_visitors_facts(rasa_api, held):
    chat, inbox = held.chat, held.inbox
    said = "I'm the VP of Sales here, we're about 40 people and we need better forecasting ourselves"
    await inbox.send_json_to({"type": "message", "conversation": chat.conversation_id, "text": said})
    await next_message(inbox, said)
    await visitor_says_to_rep(chat, inbox, "ok, thanks Ana")

    await held.hand_back()
    slots = (await asyncio.to_thread(tracker, rasa_api, chat.conversation_id))["slots"]
    assert (slots["role"], slots["company_size"], slots["need"]) == (None, None, None)
    assert slots["requested_slot"] == "need"
    lead = await Lead.objects.filter(conversation__public_id=chat.conversation_id).afirst()
    assert lead is None or (lead.role, lead.company_size, lead.need_text) == ("", None, "")


@database_sync_to_async
def wait_of(site, seconds):
    site.handoff_wait_seconds = seconds
    site.save(update_fields=["handoff_wait_seconds"])
    SalesRepFactory(name="Rita Rep", email="rita@northwind.example", min_notice_minutes=60)


async def test_nobody_comes_the_bot_says_so_and_offers_meeting_times(rasa_api):
    site = await acreate(SiteFactory)
    await wait_of(site, 2)
    chat = await Chat.open(site, timezone="America/New_York")
    try:
        await chat.say_text("hi")
        await chat.say_text("I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
        await chat.say("Can I talk to a real person please?")
        conversation = await Conversation.objects.aget(public_id=chat.conversation_id)
        assert conversation.handoff_requested_at is not None

        unanswered = await next_frame(chat.communicator, "bot", timeout=10)
        assert unanswered["text"] == notice_text("unanswered")
        book = next(b for b in unanswered["buttons"] if b["title"] == notice_text("unanswered_book"))
        await chat.communicator.receive_nothing(timeout=0.5)
        frames = await chat.say(book["payload"])
        for _ in range(3):  # the form asks what it still needs (here: who they are), then offers times
            slots = [b for f in frames for b in f.get("buttons") or [] if b["payload"].startswith("/choose_slot")]
            if slots:
                break
            frames = await chat.say("Dana Kim, dana.kim@globex-fintech.com")
        assert 3 <= len(slots) <= 5, frames
        assert all(b["title"].endswith("New York time") for b in slots)
        conversation = await Conversation.objects.aget(public_id=chat.conversation_id)
        assert conversation.handoff_requested and conversation.handoff_unanswered_at is not None
    finally:
        await chat.close()
