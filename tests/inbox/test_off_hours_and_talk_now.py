"""Never stranded, through the real Rasa server on the trained model and the real web process.

- Off hours: every routed rep is outside their working hours (in their own zone), so the bot says at
  once that the team is offline and when it is back, and the visitor ends with meeting times; the
  request stays queued and the "nobody came" message is not said on top.
- "Talk now": a qualified visitor whose routed rep has the inbox open is offered it beside the times;
  pressing it alerts the rep, who takes over. Pressed after the rep left, the bot says so and offers
  the times again, and no "Talk now" is offered any more.

The bot's actions run in the live web process with the real clock, so each rep's zone is chosen to
make it 03:00 (off) or 12:00 (at work) there now. The "Talk now" chats use real WebSockets to that
process: presence and alerts live in its Redis namespace.
"""

import asyncio
import importlib
import json
import time

import aiohttp
import pytest
from channels.db import database_sync_to_async
from django.apps import apps as django_apps
from django.conf import settings

from chatbot.models import Conversation
from tests.e2e.chat import Chat
from tests.factories import TEST_ORIGIN, SiteFactory, acreate
from tests.inbox.conftest import make_rep_at, session_cookie
from tests.scheduling.bot_domain import bot_domain

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
RESPONSES = bot_domain()["responses"]
TALK_NOW = {"title": RESPONSES["utter_button_talk_now"][0]["text"], "payload": "/request_human"}
EMAIL_INSTEAD = {"title": RESPONSES["utter_button_email_instead"][0]["text"], "payload": "/request_followup"}
VISITOR_EMAIL = "dana.kim@globex-fintech.com"
QUALIFYING = ("hi", "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
TURN_TIMEOUT = 60
QUIET_AFTER_REPLY = 0.8


@pytest.fixture
def servers(rasa_settings):
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
    return rasa_settings


def wordings(response: str) -> list[str]:
    return [variation["text"] for variation in RESPONSES[response]]


def slot_buttons(frames: list[dict]) -> list[dict]:
    return [b for f in frames for b in f.get("buttons") or [] if b["payload"].startswith("/choose_slot")]


class Socket:
    """A real WebSocket to the live web process, keeping every frame it read."""

    def __init__(self, ws) -> None:
        self.ws, self.frames = ws, []

    async def next(self, wanted: str, *, timeout: float = 15, **match) -> dict:
        frame = await self.next_or_none(wanted, timeout=timeout, **match)
        if frame is None:
            raise AssertionError(f"no {wanted} frame within {timeout}s; got {self.frames[-6:]}")
        return frame

    async def next_or_none(self, wanted: str, *, timeout: float, **match) -> dict | None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = await self.ws.receive(timeout=remaining)
            except TimeoutError:
                return None
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket closed: {message}")
            frame = json.loads(message.data)
            self.frames.append(frame)
            if frame["type"] == "error":
                raise AssertionError(f"error frame: {frame}")
            if frame["type"] == wanted and all(frame.get(k) == v for k, v in match.items()):
                return frame
        return None


class Visitor(Socket):
    turn = 0

    @classmethod
    async def open(cls, http, servers, site, *, timezone: str) -> "Visitor":
        ws = await http.ws_connect(
            servers.web_url.replace("http", "ws", 1) + "/ws/chat/", headers={"Origin": TEST_ORIGIN}
        )
        visitor = cls(ws)
        await ws.send_json({"type": "start", "site": site.embed_key, "visitor": None, "timezone": timezone})
        visitor.session = await visitor.next("session")
        visitor.conversation_id = visitor.session["conversation"]
        return visitor

    async def say(self, text: str) -> list[dict]:
        """One visitor message; the bot's frames of this turn."""
        self.turn += 1
        await self.ws.send_json({"type": "message", "text": text, "id": f"turn-{self.turn}"})
        replies = [await self.next("bot", timeout=TURN_TIMEOUT)]
        while (reply := await self.next_or_none("bot", timeout=QUIET_AFTER_REPLY)) is not None:
            replies.append(reply)
        return replies


async def open_inbox(http, servers, user) -> Socket:
    cookie = await database_sync_to_async(session_cookie)(user)
    ws = await http.ws_connect(
        servers.web_url.replace("http", "ws", 1) + "/ws/inbox/",
        headers={"Origin": servers.web_url, "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )
    inbox = Socket(ws)
    await inbox.next("list")
    return inbox


async def qualify(visitor: Visitor) -> list[dict]:
    """The two opening messages, then the name and work email: 95 points, the offer of times comes next."""
    for text in QUALIFYING:
        await visitor.say(text)
    return await visitor.say(f"Dana Kim, {VISITOR_EMAIL}")


async def test_talk_now_is_offered_while_the_routed_rep_is_online_and_leads_to_their_takeover(servers):
    site = await acreate(SiteFactory)
    ana = await database_sync_to_async(make_rep_at)("Ana", site, local_hour=12)
    async with aiohttp.ClientSession() as http:
        inbox = await open_inbox(http, servers, ana)
        visitor = await Visitor.open(http, servers, site, timezone="America/New_York")
        try:
            offer = await qualify(visitor)
            assert offer[-1]["buttons"][0] == TALK_NOW, offer
            assert 3 <= len(slot_buttons(offer)) <= 5
            assert any(frame["text"] in wordings("utter_talk_now_offer") for frame in offer)

            joining = await visitor.say(TALK_NOW["payload"])
            assert joining[-1]["text"] in wordings("utter_handoff_joining")
            alert = await inbox.next("alert")
            assert alert["row"]["conversation"] == visitor.conversation_id

            await inbox.ws.send_json({"type": "take_over", "conversation": visitor.conversation_id})
            mode = await visitor.next("mode")
            assert (mode["mode"], mode["name"]) == ("agent", "Ana")
        finally:
            await visitor.ws.close()
            await inbox.ws.close()
    conversation = await Conversation.objects.aget(public_id=visitor.conversation_id)
    assert conversation.held_by_id == ana.pk and conversation.handoff_requested_at is not None


async def test_talk_now_pressed_after_the_rep_left_falls_back_to_the_times(servers):
    site = await acreate(SiteFactory)
    ana = await database_sync_to_async(make_rep_at)("Ana", site, local_hour=12)
    async with aiohttp.ClientSession() as http:
        inbox = await open_inbox(http, servers, ana)
        visitor = await Visitor.open(http, servers, site, timezone="America/New_York")
        try:
            offer = await qualify(visitor)
            assert offer[-1]["buttons"][0] == TALK_NOW, offer
            await inbox.ws.close()  # the rep closes the inbox: nobody of the pool is online any more
            await asyncio.sleep(1)

            fallback = await visitor.say(TALK_NOW["payload"])
            assert fallback[0]["text"] in wordings("utter_talk_now_gone")
            times = fallback[-1]
            assert 3 <= len(slot_buttons([times])) <= 5 and times["buttons"][-1] == EMAIL_INSTEAD
            assert all(b["title"].endswith("New York time") for b in slot_buttons([times]))
            assert TALK_NOW not in times["buttons"]

            later = await visitor.say("/other_times")
            assert slot_buttons(later) and TALK_NOW not in later[-1]["buttons"]  # offered only while online
        finally:
            await visitor.ws.close()
    conversation = await Conversation.objects.aget(public_id=visitor.conversation_id)
    assert conversation.handoff_requested and conversation.handoff_unanswered_at is not None  # still queued


@database_sync_to_async
def wait_of(site, seconds):
    site.handoff_wait_seconds = seconds
    site.save(update_fields=["handoff_wait_seconds"])


async def test_off_hours_the_bot_says_the_team_is_offline_and_offers_meeting_times(servers):
    site = await acreate(SiteFactory)
    await wait_of(site, 2)
    await database_sync_to_async(make_rep_at)("Ana", site, local_hour=3)  # back at 09:00 there, in ~6 hours
    chat = await Chat.open(site, timezone="America/New_York")
    try:
        for text in QUALIFYING:
            await chat.say_text(text)
        offline = (await chat.say("Can I talk to a real person please?"))[-1]
        assert offline["text"].startswith("Our team is offline right now; they'll be back on ")
        assert "New York time" in offline["text"]
        assert {b["payload"] for b in offline["buttons"]} == {"/request_demo", "/request_email_followup"}
        conversation = await Conversation.objects.aget(public_id=chat.conversation_id)
        assert conversation.handoff_requested_at is not None and conversation.handoff_unanswered_at is not None
        assert await chat.communicator.receive_nothing(timeout=3)  # no "nobody came" after the site's 2 s

        book = next(b for b in offline["buttons"] if b["payload"] == "/request_demo")
        frames = await chat.say(book["payload"])
        for _ in range(3):  # the form asks what it still needs (who they are), then offers times
            if slot_buttons(frames):
                break
            frames = await chat.say(f"Dana Kim, {VISITOR_EMAIL}")
        assert 3 <= len(slot_buttons(frames)) <= 5, frames

        # Qualified now: asking again gets the times at once, with email as the other way on.
        again = await chat.say("Can I talk to a real person please?")
        assert again[0]["text"].startswith("Our team is offline right now; they'll be back on ")
        assert 3 <= len(slot_buttons(again)) <= 5 and again[-1]["buttons"][-1] == EMAIL_INSTEAD
        assert all(b["title"].endswith("New York time") for b in slot_buttons(again))
    finally:
        await chat.close()
    conversation = await Conversation.objects.aget(public_id=chat.conversation_id)
    assert conversation.handoff_requested and conversation.held_by_id is None  # still in the queue
