"""The web process's channel into Rasa: the REST channel plus the turn's interpretation.

Loaded by the Rasa server (credentials.yml names it), never by Django. Rasa's
stock REST channel answers only with the bot's messages, so the web process
used to ask `/conversations/<id>/tracker` after every turn to learn the intent,
entities and form question: a second request per turn that doubled the load on
Rasa. This channel answers one POST with both, taken from the tracker the turn
ends with (chatbot/rasa_plugins/tracker_store.py hands it over as Rasa saves it), and
reports a failed turn as an error instead of an empty reply, so the visitor is
told the bot is unavailable rather than left waiting.

POST /webhooks/leadbot/webhook {"sender", "message", "metadata", "message_id"} →
{"messages": [...], "interpretation": {"intent", "confidence", "entities", "requested_slot"}}

A turn is idempotent by its ``message_id``: the web process sends a message again when it
cannot know whether a server took it (a timeout, a server killed mid-turn, a stopped server
that wakes up later and reads the request it had queued). Under the conversation's lock
(Rasa's lock store, Redis when several servers share the tracker store), a message the
tracker already holds is answered with the bot messages that followed it then, and is not
handled again, whichever server handled it first.
"""

import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from chatbot.rasa_plugins import action_results
from chatbot.rasa_plugins.tracker_store import awaited, interpretation_from_tracker

log = logging.getLogger(__name__)
action_results.install()  # the server loads this channel: its action answers are checked cheaply


async def interpretation_read(agent: Any, sender: str) -> dict:
    """The turn's interpretation read back from the tracker store, when no LeadbotTrackerStore handed it over."""
    try:
        tracker = await agent.tracker_store.retrieve(sender)
    except Exception:  # the replies matter more than their labels
        log.exception("could not read the tracker of %s", sender)
        return {}
    return interpretation_from_tracker(tracker) if tracker is not None else {}


def leadbot_store(agent: Any) -> Any:
    """Our tracker store inside the wrappers Rasa puts around it (fail-safe, awaitable), or None."""
    store = agent.tracker_store
    for _ in range(4):
        if hasattr(store, "message_seen"):
            return store
        store = getattr(store, "_tracker_store", None) or getattr(store, "tracker_store", None)
        if store is None:
            return None
    return None


def replay_from_tracker(tracker: Any, sender: str, message_id: str) -> dict | None:
    """The answer a turn got when it was handled: the bot messages after its user event, and its reading."""
    events = list(tracker.events) if tracker is not None else []
    index = next((i for i, e in enumerate(events) if isinstance(e, UserUttered) and e.message_id == message_id), None)
    if index is None:
        return None
    messages = []
    for event in events[index + 1 :]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            message = {"recipient_id": sender, "text": event.text, "buttons": (event.data or {}).get("buttons")}
            messages.append({k: v for k, v in message.items() if v is not None})
    parse = events[index].parse_data or {}
    intent = parse.get("intent") or {}
    interpretation = {
        "intent": intent.get("name") or "",
        "confidence": intent.get("confidence"),
        "entities": [e for e in parse.get("entities") or [] if isinstance(e, dict)],
        "requested_slot": "",
    }
    return {"messages": messages, "interpretation": interpretation, "replayed": True}


async def turn_replay(agent: Any, sender: str, message_id: str) -> dict | None:
    """The recorded answer to this message, if the conversation already holds it (called under its lock)."""
    store = leadbot_store(agent)
    if store is not None and not store.message_seen(sender, message_id):
        return None  # the usual case, decided by one indexed query
    return replay_from_tracker(await agent.tracker_store.retrieve(sender), sender, message_id)


class LeadbotInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "leadbot"

    def blueprint(self, on_new_message) -> Blueprint:
        webhook = Blueprint("leadbot_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message are required strings"}, status=400)
            message_id = body.get("message_id")
            if message_id is not None and (not isinstance(message_id, str) or len(message_id) > 64):
                return response.json({"error": "message_id must be a short string"}, status=400)
            agent = request.app.ctx.agent
            if not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender, input_channel=self.name(), metadata=body.get("metadata"), message_id=message_id
            )
            awaited[sender] = {}
            try:
                # Agent.handle_message, with the replay check inside the same lock.
                async with agent.lock_store.lock(sender):
                    replay = await turn_replay(agent, sender, message_id) if message_id else None
                    if replay is not None:
                        log.info("message %s of %s was handled before: answered from the tracker", message_id, sender)
                        return response.json(replay)
                    await agent.processor.handle_message(message)
            except Exception:
                log.exception("turn failed for %s", sender)
                return response.json({"error": "turn failed", "messages": collector.messages}, status=500)
            finally:
                interpretation = awaited.pop(sender, None)
            if not interpretation:
                interpretation = await interpretation_read(request.app.ctx.agent, sender)
            return response.json({"messages": collector.messages, "interpretation": interpretation})

        return webhook
