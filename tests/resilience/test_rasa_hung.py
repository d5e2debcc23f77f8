"""Rasa hung (SIGSTOP) mid-conversation: nothing the visitor typed is lost or answered out of order.

The visitor sees "typing" at once and "still thinking" after 3 s; after the timeout the message
is queued (a real Celery worker) and answered as soon as a server answers again, in the order
sent, pushed to the open tab, or read in the history on the next visit.
"""

import asyncio
import json
import os
import signal
import time
import urllib.request

import pytest

from chatbot.errors import error_text
from chatbot.models import Message
from tests.e2e.chat import Chat
from tests.factories import SiteFactory, acreate

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def pause(servers, sig) -> None:
    for rasa in servers.rasas:
        os.kill(rasa.process.pid, sig)


async def frames_until(chat: Chat, done, timeout: float) -> list[tuple[float, dict]]:
    """(seconds since the call, frame) until ``done(frames)`` holds."""
    start, frames = time.monotonic(), []
    while not done([f for _, f in frames]):
        frame = await chat.communicator.receive_json_from(timeout=timeout)
        frames.append((time.monotonic() - start, frame))
    return frames


def bot_texts(frames: list[dict]) -> list[str]:
    return [f["text"] for f in frames if f["type"] == "bot" and f.get("sender") == "bot"]


async def all_answered(chat: Chat, worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while await Message.objects.filter(
        conversation__public_id=chat.conversation_id, sender="visitor", delivery__in=["pending", "queued"]
    ).aexists():
        assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
        await asyncio.sleep(0.5)


def user_message_ids(servers, conversation_id: str) -> list[str]:
    url = servers.rasa_api(f"/conversations/{conversation_id}/tracker")
    with urllib.request.urlopen(url, timeout=10) as response:
        return [e["message_id"] for e in json.load(response)["events"] if e["event"] == "user"]


async def test_a_hung_bot_answers_every_message_in_order_in_the_open_tab_once_it_is_back(
    ring_settings, worker, settings
):
    settings.RASA_TIMEOUT_SECONDS = 6
    site = await acreate(SiteFactory)
    chat = await Chat.open(site)
    try:
        assert await chat.say("hello")  # answered as usual
        pause(ring_settings, signal.SIGSTOP)
        try:
            await chat.communicator.send_json_to({"type": "message", "text": "what do you do?", "id": "q1"})
            first = await frames_until(chat, lambda fs: any(f.get("sender") == "system" for f in fs), timeout=15)
            (t_typing, typing), (t_notice, notice), (t_queued, queued) = first
            assert typing == {"type": "typing"} and t_typing < 1
            assert notice["type"] == "notice" and notice["code"] == "still_thinking" and 2.5 < t_notice < 5
            assert notice["message"] == error_text("still_thinking")
            assert queued["text"] == error_text("answer_later") and t_queued >= 5.5

            # Typed while the first waits: queued behind it, said so.
            await chat.communicator.send_json_to(
                {"type": "message", "text": "do you integrate with Salesforce?", "id": "q2"}
            )
            second = await frames_until(chat, lambda fs: any(f.get("sender") == "system" for f in fs), timeout=15)
            assert [f["type"] for _, f in second][0] == "typing"
        finally:
            pause(ring_settings, signal.SIGCONT)

        # Back: the worker answers both, in the order sent, into this tab; nobody retyped anything.
        await all_answered(chat, worker)
        answers = []
        while not await chat.communicator.receive_nothing(timeout=1):
            answers.append(await chat.communicator.receive_json_from())
    finally:
        await chat.close()

    messages = [
        m
        async for m in Message.objects.filter(conversation__public_id=chat.conversation_id).order_by("created_at", "id")
    ]
    visitor = [m for m in messages if m.sender == "visitor"]
    assert [(m.text, m.delivery) for m in visitor] == [
        ("hello", "delivered"),
        ("what do you do?", "delivered"),
        ("do you integrate with Salesforce?", "delivered"),
    ]
    # Each answer follows its own question in the transcript, and reached the tab in that order.
    senders = [m.sender for m in messages if m.created_at > visitor[1].created_at]
    assert senders.index("visitor") < len(senders) - 1
    stored_answers = [m.text for m in messages if m.sender == "bot" and m.created_at > visitor[1].created_at]
    assert len(stored_answers) >= 2 and bot_texts(answers) == stored_answers
    # Rasa handled each message once, although the first was sent to it twice (the original, then the worker's).
    ids = await asyncio.to_thread(user_message_ids, ring_settings, chat.conversation_id)
    assert ids == [str(m.pk) for m in visitor]


async def test_a_reply_that_comes_while_the_widget_is_closed_is_there_on_the_next_visit(
    ring_settings, worker, settings
):
    settings.RASA_TIMEOUT_SECONDS = 4
    site = await acreate(SiteFactory)
    chat = await Chat.open(site)
    visitor_token = chat.visitor
    pause(ring_settings, signal.SIGSTOP)
    try:
        await chat.communicator.send_json_to({"type": "message", "text": "hello", "id": "q1"})
        await frames_until(chat, lambda fs: any(f.get("sender") == "system" for f in fs), timeout=15)
        await chat.close()  # the visitor leaves
    finally:
        pause(ring_settings, signal.SIGCONT)

    await all_answered(chat, worker)

    again = await Chat.open(site, visitor=visitor_token)
    try:
        history = again.session["history"]
        texts = [m["text"] for m in history]
        assert again.conversation_id == chat.conversation_id
        assert texts.index("hello") < len(texts) - 1
        assert history[-1]["sender"] == "bot"  # the answer, after the visitor's message and the notice
    finally:
        await again.close()


async def test_a_server_back_has_every_waiting_conversation_answered_at_once(ring_settings, worker, settings):
    """A queued try backs off to a minute while no server answers; the first process that sees a server
    answer again has the worker answer every waiting conversation now (no sweep runs in this test)."""
    from channels.db import database_sync_to_async

    from chatbot import rasa_client
    from chatbot.models import Conversation

    site = await acreate(SiteFactory)
    waiting, other = await Chat.open(site), await Chat.open(site)
    try:
        conversation = await Conversation.objects.aget(public_id=waiting.conversation_id)
        # left waiting by an outage, its own try a minute away (here: no task at all)
        await database_sync_to_async(Message.objects.create)(
            conversation=conversation, sender="visitor", text="what do you do?", client_id="w1", delivery="queued"
        )
        ring = rasa_client.ring()
        for url in ring.urls:  # both run (ring_settings); an earlier test's pause may have marked them down here
            ring.mark_up(url)
        server = ring.server_for(other.conversation_id)
        ring.mark_down(server)
        ring._next_probe[server] = 0  # its probe is due: the next turn for it asks `GET /` first
        await rasa_client.bot_send(conversation_id=other.conversation_id, text="hello", metadata={})
        assert ring.is_up(server)
        await all_answered(waiting, worker, timeout=20)
        reply = await Message.objects.filter(conversation=conversation, sender="bot").order_by("-id").afirst()
        assert reply is not None and reply.text
    finally:
        await waiting.close()
        await other.close()
        await rasa_client.session_close()
