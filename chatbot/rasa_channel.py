"""The web process's channel into Rasa: the REST channel plus the turn's interpretation.

Loaded by the Rasa server (credentials.yml names it), never by Django. Rasa's
stock REST channel answers only with the bot's messages, so the web process
used to ask `/conversations/<id>/tracker` after every turn to learn the intent,
entities and form question: a second request per turn that doubled the load on
Rasa. This channel answers one POST with both, read from the tracker Rasa just
stored, and reports a failed turn as an error instead of an empty reply, so
the visitor is told the bot is unavailable rather than left waiting.

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

log = logging.getLogger(__name__)
ENTITY_KEYS = ("entity", "value", "start", "end", "extractor")


def interpretation_from_tracker(tracker: Any) -> dict:
    latest = getattr(tracker, "latest_message", None)
    parse = (latest.parse_data if latest is not None else None) or {}
    intent = parse.get("intent") or {}
    entities = [
        {key: entity.get(key) for key in ENTITY_KEYS if key in entity}
        for entity in parse.get("entities") or []
        if isinstance(entity, dict)
    ]
    requested = tracker.get_slot("requested_slot") if tracker.active_loop_name else None
    return {
        "intent": intent.get("name") or "",
        "confidence": intent.get("confidence"),
        "entities": entities,
        "requested_slot": requested or "",
    }


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
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata=body.get("metadata"))
                )
            except Exception:
                log.exception("turn failed for %s", sender)
                return response.json({"error": "turn failed", "messages": collector.messages}, status=500)
            interpretation: dict = {}
            agent = request.app.ctx.agent
            try:
                tracker = await agent.tracker_store.retrieve(sender)
                if tracker is not None:
                    interpretation = interpretation_from_tracker(tracker)
            except Exception:  # the replies matter more than their labels
                log.exception("could not read the tracker of %s", sender)
            return response.json({"messages": collector.messages, "interpretation": interpretation})

        return webhook
