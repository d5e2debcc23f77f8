"""Abuse limits of the widget's WebSocket, through the real consumer on PostgreSQL and Redis.

Rasa is unreachable here (a closed port): a message is stored and answered with the
"unavailable" notice, which is all these tests need to count what reached the bot.
"""

import json

import pytest

from chatbot.errors import error_text
from chatbot.models import Conversation, Message, Visitor
from tests.factories import SiteFactory, acreate
from tests.security.conftest import communicator_from
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)
POLICY, TRY_AGAIN = 1008, 1013


@pytest.fixture(autouse=True)
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    settings.RASA_TIMEOUT_SECONDS = 2


@pytest.fixture
def limits(settings):
    """The production defaults (the test settings loosen them for the rest of the suite)."""
    settings.CHAT_IP_CONVERSATION_RATE_LIMIT = "10/minute"
    settings.CHAT_SITE_CONVERSATION_RATE_LIMIT = "120/minute"
    settings.CHAT_IP_MESSAGE_RATE_LIMIT = "120/minute"
    settings.CHAT_MAX_SOCKETS_PER_IP = 20
    settings.CHAT_IP_CONNECTION_RATE_LIMIT = "60/minute"
    settings.CHAT_MAX_STARTS_PER_SOCKET = 3
    settings.CHAT_REFUSAL_HOLD_SECONDS = 1  # refused sockets close after a second here
    return settings


def start(site, visitor=None) -> dict:
    return {"type": "start", "site": site.embed_key, "visitor": visitor, "timezone": "UTC", "page": ""}


def error(code: str) -> dict:
    return {"type": "error", "code": code, "message": error_text(code)}


async def open_socket(ip: str):
    communicator = communicator_from(ip)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def started(site, ip: str, visitor=None):
    communicator = await open_socket(ip)
    await communicator.send_json_to(start(site, visitor))
    return communicator, await communicator.receive_json_from(timeout=5)


async def closed_with(communicator, code: int) -> bool:
    output = await communicator.receive_output(timeout=5)
    return output == {"type": "websocket.close", "code": code}


async def test_one_socket_cannot_open_sixty_conversations(limits):
    """The report: 60 `start` frames without a token on one socket, each followed by a message."""
    site = await acreate(SiteFactory)
    socket = await open_socket("198.51.100.7")
    frames, closed = [], None
    try:
        for i in range(60):
            await socket.send_json_to(start(site))
            await socket.send_json_to({"type": "message", "text": f"hello {i}", "id": f"m{i}"})
            while closed is None and not await socket.receive_nothing(timeout=0.2):
                output = await socket.receive_output()
                if output["type"] == "websocket.close":
                    closed = output["code"]
                else:
                    frames.append(json.loads(output["text"]))
            if closed is not None:
                break
    finally:
        await socket.disconnect()
    assert [f["type"] for f in frames].count("session") == 3
    assert frames[-1] == error("too_many_starts") and closed == POLICY
    assert await Conversation.objects.acount() == 3
    assert await Visitor.objects.acount() == 3
    assert await Message.objects.filter(sender=Message.Sender.VISITOR).acount() == 3


async def test_new_conversations_per_address_are_limited_and_others_still_get_in(limits):
    limits.CHAT_IP_CONVERSATION_RATE_LIMIT = "3/minute"
    site = await acreate(SiteFactory)
    opened = []
    try:
        for _ in range(3):
            communicator, frame = await started(site, "203.0.113.5")
            opened.append(communicator)
            assert frame["type"] == "session"
        refused, frame = await started(site, "203.0.113.5")
        opened.append(refused)
        assert frame == error("too_many_conversations")
        assert await closed_with(refused, TRY_AGAIN)  # the widget retries with backoff, messages kept
        other, frame = await started(site, "203.0.113.6")
        opened.append(other)
        assert frame["type"] == "session"
    finally:
        for communicator in opened:
            await communicator.disconnect()
    assert await Conversation.objects.acount() == 4


async def test_a_refused_socket_is_held_deaf_until_the_window_ends_then_closed(limits):
    """The widget reconnects once, when it will be let in; a script cannot retry at once."""
    limits.CHAT_IP_CONVERSATION_RATE_LIMIT = "1/minute"
    limits.CHAT_REFUSAL_HOLD_SECONDS = 2
    site = await acreate(SiteFactory)
    first, _ = await started(site, "203.0.113.30")
    refused, frame = await started(site, "203.0.113.30")
    try:
        assert frame == error("too_many_conversations")
        await refused.send_json_to(start(site))  # ignored while held: no query, no answer
        assert await refused.receive_nothing(timeout=1.5)
        assert await closed_with(refused, TRY_AGAIN)
        # A script reconnecting at once is refused again, without a new count.
        again, frame = await started(site, "203.0.113.30")
        assert frame == error("too_many_conversations")
        await again.disconnect()
    finally:
        await first.disconnect()
        await refused.disconnect()
    assert await Conversation.objects.acount() == 1


async def test_new_conversations_per_site_are_limited(limits):
    limits.CHAT_SITE_CONVERSATION_RATE_LIMIT = "2/minute"
    site, other_site = await acreate(SiteFactory), await acreate(SiteFactory)
    opened = []
    try:
        for i in range(2):
            communicator, frame = await started(site, f"203.0.113.{10 + i}")
            opened.append(communicator)
            assert frame["type"] == "session"
        busy, frame = await started(site, "203.0.113.20")
        opened.append(busy)
        assert frame == error("site_busy")
        elsewhere, frame = await started(other_site, "203.0.113.21")
        opened.append(elsewhere)
        assert frame["type"] == "session"
    finally:
        for communicator in opened:
            await communicator.disconnect()


async def test_a_returning_visitor_resumes_even_when_the_address_is_at_its_limit(limits):
    limits.CHAT_IP_CONVERSATION_RATE_LIMIT = "1/minute"
    site = await acreate(SiteFactory)
    first, session = await started(site, "192.0.2.44")
    await first.send_json_to({"type": "message", "text": "my question", "id": "q1"})
    await first.receive_json_from(timeout=5)  # typing
    await first.receive_json_from(timeout=5)  # the unavailable notice
    await first.disconnect()
    newcomer, frame = await started(site, "192.0.2.44")
    assert frame == error("too_many_conversations")
    await newcomer.disconnect()
    again, resumed = await started(site, "192.0.2.44", visitor=session["visitor"])
    try:
        assert resumed["type"] == "session" and resumed["conversation"] == session["conversation"]
        assert "my question" in [m["text"] for m in resumed["history"]]
    finally:
        await again.disconnect()


async def test_a_new_visitor_does_not_get_a_fresh_message_allowance(limits):
    """The per-visitor limit used to reset with every new visitor; the address is counted too."""
    limits.CHAT_RATE_LIMIT = "100/minute"
    limits.CHAT_IP_MESSAGE_RATE_LIMIT = "4/minute"
    site = await acreate(SiteFactory)
    codes = []
    for i in range(3):
        communicator, _ = await started(site, "198.51.100.99")
        try:
            for j in range(2):
                await communicator.send_json_to({"type": "message", "text": f"msg {i}.{j}", "id": f"{i}-{j}"})
                frame = await communicator.receive_json_from(timeout=5)
                codes.append(frame.get("code") or frame["type"])
                if frame["type"] == "typing":
                    await communicator.receive_json_from(timeout=5)
        finally:
            await communicator.disconnect()
    assert codes == ["typing"] * 4 + ["rate_limited"] * 2
    assert await Message.objects.filter(sender=Message.Sender.VISITOR).acount() == 4


async def test_sockets_per_address_are_limited_and_freed_on_close(limits):
    limits.CHAT_MAX_SOCKETS_PER_IP = 2
    first, second = await open_socket("203.0.113.77"), await open_socket("203.0.113.77")
    third = await open_socket("203.0.113.77")
    assert await third.receive_json_from(timeout=5) == error("too_many_connections")
    assert await closed_with(third, TRY_AGAIN)
    await third.disconnect()
    elsewhere = await open_socket("203.0.113.78")
    assert await elsewhere.receive_nothing(timeout=0.3)
    await first.disconnect()
    fourth = await open_socket("203.0.113.77")
    try:
        assert await fourth.receive_nothing(timeout=0.3)  # accepted, no error
    finally:
        for communicator in (second, fourth, elsewhere):
            await communicator.disconnect()


async def test_an_address_opening_sockets_too_fast_is_refused_at_the_handshake(limits):
    limits.CHAT_IP_CONNECTION_RATE_LIMIT = "3/minute"
    for _ in range(3):
        communicator = await open_socket("198.51.100.150")
        await communicator.disconnect()
    refused = communicator_from("198.51.100.150")
    connected, code = await refused.connect(timeout=5)  # held a moment, then refused
    assert (connected, code) == (False, TRY_AGAIN)
    elsewhere = await open_socket("198.51.100.151")
    await elsewhere.disconnect()


async def test_a_socket_that_never_starts_is_closed(limits):
    limits.CHAT_START_TIMEOUT_SECONDS = 1
    site = await acreate(SiteFactory)
    idle = await open_socket("192.0.2.1")
    chatting, frame = await started(site, "192.0.2.2")
    try:
        assert frame["type"] == "session"
        assert await idle.receive_json_from(timeout=3) == error("start_timeout")
        assert await closed_with(idle, POLICY)
        assert await chatting.receive_nothing(timeout=0.5)  # a started socket stays open
    finally:
        await idle.disconnect()
        await chatting.disconnect()


async def test_daily_cap_per_site_refuses_new_conversations_and_keeps_current_ones(limits):
    site = await acreate(SiteFactory, daily_conversation_limit=2)
    first, session = await started(site, "192.0.2.10")
    second, _ = await started(site, "192.0.2.11")
    third, frame = await started(site, "192.0.2.12")
    try:
        assert frame == error("site_daily_limit")
        assert await Conversation.objects.filter(site=site).acount() == 2
        # Visitors already chatting carry on.
        await first.send_json_to({"type": "message", "text": "still here", "id": "s1"})
        assert (await first.receive_json_from(timeout=5))["type"] == "typing"
        resumed, frame = await started(site, "192.0.2.13", visitor=session["visitor"])
        assert frame["type"] == "session" and frame["conversation"] == session["conversation"]
        await resumed.disconnect()
    finally:
        for communicator in (first, second, third):
            await communicator.disconnect()
