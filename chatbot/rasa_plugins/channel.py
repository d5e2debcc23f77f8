"""The web process's channel into Rasa: the REST channel plus the turn's interpretation.

Loaded by the Rasa server (credentials.yml names it), never by Django. Rasa's
stock REST channel answers only with the bot's messages, so the web process
used to ask `/conversations/<id>/tracker` after every turn to learn the intent,
entities and form question: a second request per turn that doubled the load on
Rasa. This channel answers one POST with both, taken from the tracker the turn
ends with (chatbot/rasa_plugins/tracker_store.py hands it over as Rasa saves it), and
reports a failed turn as an error instead of an empty reply, so the visitor is
told the bot is unavailable rather than left waiting.

POST /webhooks/leadbot/webhook {"sender", "message", "metadata"} →
{"messages": [...], "interpretation": {"intent", "confidence", "entities", "requested_slot"}}
"""

import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from chatbot.rasa_plugins.tracker_store import awaited, interpretation_from_tracker

log = logging.getLogger(__name__)


async def interpretation_read(agent: Any, sender: str) -> dict:
    """The turn's interpretation read back from the tracker store, when no LeadbotTrackerStore handed it over."""
    try:
        tracker = await agent.tracker_store.retrieve(sender)
    except Exception:  # the replies matter more than their labels
        log.exception("could not read the tracker of %s", sender)
        return {}
    return interpretation_from_tracker(tracker) if tracker is not None else {}


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
            collector = CollectingOutputChannel()
            awaited[sender] = {}
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata=body.get("metadata"))
                )
            except Exception:
                log.exception("turn failed for %s", sender)
                return response.json({"error": "turn failed", "messages": collector.messages}, status=500)
            finally:
                interpretation = awaited.pop(sender, None)
            if not interpretation:
                interpretation = await interpretation_read(request.app.ctx.agent, sender)
            return response.json({"messages": collector.messages, "interpretation": interpretation})

        return webhook
