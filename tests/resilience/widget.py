"""A widget tab over a real WebSocket to a web process (aiohttp's client), for the fault tests."""

import asyncio
import json
import time

import aiohttp

from chatbot.models import Message
from tests.factories import TEST_ORIGIN


class Tab:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.ws, self.frames = http, url, None, []
        self.session: dict = {}

    async def open(self, site, visitor: str | None = None) -> "Tab":
        self.ws = await self.http.ws_connect(self.url, headers={"Origin": TEST_ORIGIN})
        await self.ws.send_json({"type": "start", "site": site.embed_key, "visitor": visitor, "timezone": "UTC"})
        self.session = await self.until(lambda f: f["type"] == "session", 20)
        return self

    async def say(self, text: str, message_id: str) -> None:
        await self.ws.send_json({"type": "message", "text": text, "id": message_id})

    async def until(self, predicate, timeout: float) -> dict:
        """The first frame (from now on) that ``predicate`` accepts; every frame is kept in ``frames``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such frame within {timeout}s; got {self.frames[-10:]}")
            message = await self.ws.receive(timeout=remaining)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket closed: {message}")
            frame = json.loads(message.data)
            self.frames.append(frame)
            if predicate(frame):
                return frame

    async def answer(self, timeout: float = 30) -> dict:
        return await self.until(lambda f: f["type"] == "bot" and f["sender"] == "bot", timeout)

    async def reply_to(self, message_id: str, timeout: float = 30) -> dict:
        """The bot's first reply to the visitor's message ``message_id`` (sent by this tab or another).

        Frames of earlier turns still unread in this socket are skipped, by id: a reply is stored
        after the message it answers. (``answer`` would take a second reply of the turn before.)
        """
        deadline = time.monotonic() + timeout
        stored = None
        while stored is None:
            assert time.monotonic() < deadline, f"message {message_id} was never stored"
            stored = await Message.objects.filter(
                conversation__visitor__token=self.session["visitor"],
                sender=Message.Sender.VISITOR,
                client_id=message_id,
            ).afirst()
            if stored is None:
                await asyncio.sleep(0.1)
        return await self.until(
            lambda f: f["type"] == "bot" and f["sender"] == "bot" and f["id"] > stored.pk, deadline - time.monotonic()
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
