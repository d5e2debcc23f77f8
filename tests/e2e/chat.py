"""Drives a conversation through the real consumer (and, with `rasa_settings`, the real Rasa)."""

import asyncio

from channels.db import database_sync_to_async

from chatbot.models import Message
from tests.conftest import chat_communicator
from tests.factories import TEST_ORIGIN

TURN_TIMEOUT = 30
QUIET_AFTER_REPLY = 0.4


class Chat:
    def __init__(self, communicator, session: dict) -> None:
        self.communicator = communicator
        self.session = session
        self.conversation_id = session["conversation"]
        self.visitor = session["visitor"]
        self.turn = 0

    @classmethod
    async def open(cls, site, *, timezone="Europe/Berlin", visitor=None, origin=TEST_ORIGIN, utm=None, page=None):
        communicator = chat_communicator(origin)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_json_to(
            {
                "type": "start",
                "site": site.embed_key,
                "visitor": visitor,
                "timezone": timezone,
                "page": page or "https://www.customer.example/pricing",
                "utm": utm or {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "forecasting"},
            }
        )
        session = await communicator.receive_json_from(timeout=10)
        assert session["type"] == "session", session
        return cls(communicator, session)

    async def say(self, text: str) -> list[dict]:
        """Send one visitor message; return the bot frames of this turn."""
        self.turn += 1
        await self.communicator.send_json_to({"type": "message", "text": text, "id": f"turn-{self.turn}"})
        replies: list[dict] = []
        while True:
            # receive_nothing does not cancel the app on timeout (receive_json_from does).
            if replies and await self.communicator.receive_nothing(timeout=QUIET_AFTER_REPLY):
                return replies
            try:
                frame = await self.communicator.receive_json_from(timeout=TURN_TIMEOUT)
            except asyncio.TimeoutError:
                raise AssertionError(f"no reply to {text!r} within {TURN_TIMEOUT}s") from None
            if frame["type"] == "error":
                raise AssertionError(f"error frame for {text!r}: {frame}")
            if frame["type"] == "bot":
                replies.append(frame)

    async def say_text(self, text: str) -> str:
        """The bot's replies to `text`, joined, for assertions on wording."""
        return "\n".join(r["text"] for r in await self.say(text))

    async def settled(self, timeout: float = 10) -> None:
        """Wait until every answered visitor message carries Rasa's intent (written after the reply)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            pending = await database_sync_to_async(
                Message.objects.filter(
                    conversation__public_id=self.conversation_id,
                    sender=Message.Sender.VISITOR,
                    delivery=Message.Delivery.DELIVERED,
                    intent="",
                ).count
            )()
            if not pending:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("visitor messages were not labelled with intents in time")

    async def close(self) -> None:
        await self.communicator.disconnect(timeout=10)
