"""A widget tab over a real WebSocket to a web process (aiohttp's client), for the fault tests."""

import json
import time

import aiohttp

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

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
