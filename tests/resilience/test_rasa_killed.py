"""A Rasa server killed mid-conversation: the conversation goes on on another server with everything
the bot knew (shared SQL tracker store, Redis lock store, consistent hashing over the healthy servers)."""

import asyncio
import json
import urllib.request

import pytest

from chatbot import rasa_client
from chatbot.models import Message
from tests.e2e.chat import Chat
from tests.e2e.test_qualification_conversations import ASK_BUDGET, ASK_COMPANY, ASK_EMAIL, asks
from tests.factories import SiteFactory, acreate

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def test_a_message_sent_again_to_either_server_is_answered_from_the_record_not_handled_twice(ring_settings):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site)
    try:
        first = [reply["text"] for reply in await chat.say("hello")]
    finally:
        await chat.close()
    message = await Message.objects.aget(conversation__public_id=chat.conversation_id, sender="visitor")
    again = []
    for rasa in ring_settings.rasas:  # each server, whichever handled it first
        body = {"sender": chat.conversation_id, "message": "hello", "message_id": str(message.pk)}
        again.append(rasa_client.turn_from_body(await rasa_client._post(rasa.url, body)))

    assert first and all([reply.text for reply in turn.replies] == first for turn in again)
    assert all(turn.interpretation.intent == message.intent == "greet" for turn in again)

    def user_events():
        url = ring_settings.rasa_api(f"/conversations/{chat.conversation_id}/tracker")
        with urllib.request.urlopen(url, timeout=10) as response:
            return [e for e in json.load(response)["events"] if e["event"] == "user"]

    assert [e["message_id"] for e in await asyncio.to_thread(user_events)] == [str(message.pk)]


async def test_a_killed_server_hands_its_conversations_over_with_what_the_bot_knew(ring_settings, default_rules):
    site = await acreate(SiteFactory)
    chat = await Chat.open(site)
    killed = None
    try:
        await chat.say_text("hi")
        first = await chat.say_text(
            "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter"
        )
        assert asks(first, ASK_EMAIL)
        own = rasa_client.ring().server_for(chat.conversation_id)
        killed = next(r for r in ring_settings.rasas if r.url == own)
        killed.kill()

        # The next turn reaches the other server at once; it knows the role, size, need and timeline.
        after = await chat.say_text("Dana Kim, dana.kim@gmail.com")
        assert asks(after, ASK_COMPANY)
        assert rasa_client.ring().server_for(chat.conversation_id) != own
        final = await chat.say_text("Globex")
        assert "everything I need" in final and not asks(final, ASK_BUDGET)
        for known in ("role", "company_size", "timeline"):
            assert not asks(after + final, known), f"asked again: {known}"
    finally:
        await chat.close()
        if killed is not None:
            killed.start()  # back for the next test (ring_settings waits for it), loading while it runs


async def test_a_turn_stuck_on_a_lock_a_killed_server_left_does_not_take_its_server_out(ring_settings, settings):
    """A server killed mid-turn leaves that conversation locked (Rasa's Redis lock store) until the lock
    runs out: the conversation's next turn times out, but the server answers every other conversation."""
    import time
    import uuid

    import redis

    from chatbot.management.commands.bot_endpoints import endpoints_config

    settings.RASA_TIMEOUT_SECONDS = 2
    ring = rasa_client.ring()
    stuck = str(uuid.uuid4())
    server = ring.server_for(stuck)
    other = next(key for key in (str(uuid.uuid4()) for _ in range(100)) if ring.server_for(key) == server)
    store = endpoints_config(action_url="http://unused/")["lock_store"]
    client = redis.Redis(host=store["url"], port=store["port"], db=store["db"], password=store.get("password"))
    key = f"{store['key_prefix']}:lock:{stuck}"
    # the lock as Rasa's TicketLock stores it: a ticket held by the turn that never finished
    ticket = json.dumps({"number": 0, "expires": time.time() + 30})
    client.set(key, json.dumps({"conversation_id": stuck, "tickets": [ticket]}), ex=30)
    try:
        with pytest.raises(rasa_client.BotUnavailable):
            await rasa_client.bot_send(conversation_id=stuck, text="hello", metadata={})
        assert ring.is_up(server)  # it answered its health check: still in the ring
        turn = await rasa_client.bot_send(conversation_id=other, text="hello", metadata={})
        assert turn.replies  # the other conversations on that server are answered as usual
    finally:
        client.delete(key)
        await rasa_client.session_close()
