"""Plays a persona over the widget's WebSocket, as the widget does, and reads what the product stored.

Each persona is a fresh visitor (no token) on its own connection. A turn is over when the visitor
message is marked answered in the database (the consumer stores the bot's replies, with the form slot
the bot asked for, in the same transaction); the turn's bot messages and the Lead, Meeting and handoff
flag are then read from the database, so the player sees exactly what the product recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import websockets

from chatbot.models import Conversation, Message
from config.db import db
from qualification.fact_fields import FACT_FIELDS
from qualification.models import Lead
from scheduling.models import Meeting
from tests.bot_eval.personas import Persona
from tests.bot_eval.player import Leave, Progress, next_move, progress_record
from tests.bot_eval.transcript import BotMessage, State, Transcript, Turn

TURN_TIMEOUT = 120  # seconds for one bot turn (Rasa on a busy 2-core machine can be slow)
FRAME_WAIT = 0.3
UTM = {"utm_source": "bot-eval", "utm_medium": "simulator"}


class TurnFailed(RuntimeError):
    pass


def _messages(queryset) -> list[BotMessage]:
    return [
        BotMessage(
            text=m.text,
            buttons=tuple((b.get("title", ""), b.get("payload", "")) for b in m.buttons or []),
            asked_slot=m.asked_slot,
        )
        for m in queryset
    ]


def state_read(conversation: Conversation) -> State:
    lead = Lead.objects.filter(conversation=conversation).first()
    return State(
        lead_outcome=lead.outcome if lead else "",
        decided=bool(lead and lead.decided_at),
        visitor_type=lead.visitor_type if lead else "",
        meeting_booked=Meeting.objects.filter(conversation=conversation, status=Meeting.Status.BOOKED).exists(),
        handoff=Conversation.objects.filter(pk=conversation.pk, handoff_requested=True).exists(),
    )


def turn_read(public_id: str, client_id: str) -> tuple[list[BotMessage], State, str] | None:
    """The bot's messages after the visitor message `client_id` and the stored state; None while unanswered."""
    visitor = (
        Message.objects.select_related("conversation")
        .filter(conversation__public_id=public_id, sender=Message.Sender.VISITOR, client_id=client_id)
        .first()
    )
    if visitor is None or visitor.delivery == Message.Delivery.PENDING:
        return None
    replies = (
        Message.objects.filter(conversation=visitor.conversation, id__gt=visitor.id)
        .exclude(sender=Message.Sender.VISITOR)
        .order_by("id")
    )
    note = "the bot was unavailable (Rasa did not answer in time)" if visitor.delivery == "failed" else ""
    return _messages(replies), state_read(visitor.conversation), note


def final_read(public_id: str) -> dict:
    conversation = Conversation.objects.get(public_id=public_id)
    lead = Lead.objects.filter(conversation=conversation).first()
    return {
        "lead": {"outcome": lead.outcome, **{f: getattr(lead, f) for f in FACT_FIELDS}} if lead else None,
        "meeting_booked": Meeting.objects.filter(conversation=conversation, status=Meeting.Status.BOOKED).exists(),
        "handoff": conversation.handoff_requested,
    }


@dataclass
class Endpoint:
    """Where the widget connects: the web process's WebSocket, an allowed origin and the site's embed key."""

    ws_url: str
    origin: str
    site_key: str
    page: str


class WidgetSession:
    def __init__(self, ws, public_id: str) -> None:
        self.ws = ws
        self.public_id = public_id
        self.sent = 0

    async def say(self, text: str) -> tuple[list[BotMessage], State, str, float]:
        self.sent += 1
        client_id = f"sim-{self.sent}"
        frame = json.dumps({"type": "message", "text": text, "id": client_id})
        await self.ws.send(frame)
        waited = 0.0
        deadline = time.monotonic() + TURN_TIMEOUT
        while time.monotonic() < deadline:
            try:
                incoming = json.loads(await asyncio.wait_for(self.ws.recv(), FRAME_WAIT))
            except asyncio.TimeoutError:
                incoming = None
            if incoming and incoming.get("type") == "error":
                if incoming.get("code") == "rate_limited":
                    # The widget's per-visitor limit: wait for the next window and send it again.
                    pause = 61 - time.time() % 60
                    waited += pause
                    await asyncio.sleep(pause)
                    deadline = time.monotonic() + TURN_TIMEOUT
                    await self.ws.send(frame)
                    continue
                raise TurnFailed(f"error frame for {text!r}: {incoming}")
            if incoming is None or incoming.get("type") == "bot":
                done = await db(turn_read)(self.public_id, client_id)
                if done is not None:
                    return (*done, waited)
        raise TurnFailed(f"no answer to {text!r} within {TURN_TIMEOUT} s")


async def persona_play(persona: Persona, endpoint: Endpoint) -> Transcript:
    """One persona's whole conversation over a fresh WebSocket, and what it stored."""
    transcript = Transcript(persona_id=persona.id, kind=persona.kind)
    async with websockets.connect(endpoint.ws_url, origin=endpoint.origin, max_size=2**20, open_timeout=30) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "start",
                    "site": endpoint.site_key,
                    "visitor": None,
                    "timezone": persona.timezone,
                    "page": persona.page or endpoint.page,
                    "utm": UTM,
                }
            )
        )
        while True:
            session = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if session.get("type") == "session":
                break
            if session.get("type") == "error" and session.get("code") != "invalid_timezone":
                raise TurnFailed(f"could not start a conversation: {session}")
        transcript.conversation_id = session["conversation"]
        transcript.greeting = [
            BotMessage(text=h["text"], buttons=tuple((b["title"], b["payload"]) for b in h.get("buttons") or []))
            for h in session.get("history") or []
            if h.get("sender") == Message.Sender.BOT
        ]
        chat = WidgetSession(ws, transcript.conversation_id)
        progress = Progress()
        try:
            while True:
                move = next_move(persona, progress, transcript.turns)
                if isinstance(move, Leave):
                    transcript.end = move.why
                    break
                messages, state, note, waited = await chat.say(move.text)
                progress_record(progress, move)
                transcript.turns.append(
                    Turn(
                        visitor=move.text,
                        why=move.why,
                        bot=messages,
                        state=state,
                        facts=move.facts,
                        pressed=move.pressed,
                        stop=move.stop,
                        note=note,
                        waited=waited,
                    )
                )
        except (TurnFailed, websockets.ConnectionClosed) as error:
            transcript.errors.append(str(error) or repr(error))
            transcript.end = "aborted"
    transcript.final = await db(final_read)(transcript.conversation_id)
    unsent = [i.text for n, i in enumerate(persona.interjections) if n not in progress.interjections_sent]
    if unsent:
        transcript.end += f" (interjections never sent: {unsent})"
    return transcript


async def personas_play(personas: list[Persona], endpoint: Endpoint, *, jobs: int = 1, on_done=None):
    """Every persona, `jobs` at a time; transcripts in the personas' order."""
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(persona: Persona) -> Transcript:
        async with gate:
            try:
                transcript = await persona_play(persona, endpoint)
            except (OSError, asyncio.TimeoutError, TurnFailed, websockets.WebSocketException) as error:
                transcript = Transcript(persona_id=persona.id, kind=persona.kind, end="aborted")
                transcript.errors.append(f"could not play: {error!r}")
            if on_done is not None:
                on_done(persona, transcript)
            return transcript

    return await asyncio.gather(*(one(p) for p in personas))
