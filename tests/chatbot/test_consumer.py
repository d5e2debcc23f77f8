"""The widget protocol over a real WebSocket consumer, on PostgreSQL and Redis.

Rasa is unreachable in these tests (a closed port or a server that never
answers): they check everything the consumer decides before and without the bot.
"""

import json
import socket

import pytest
from channels.layers import get_channel_layer

from chatbot.errors import error_text
from chatbot.models import Conversation, Message, Visitor
from tests.conftest import chat_communicator
from tests.factories import TEST_ORIGIN, SiteFactory, acreate
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    settings.RASA_TIMEOUT_SECONDS = 2


@pytest.fixture
def rasa_silent(settings):
    """A server that accepts connections and never answers: a hung model."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    settings.RASA_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.RASA_TIMEOUT_SECONDS = 0.5
    yield
    listener.close()


def start_frame(site, visitor=None, **extra):
    return {
        "type": "start",
        "site": site.embed_key,
        "visitor": visitor,
        "timezone": "Europe/Berlin",
        "page": "https://www.customer.example/pricing?utm_source=newsletter",
        "utm": {"utm_source": "newsletter", "utm_campaign": "q3", "evil": "dropped"},
        **extra,
    }


async def connect(origin=TEST_ORIGIN):
    communicator = chat_communicator(origin)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def started(site, visitor=None, origin=TEST_ORIGIN):
    communicator = await connect(origin)
    await communicator.send_json_to(start_frame(site, visitor))
    session = await communicator.receive_json_from(timeout=5)
    assert session["type"] == "session", session
    return communicator, session


async def test_start_creates_visitor_conversation_and_welcome(rasa_down):
    site = await acreate(SiteFactory, welcome_message="Welcome to Acme!")
    communicator, session = await started(site)
    try:
        conversation = await Conversation.objects.select_related("visitor").aget(public_id=session["conversation"])
        assert conversation.visitor.token == session["visitor"]
        assert conversation.utm == {"utm_source": "newsletter", "utm_campaign": "q3"}
        assert conversation.page_url == "https://www.customer.example/pricing?utm_source=newsletter"
        assert [m["text"] for m in session["history"]] == ["Welcome to Acme!"]
        assert session["history"][0]["sender"] == "bot"
    finally:
        await communicator.disconnect()


async def test_reload_and_second_tab_resume_the_same_conversation_with_history(rasa_down):
    site = await acreate(SiteFactory)
    first, session = await started(site)
    await first.send_json_to({"type": "message", "text": "Hello there", "id": "m1"})
    reply = await first.receive_json_from(timeout=5)
    while reply["type"] == "typing":
        reply = await first.receive_json_from(timeout=5)
    await first.disconnect()

    reloaded, resumed = await started(site, visitor=session["visitor"])
    second_tab, in_other_tab = await started(site, visitor=session["visitor"])
    try:
        assert resumed["conversation"] == session["conversation"] == in_other_tab["conversation"]
        texts = [m["text"] for m in resumed["history"]]
        assert "Hello there" in texts
        assert texts == [m["text"] for m in in_other_tab["history"]]
        assert await Conversation.objects.acount() == 1
        # A message typed in one tab shows up in the other. Like the widget, skip a frame of
        # something the history already showed (a layer may deliver one late, e.g. tab one's
        # first message, published as tab one closed and tab two joined).
        await reloaded.send_json_to({"type": "message", "text": "From tab one", "id": "m2"})
        shown = {(m["sender"], m["id"]) for m in in_other_tab["history"]}
        frames = []
        while len(frames) < 2:
            frame = await second_tab.receive_json_from(timeout=5)
            # (typing: a resumed tab tries the queued "Hello there" again at once)
            if frame["type"] != "typing" and (frame.get("sender"), frame.get("id")) not in shown:
                frames.append(frame)
        assert {"type": "visitor", "text": "From tab one"}.items() <= frames[0].items()
        assert frames[1]["type"] == "bot" and frames[1]["sender"] == "system"
    finally:
        await reloaded.disconnect()
        await second_tab.disconnect()


async def test_token_of_another_site_gets_a_new_visitor(rasa_down):
    site, other = await acreate(SiteFactory), await acreate(SiteFactory)
    communicator, session = await started(site)
    await communicator.disconnect()
    communicator, elsewhere = await started(other, visitor=session["visitor"])
    try:
        assert elsewhere["visitor"] != session["visitor"]
        assert elsewhere["conversation"] != session["conversation"]
        assert elsewhere["history"][0]["text"] == other.welcome_message
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2, 3]", "malformed_frame"),
        ('{"text": "no type"}', "malformed_frame"),
        ('{"type": "subscribe"}', "unknown_type"),
        ('{"type": "message", "text": "before start", "id": "x"}', "no_session"),
        ('{"type": "start", "site": 42}', "malformed_frame"),
        ('{"type": "start", "site": "site_does_not_exist", "visitor": null}', "unknown_site"),
        ("x" * 20000, "frame_too_large"),
    ],
)
async def test_bad_frames_before_start_get_error_and_connection_survives(rasa_down, raw, code):
    site = await acreate(SiteFactory)
    communicator = await connect()
    try:
        await communicator.send_to(text_data=raw)
        error = await communicator.receive_json_from(timeout=5)
        assert error == {"type": "error", "code": code, "message": error_text(code)}
        # Still usable afterwards.
        await communicator.send_json_to(start_frame(site))
        assert (await communicator.receive_json_from(timeout=5))["type"] == "session"
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://www.customer.example.evil.example", "http://www.customer.example", ""],
)
async def test_disallowed_origin_is_refused(rasa_down, origin):
    site = await acreate(SiteFactory)
    communicator = await connect(origin)
    try:
        await communicator.send_json_to(start_frame(site))
        error = await communicator.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "origin_not_allowed"
        assert await Visitor.objects.acount() == 0
    finally:
        await communicator.disconnect()


async def test_origin_match_ignores_default_port_and_case(rasa_down):
    site = await acreate(SiteFactory)
    communicator = await connect("HTTPS://WWW.Customer.Example:443")
    try:
        await communicator.send_json_to(start_frame(site))
        assert (await communicator.receive_json_from(timeout=5))["type"] == "session"
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "message", "text": "   ", "id": "a"}, "empty_text"),
        ({"type": "message", "text": "x" * 2001, "id": "b"}, "text_too_long"),
        ({"type": "message", "text": 5, "id": "c"}, "malformed_frame"),
        ({"type": "message", "text": "hi", "id": "z" * 65}, "invalid_id"),
        ({"type": "message", "text": "hi", "id": {"a": 1}}, "invalid_id"),
    ],
)
async def test_bad_messages_get_error_and_store_nothing(rasa_down, frame, code):
    site = await acreate(SiteFactory)
    communicator, session = await started(site)
    try:
        await communicator.send_json_to(frame)
        error = await communicator.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == code
        assert await Message.objects.filter(sender=Message.Sender.VISITOR).acount() == 0
        await communicator.send_json_to({"type": "message", "text": "still here", "id": "ok"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "typing"
    finally:
        await communicator.disconnect()


async def test_text_limit_error_names_the_limit(rasa_down):
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        await communicator.send_json_to({"type": "message", "text": "x" * 2001, "id": "b"})
        error = await communicator.receive_json_from(timeout=5)
        assert "2000 characters" in error["message"]
    finally:
        await communicator.disconnect()


async def test_invalid_timezone_is_reported_and_session_still_starts(rasa_down):
    site = await acreate(SiteFactory)
    communicator = await connect()
    try:
        await communicator.send_json_to(start_frame(site, timezone="Mars/Olympus_Mons"))
        error = await communicator.receive_json_from(timeout=5)
        assert error["code"] == "invalid_timezone"
        assert (await communicator.receive_json_from(timeout=5))["type"] == "session"
    finally:
        await communicator.disconnect()


async def test_message_flood_is_rate_limited_per_visitor(rasa_down, settings):
    settings.CHAT_RATE_LIMIT = "3/minute"
    site = await acreate(SiteFactory)
    communicator, session = await started(site)
    other_tab, _ = await started(site, visitor=session["visitor"])
    try:
        codes = []
        for i in range(3):
            await communicator.send_json_to({"type": "message", "text": f"msg {i}", "id": f"id{i}"})
            frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
            codes.append([f["type"] for f in frames])
        assert codes == [["typing", "bot"]] * 3
        # The limit is per visitor, so another tab does not get a fresh allowance.
        while not await other_tab.receive_nothing(timeout=0.3):
            await other_tab.receive_json_from()
        await other_tab.send_json_to({"type": "message", "text": "flood", "id": "id9"})
        error = await other_tab.receive_json_from(timeout=5)
        assert error["code"] == "rate_limited"
        assert await Message.objects.filter(sender="visitor").acount() == 3
    finally:
        await communicator.disconnect()
        await other_tab.disconnect()


async def test_retried_message_id_is_stored_once(rasa_down):
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        for _ in range(2):
            await communicator.send_json_to({"type": "message", "text": "Hello", "id": "same-id"})
        frames = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
        assert [f["type"] for f in frames] == ["typing", "bot"]
        assert await communicator.receive_nothing(timeout=0.5)
        assert await Message.objects.filter(sender="visitor", client_id="same-id").acount() == 1
    finally:
        await communicator.disconnect()


async def test_rasa_down_keeps_the_message_and_answers_politely(rasa_down):
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        await communicator.send_json_to({"type": "message", "text": "Do you integrate with Salesforce?", "id": "q"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "typing"
        notice = await communicator.receive_json_from(timeout=5)
        assert notice["type"] == "bot" and notice["sender"] == "system"
        assert notice["text"] == error_text("answer_later")
        stored = await Message.objects.aget(sender="visitor")
        assert stored.text == "Do you integrate with Salesforce?"
        assert stored.delivery == Message.Delivery.QUEUED  # answered once Rasa is back (tests/resilience)
    finally:
        await communicator.disconnect()


async def test_the_asking_tab_gets_its_answer_even_when_the_channel_layer_loses_it(rasa_down, monkeypatch):
    # A channel layer can drop a group message (django/channels#1683); only other tabs rely on it.
    layer = get_channel_layer()
    group_send = layer.group_send

    async def losing_bot_frames(group, message):
        if message["type"] not in ("chat.bot", "chat.notice"):
            await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", losing_bot_frames)
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        await communicator.send_json_to({"type": "message", "text": "Anyone there?", "id": "q"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "typing"
        notice = await communicator.receive_json_from(timeout=5)
        assert notice["type"] == "bot" and notice["text"] == error_text("answer_later")
        assert await communicator.receive_nothing(timeout=0.3)  # once, not again through the layer
    finally:
        await communicator.disconnect()


async def test_slow_rasa_times_out_politely(rasa_silent):
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        await communicator.send_json_to({"type": "message", "text": "hello?", "id": "q"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "typing"
        notice = await communicator.receive_json_from(timeout=5)
        assert notice["text"] == error_text("answer_later")
        assert (await Message.objects.aget(sender="visitor")).delivery == Message.Delivery.QUEUED
    finally:
        await communicator.disconnect()


async def test_html_in_text_is_stored_verbatim_not_interpreted(rasa_down):
    site = await acreate(SiteFactory)
    communicator, _ = await started(site)
    try:
        payload = "<img src=x onerror=alert(1)>"
        await communicator.send_json_to({"type": "message", "text": payload, "id": "x"})
        await communicator.receive_json_from(timeout=5)
        assert (await Message.objects.aget(sender="visitor")).text == payload
        await communicator.disconnect()
        again, session = await started(site, visitor=(await Visitor.objects.afirst()).token)
        assert json.dumps(payload) in json.dumps(session["history"])
        await again.disconnect()
    finally:
        await communicator.disconnect()


async def test_frames_are_handled_while_djangos_sync_thread_is_busy(rasa_down):
    """Channels would first send every event to Django's one sync thread (to close that thread's old
    connection); the consumers use their own threads (config.db), so a busy sync thread delays nothing."""
    import asyncio
    import time

    from asgiref.sync import sync_to_async

    site = await acreate(SiteFactory)
    busy = asyncio.ensure_future(sync_to_async(time.sleep, thread_sensitive=True)(3))
    try:
        communicator = await connect()
        began = time.monotonic()
        await communicator.send_json_to(start_frame(site))
        session = await communicator.receive_json_from(timeout=2)
        assert session["type"] == "session"
        await communicator.send_json_to({"type": "message", "text": "hello", "id": "m1"})
        assert (await communicator.receive_json_from(timeout=2))["type"] == "typing"
        assert time.monotonic() - began < 2.5
        assert not busy.done()  # all of it happened while the sync thread slept
        await communicator.disconnect()
    finally:
        await busy


async def test_a_tab_catches_up_from_the_database_when_redis_lost_its_data(rasa_down, settings):
    """A Redis restart loses what the channel layer carried while its subscriptions came back; the tab
    notices at its next presence beat (its entry is gone) and is sent the conversation again."""
    from chatbot import presence
    from config.db import db

    settings.PRESENCE_TTL_SECONDS = 0.6  # a beat every 0.2 s
    site = await acreate(SiteFactory)
    communicator, session = await started(site)
    try:
        assert await communicator.receive_nothing(timeout=0.8)  # beats while Redis keeps its data: nothing
        conversation = await Conversation.objects.aget(public_id=session["conversation"])
        # Stored, but its push was lost with the layer's subscriptions.
        await Message.objects.acreate(conversation=conversation, sender=Message.Sender.BOT, text="Said meanwhile")
        key = presence._key(presence.visitor_group(conversation.pk))
        await db(lambda: presence._redis().delete(key))()  # what the restart did to the presence entries

        again = await communicator.receive_json_from(timeout=3)
        assert again["type"] == "session"
        assert again["conversation"] == session["conversation"]
        assert [m["text"] for m in again["history"]][-1] == "Said meanwhile"
        assert await communicator.receive_nothing(timeout=0.8)  # once: the entry is back
    finally:
        await communicator.disconnect()
