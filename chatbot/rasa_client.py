"""The web process's only way to talk to the Rasa servers (internal, our REST channel).

With several servers (RASA_URLS), each conversation goes to the one the ring picks
(chatbot/rasa_ring.py). A request that never reached Rasa (refused, reset, closed before
an answer) marks that server down and the turn goes to the next server at once: safe,
because every turn carries its message id and a Rasa server answers a message it has
already handled with the replies it gave then (chatbot/rasa_plugins/channel.py) instead
of handling it twice. A timeout also marks the server down but is not retried here: the
visitor's wait is spent, and the caller keeps the message pending for later.
"""

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from django.conf import settings

from chatbot import live
from chatbot.rasa_ring import RasaRing
from chatbot.services import NO_INTERPRETATION, BotReply, Interpretation

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa could not be reached, failed, or did not answer within the timeout."""


_sessions: dict[int, aiohttp.ClientSession] = {}
_rings: dict[tuple, RasaRing] = {}
# A down server's health check (GET /) waits this long at most.
PROBE_TIMEOUT_SECONDS = 1.0
# Failures where Rasa cannot have started the turn, or where a retry is answered from Rasa's record.
CONNECTION_FAILURES = (aiohttp.ClientConnectionError,)


def rasa_urls() -> list[str]:
    """The configured servers: RASA_URLS (comma-separated), else the one RASA_URL."""
    return list(settings.RASA_URLS) or [settings.RASA_URL]


def ring() -> RasaRing:
    """This process's ring over the configured servers (rebuilt when the setting changes, as in tests)."""
    key = (tuple(rasa_urls()), settings.RASA_PROBE_SECONDS)
    current = _rings.get(key)
    if current is None:
        _rings.clear()
        current = _rings[key] = RasaRing(list(key[0]), probe_interval=settings.RASA_PROBE_SECONDS)
    return current


# Rasa keeps an idle connection open for 120 s (its --keep-alive-timeout default); closing
# ours well before means we never send a turn down a connection Rasa is closing.
KEEPALIVE_SECONDS = 60


def _session() -> aiohttp.ClientSession:
    """This event loop's pooled session: at most RASA_MAX_CONNECTIONS kept-alive connections per server.

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
            connector=aiohttp.TCPConnector(
                limit=0, limit_per_host=settings.RASA_MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
            ),
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


async def server_answers(url: str) -> bool:
    """Rasa's health check: does ``GET /`` answer, quickly?"""
    try:
        async with _session().get(f"{url}/", timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)) as response:
            return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


async def bot_send(*, conversation_id: str, text: str, metadata: dict, message_id: str = "") -> BotTurn:
    """One turn: the bot's replies and Rasa's reading of the visitor's message, in one request.

    Goes through our own channel (chatbot/rasa_plugins/channel.py) so Rasa is asked once per turn.
    ``message_id`` names the turn: sent again (to this server or another), it is answered, not redone.
    """
    servers = ring()
    payload = {"sender": conversation_id, "message": text, "metadata": metadata}
    if message_id:
        payload["message_id"] = message_id
    failure: Exception = BotUnavailable("no Rasa server is up")
    for url, needs_probe in servers.candidates(conversation_id):
        if needs_probe:
            if not servers.probe_claim(url) or not await server_answers(url):
                continue
            log.info("Rasa server %s is back", url)
            servers.mark_up(url)
            try:
                live.rasa_server_back.send(sender=RasaRing, url=url)
            except Exception:  # the waiting turns are still answered, on their own schedule
                log.warning("could not hurry the turns waiting for %s", url, exc_info=True)
        try:
            body = await _post(url, payload)
        except asyncio.TimeoutError as exc:
            # One slow turn is no sign the server is down: a conversation can wait on Rasa's lock for a
            # turn a killed server left behind. Taking the server out of the ring for that would fail every
            # other conversation on it until the next probe; only a server that does not answer its health
            # check either (hung, stopped) leaves the ring.
            if await server_answers(url):
                log.warning("Rasa server %s timed out for %s but answers its health check", url, conversation_id)
            else:
                log.warning("Rasa server %s timed out for %s and does not answer", url, conversation_id)
                servers.mark_down(url)
            raise BotUnavailable("Rasa timed out") from exc
        except CONNECTION_FAILURES as exc:
            # Never reached Rasa, or Rasa died with it: the next server takes the turn.
            log.warning("Rasa server %s failed for %s: %r; trying the next one", url, conversation_id, exc)
            servers.mark_down(url)
            failure = exc
            continue
        except (aiohttp.ClientError, ValueError) as exc:
            log.warning("Rasa unavailable for %s: %r", conversation_id, exc)
            raise BotUnavailable(str(exc)) from exc
        return turn_from_body(body)
    raise BotUnavailable(str(failure)) from failure


async def _post(url: str, payload: dict) -> object:
    async with _session().post(f"{url}/webhooks/leadbot/webhook", json=payload) as response:
        if response.status != 200:
            raise BotUnavailable(f"Rasa answered HTTP {response.status}")
        return await response.json()


def turn_from_body(body: object) -> BotTurn:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise BotUnavailable("Rasa's answer had no messages list")
    replies = [reply_from_rasa(item) for item in body["messages"] if isinstance(item, dict)]
    return BotTurn(
        replies=[r for r in replies if r is not None],
        interpretation=interpretation_from_rasa(body.get("interpretation")),
    )


def tracker_server(conversation_id: str) -> str:
    """The conversation's own Rasa server (its tracker's lock and cache are there)."""
    return ring().server_for(conversation_id) or rasa_urls()[0]


async def tracker_state(*, conversation_id: str) -> dict | None:
    """The conversation's tracker as Rasa holds it now (``slots``, ``active_loop``, ``paused``; no events).

    None when Rasa's API is off (no RASA_API_TOKEN) or did not answer.
    """
    if not settings.RASA_API_TOKEN:
        return None
    url = f"{tracker_server(conversation_id)}/conversations/{conversation_id}/tracker"
    try:
        async with _session().get(url, params={"token": settings.RASA_API_TOKEN, "include_events": "NONE"}) as response:
            if response.status != 200:
                log.warning("Rasa refused the tracker of %s: HTTP %s", conversation_id, response.status)
                return None
            state = await response.json()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("Rasa unavailable for the tracker of %s: %r", conversation_id, exc)
        return None
    return state if isinstance(state, dict) else None


async def tracker_events(*, conversation_id: str, events: list[dict]) -> bool:
    """Append events to the conversation's tracker in one request (Rasa's HTTP API).

    Rasa applies the whole list under the conversation's lock and saves the tracker once, so
    either every event is in the bot's memory or none is. False when Rasa's API is off (no
    RASA_API_TOKEN) or did not take the events.
    """
    if not settings.RASA_API_TOKEN:
        return False
    url = f"{tracker_server(conversation_id)}/conversations/{conversation_id}/tracker/events"
    names = ", ".join(str(event.get("event")) for event in events)
    try:
        async with _session().post(
            url, params={"token": settings.RASA_API_TOKEN, "include_events": "NONE"}, json=events
        ) as response:
            if response.status != 200:
                log.warning("Rasa refused the events (%s) for %s: HTTP %s", names, conversation_id, response.status)
                return False
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        log.warning("Rasa unavailable for the events (%s) of %s: %r", names, conversation_id, exc)
        return False
    return True


async def tracker_event(*, conversation_id: str, event: str) -> bool:
    """Append a ``pause`` or ``resume`` event to the conversation's tracker (Rasa's HTTP API).

    A paused tracker makes the bot predict nothing, and on ``resume`` it carries on with every slot
    and the open form as they were: the record of a rep's takeover in the bot's own memory (a hand
    back adds what the visitor told the rep in the same request: inbox/handback.py). False when
    Rasa's API is off (no RASA_API_TOKEN) or did not take the event.
    """
    if event not in {"pause", "resume"}:
        raise ValueError(event)
    return await tracker_events(conversation_id=conversation_id, events=[{"event": event}])
