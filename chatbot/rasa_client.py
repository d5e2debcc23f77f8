"""The web process's only way to talk to the Rasa server (internal, REST channel)."""

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from django.conf import settings

from chatbot.services import BotReply

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa could not be reached, failed, or did not answer within the timeout."""


@dataclass(frozen=True)
class Interpretation:
    intent: str
    confidence: float | None
    entities: list[dict]
    requested_slot: str


NO_INTERPRETATION = Interpretation(intent="", confidence=None, entities=[], requested_slot="")


_sessions: dict[int, aiohttp.ClientSession] = {}


def _session() -> aiohttp.ClientSession:
    # One pooled session per event loop: uvicorn runs one loop, tests run several.
    loop = asyncio.get_running_loop()
    session = _sessions.get(id(loop))
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.RASA_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=200),
        )
        _sessions[id(loop)] = session
    return session


async def session_close() -> None:
    """Close this loop's pooled session (tests and shutdown hooks)."""
    session = _sessions.pop(id(asyncio.get_running_loop()), None)
    if session is not None:
        await session.close()


def reply_from_rasa(item: dict) -> BotReply | None:
    text = item.get("text") or ""
    buttons = [
        {"title": str(b.get("title", ""))[:200], "payload": str(b.get("payload", ""))[:500]}
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    ]
    if not text and not buttons:
        return None
    return BotReply(text=text, buttons=buttons)


async def bot_send(*, conversation_id: str, text: str, metadata: dict) -> list[BotReply]:
    url = f"{settings.RASA_URL}/webhooks/rest/webhook"
    payload = {"sender": conversation_id, "message": text, "metadata": metadata}
    try:
        async with _session().post(url, json=payload) as response:
            if response.status != 200:
                raise BotUnavailable(f"Rasa answered HTTP {response.status}")
            body = await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("Rasa unavailable for %s: %r", conversation_id, exc)
        raise BotUnavailable(str(exc)) from exc
    replies = [reply_from_rasa(item) for item in body if isinstance(item, dict)]
    return [r for r in replies if r is not None]


async def bot_interpretation(*, conversation_id: str) -> Interpretation:
    """The intent Rasa gave the latest visitor message (for transcripts and analytics)."""
    url = f"{settings.RASA_URL}/conversations/{conversation_id}/tracker"
    try:
        async with _session().get(url, params={"include_events": "NONE"}) as response:
            if response.status != 200:
                return NO_INTERPRETATION
            tracker = await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return NO_INTERPRETATION
    latest = tracker.get("latest_message") or {}
    intent = latest.get("intent") or {}
    entities = [
        {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor") if k in e}
        for e in latest.get("entities") or []
        if isinstance(e, dict)
    ]
    active_form = (tracker.get("active_loop") or {}).get("name")
    requested = (tracker.get("slots") or {}).get("requested_slot") if active_form else None
    return Interpretation(
        intent=intent.get("name") or "",
        confidence=intent.get("confidence"),
        entities=entities,
        requested_slot=requested or "",
    )
