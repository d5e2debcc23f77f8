"""Booking a meeting inside the chat, through the consumer, the real Rasa server and the action endpoint."""

import asyncio
import json
import urllib.request

import pytest
from channels.db import database_sync_to_async

from config import zones
from qualification.models import Lead
from scheduling import slot_text as words
from scheduling.models import Meeting, SlotOffer
from tests.e2e.chat import Chat
from tests.factories import SiteFactory, acreate
from tests.scheduling.factories import LeadFactory, SalesRepFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


async def execute(servers, conversation_id: str, action: str) -> list[dict]:
    """Run one bot action as the qualification flow will (Rasa's HTTP API); the bot messages it sent.

    The flow's rules end with the bot listening; `execute` runs only the named action, so the
    test then runs `action_listen` too, or the visitor's next turn would follow no rule.
    """
    url = servers.rasa_api(f"/conversations/{conversation_id}/execute")
    body = await asyncio.to_thread(post_json, url, {"name": action})
    await asyncio.to_thread(post_json, url, {"name": "action_listen"})
    await store_bot_messages(conversation_id, body["messages"])
    return body["messages"]


@database_sync_to_async
def store_bot_messages(conversation_id: str, messages: list[dict]) -> None:
    """Keep what the bot said as the consumer would, so its buttons count as offered ones."""
    from chatbot.models import Conversation, Message

    conversation = Conversation.objects.get(public_id=conversation_id)
    for message in messages:
        Message.objects.create(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=message.get("text") or "",
            buttons=[{"title": b["title"], "payload": b["payload"]} for b in message.get("buttons") or []],
        )


@database_sync_to_async
def qualified_lead_and_rep(conversation_id: str):
    from chatbot.models import Conversation

    conversation = Conversation.objects.get(public_id=conversation_id)
    lead = LeadFactory(
        conversation=conversation, name="Grace Hopper", email="grace@navy.example", outcome=Lead.Outcome.QUALIFIED
    )
    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="Europe/Berlin")
    return lead, rep


async def test_a_qualified_visitor_books_a_meeting_in_their_zone(rasa_settings):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="America/New_York")
    try:
        assert "Northwind assistant" in await chat.say_text("hello")  # the session start stores the zone
        lead, rep = await qualified_lead_and_rep(chat.conversation_id)

        [offer] = await execute(rasa_settings, chat.conversation_id, "action_offer_slots")
        assert "New York time" in offer["text"]
        slot_buttons = [b for b in offer["buttons"] if b["payload"].startswith("/choose_slot")]
        assert 3 <= len(slot_buttons) <= 5
        assert offer["buttons"][-1]["title"] == "Other times"
        assert all(b["title"].endswith("New York time") for b in slot_buttons)
        assert await SlotOffer.objects.filter(conversation__public_id=chat.conversation_id).acount() == 1

        button = slot_buttons[0]
        choice = words.slot_choice_parse(json.loads(button["payload"][len("/choose_slot") :])["slot_choice"])
        confirmation = await chat.say_text(button["payload"])
        assert "You're booked" in confirmation, confirmation

        meeting = await Meeting.objects.aget(conversation__public_id=chat.conversation_id)
        assert meeting.rep_id == rep.pk and meeting.start == choice.start
        assert meeting.lead_id == lead.pk and meeting.visitor_email == "grace@navy.example"
        assert meeting.visitor_timezone == "America/New_York"
        when = zones.slot_text(choice.start, "America/New_York")
        assert when == button["title"]
        assert f"You're booked: {when} with Rita Rep" in confirmation
        assert "grace@navy.example" in confirmation and "reschedule or cancel" in confirmation

        # A second press (double click, reload) re-confirms and never books twice.
        again = await chat.say_text(button["payload"])
        assert f"You're already booked: {when} with Rita Rep" in again
        assert await Meeting.objects.filter(conversation__public_id=chat.conversation_id).acount() == 1

        # Asked to move it, the bot points to the reschedule/cancel links.
        pointer = await chat.say_text("I need to reschedule")
        assert when in pointer and "/meetings/" in pointer
        await chat.settled()
    finally:
        await chat.close()


async def test_typed_preference_then_email_form_then_booking(rasa_settings):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="Europe/Berlin")
    try:
        await chat.say_text("hi")
        lead, rep = await qualified_lead_and_rep(chat.conversation_id)
        await database_sync_to_async(Lead.objects.filter(pk=lead.pk).update)(email="")
        await execute(rasa_settings, chat.conversation_id, "action_offer_slots")

        [answer] = await chat.say("any afternoon next week")
        assert answer["text"].startswith("Here's what's free next week"), answer["text"]
        buttons = [b for b in answer["buttons"] if b["payload"].startswith("/choose_slot")]
        assert buttons and all(b["title"].endswith("Berlin time") for b in buttons)
        assert all(12 <= int(b["title"].split(", ")[1][:2]) < 17 for b in buttons)

        button = buttons[-1]
        ask = await chat.say_text(button["payload"])
        assert "Which email address should the invitation go to?" in ask
        assert not await Meeting.objects.filter(conversation__public_id=chat.conversation_id).aexists()
        assert "doesn't look like an email" in await chat.say_text("it's grace at navy")
        confirmation = await chat.say_text("grace@navy.example")
        assert f"You're booked: {button['title']} with Rita Rep" in confirmation

        meeting = await Meeting.objects.aget(conversation__public_id=chat.conversation_id)
        assert meeting.visitor_email == "grace@navy.example" and meeting.rep_id == rep.pk
        assert (await Lead.objects.aget(pk=lead.pk)).email == "grace@navy.example"
        await chat.settled()
    finally:
        await chat.close()


async def test_asking_for_a_time_before_qualifying_starts_the_questions(rasa_settings):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="Europe/Berlin")
    try:
        await chat.say_text("hi")
        await acreate(SalesRepFactory, name="Rita Rep")
        frames = await chat.say("next Tuesday afternoon")
        texts = [f["text"] for f in frames]
        assert "Happy to set up a call. First, a few quick questions" in texts[0], texts
        # The qualification form asks its first question in the same turn; no times are offered yet.
        assert len(texts) >= 2 and texts[-1].rstrip().endswith("?"), texts
        assert not any(b["payload"].startswith("/choose_slot") for f in frames for b in f.get("buttons") or [])
        assert not await SlotOffer.objects.filter(conversation__public_id=chat.conversation_id).aexists()
        await chat.settled()
    finally:
        await chat.close()
