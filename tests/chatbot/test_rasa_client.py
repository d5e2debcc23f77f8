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
