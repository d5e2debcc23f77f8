"""The web process's only way to talk to the Rasa server (internal, REST channel)."""

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from django.conf import settings

from chatbot.services import NO_INTERPRETATION, BotReply, Interpretation

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa could not be reached, failed, or did not answer within the timeout."""


_sessions: dict[int, aiohttp.ClientSession] = {}
# Rasa keeps an idle connection open for 120 s (its --keep-alive-timeout default); closing
# ours well before means we never send a turn down a connection Rasa is closing.
KEEPALIVE_SECONDS = 60


def _session() -> aiohttp.ClientSession:
    """This event loop's pooled session: at most RASA_MAX_CONNECTIONS kept-alive connections.

    Rasa runs its model on its one event loop thread, so turns beyond a few in flight
    only take turns on that thread; and a busy Rasa accepts and reads a *new*
    connection seconds later than a request on a kept-alive one. An unbounded pool
    opened one new connection per visitor in a burst of new conversations, and those
    turns waited up to the visitor timeout. With the bound, a burst queues here, in
    order, for connections Rasa is already reading. The total timeout includes that
    wait, so a visitor still hears "unavailable" after RASA_TIMEOUT_SECONDS.
    One session per loop: uvicorn runs one loop, tests run several.
    """
    loop = asyncio.get_running_loop()
    session = _sessions.get(id(loop))
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.RASA_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=settings.RASA_MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS),
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


@dataclass(frozen=True)
class BotTurn:
    replies: list[BotReply]
    interpretation: Interpretation


def interpretation_from_rasa(data: object) -> Interpretation:
    if not isinstance(data, dict) or not data.get("intent"):
        return NO_INTERPRETATION
    confidence = data.get("confidence")
    entities = data.get("entities")
    return Interpretation(
        intent=str(data["intent"]),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        entities=[e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else [],
        requested_slot=str(data.get("requested_slot") or ""),
    )


async def bot_send(*, conversation_id: str, text: str, metadata: dict) -> BotTurn:
    """One turn: the bot's replies and Rasa's reading of the visitor's message, in one request.

    Goes through our own channel (chatbot/rasa_plugins/channel.py) so Rasa is asked once per turn.
    """
    url = f"{settings.RASA_URL}/webhooks/leadbot/webhook"
    payload = {"sender": conversation_id, "message": text, "metadata": metadata}
    try:
        async with _session().post(url, json=payload) as response:
            if response.status != 200:
                raise BotUnavailable(f"Rasa answered HTTP {response.status}")
            body = await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("Rasa unavailable for %s: %r", conversation_id, exc)
        raise BotUnavailable(str(exc)) from exc
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise BotUnavailable("Rasa's answer had no messages list")
    replies = [reply_from_rasa(item) for item in body["messages"] if isinstance(item, dict)]
    return BotTurn(
        replies=[r for r in replies if r is not None],
        interpretation=interpretation_from_rasa(body.get("interpretation")),
    )


async def tracker_event(*, conversation_id: str, event: str) -> bool:
    """Append a ``pause`` or ``resume`` event to the conversation's tracker (Rasa's HTTP API).

    A paused tracker makes the bot predict nothing, and on ``resume`` it carries on with every slot
    and the open form as they were: the record of a rep's takeover in the bot's own memory. False
    when Rasa's API is off (no RASA_API_TOKEN) or did not take the event.
    """
    if event not in {"pause", "resume"}:
        raise ValueError(event)
    if not settings.RASA_API_TOKEN:
        return False
    url = f"{settings.RASA_URL}/conversations/{conversation_id}/tracker/events"
    try:
        async with _session().post(
            url, params={"token": settings.RASA_API_TOKEN, "include_events": "NONE"}, json={"event": event}
        ) as response:
            if response.status != 200:
                log.warning("Rasa refused the %s event for %s: HTTP %s", event, conversation_id, response.status)
                return False
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        log.warning("Rasa unavailable for the %s event of %s: %r", event, conversation_id, exc)
        return False
    return True
