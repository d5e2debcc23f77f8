"""The web process's HTTP client to Rasa, against a stand-in Rasa that counts connections.

A busy Rasa serves requests on new connections seconds later than on kept-alive
ones (chatbot/rasa_client.py), so a burst of turns must share a bounded set of
connections instead of opening one per visitor.
"""

import asyncio

import pytest
from aiohttp import web

from chatbot import rasa_client


class StandInRasa:
    """Answers the leadbot webhook after a short think, recording connections and concurrency."""

    def __init__(self) -> None:
        self.think = 0.05
        self.connections: set[tuple] = set()
        self.in_flight = self.most_in_flight = 0

    async def webhook(self, request: web.Request) -> web.Response:
        self.connections.add(request.transport.get_extra_info("peername"))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = await request.json()
            await asyncio.sleep(self.think)
            return web.json_response({"messages": [{"text": f"echo {body['message']}"}], "interpretation": {}})
        finally:
            self.in_flight -= 1


@pytest.fixture
async def stand_in_rasa(settings):
    rasa = StandInRasa()
    app = web.Application()
    app.router.add_post("/webhooks/leadbot/webhook", rasa.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings.RASA_URL = f"http://127.0.0.1:{port}"
    settings.RASA_MAX_CONNECTIONS = 4
    settings.RASA_TIMEOUT_SECONDS = 5
    yield rasa
    await rasa_client.session_close()
    await runner.cleanup()


async def send(text: str) -> str:
    turn = await rasa_client.bot_send(conversation_id=text, text=text, metadata={})
    return turn.replies[0].text


async def test_a_burst_of_turns_shares_a_bounded_set_of_kept_alive_connections(stand_in_rasa):
    texts = [f"visitor {i}" for i in range(12)]

    replies = await asyncio.gather(*(send(text) for text in texts))
    await asyncio.gather(*(send(text) for text in texts))  # the next turns reuse them

    assert replies == [f"echo {text}" for text in texts]
    assert stand_in_rasa.most_in_flight == 4
    assert len(stand_in_rasa.connections) == 4


async def test_waiting_for_a_connection_counts_towards_the_visitor_timeout(stand_in_rasa, settings):
    stand_in_rasa.think = 0.2
    settings.RASA_TIMEOUT_SECONDS = 0.5  # the first 4 turns fit; the last 4 in line would answer after 1 s

    results = await asyncio.gather(*(send(f"visitor {i}") for i in range(20)), return_exceptions=True)

    assert any(isinstance(r, rasa_client.BotUnavailable) for r in results)
    assert any(isinstance(r, str) for r in results)


class NamedStandIn(StandInRasa):
    """A stand-in that says which server it is and how often its health check was asked."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name, self.think, self.probes, self.turns = name, 0, 0, []

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.turns.append((body["sender"], body.get("message_id")))
        return web.json_response({"messages": [{"text": self.name}], "interpretation": {}})

    async def root(self, request: web.Request) -> web.Response:
        self.probes += 1
        return web.Response(text="Hello from Rasa")


async def serve(rasa: NamedStandIn, port: int = 0) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/webhooks/leadbot/webhook", rasa.webhook)
    app.router.add_get("/", rasa.root)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def two_stand_ins(settings):
    a, b = NamedStandIn("a"), NamedStandIn("b")
    (runner_a, url_a), (runner_b, url_b) = await serve(a), await serve(b)
    settings.RASA_URLS = [url_a, url_b]
    settings.RASA_PROBE_SECONDS = 0.5
    settings.RASA_TIMEOUT_SECONDS = 5
    yield {"a": (a, runner_a, url_a), "b": (b, runner_b, url_b)}
    await rasa_client.session_close()
    await runner_a.cleanup()
    await runner_b.cleanup()


async def answer(conversation: str, message_id: str = "") -> str:
    turn = await rasa_client.bot_send(conversation_id=conversation, text="hi", metadata={}, message_id=message_id)
    return turn.replies[0].text


async def test_each_conversation_stays_on_its_server(two_stand_ins):
    conversations = [f"conversation-{i}" for i in range(40)]
    first = [await answer(c) for c in conversations]
    again = [await answer(c) for c in conversations]

    assert first == again
    assert set(first) == {"a", "b"}


async def test_a_dead_server_hands_its_turn_to_the_next_and_rejoins_when_it_answers(two_stand_ins):
    a, runner_a, url_a = two_stand_ins["a"]
    b = two_stand_ins["b"][0]
    on_a = next(c for c in (f"conversation-{i}" for i in range(100)) if rasa_client.ring().server_for(c) == url_a)
    port = int(url_a.rsplit(":", 1)[1])
    await runner_a.cleanup()  # connection refused from now on

    assert await answer(on_a, "m1") == "b"  # the same turn, retried at once on the next server
    assert b.turns == [(on_a, "m1")]
    assert not rasa_client.ring().is_up(url_a)

    a_again = NamedStandIn("a")
    runner, _ = await serve(a_again, port)
    try:
        assert await answer(on_a, "m2") == "b"  # not probed again before the interval
        assert a_again.probes == 0
        await asyncio.sleep(0.6)
        assert await answer(on_a, "m3") == "a"  # probed (GET /), back in the ring, its conversations back
        assert a_again.probes == 1 and rasa_client.ring().is_up(url_a)
    finally:
        await runner.cleanup()


async def test_every_server_down_is_bot_unavailable(two_stand_ins):
    for _, runner, _ in two_stand_ins.values():
        await runner.cleanup()
    with pytest.raises(rasa_client.BotUnavailable):
        await answer("conversation-1")
