"""Rasa's custom-action webhook, served by the web process itself.

rasa_sdk's ActionExecutor runs the actions registered from each app's
`actions` module, so actions call our services directly and no separate
action-server process is needed. Rasa authenticates with a shared bearer token.

It is a Channels HTTP consumer rather than a Django view: a machine-to-machine
endpoint on the hot path of every bot turn needs no sessions, CSRF or
messages middleware, and stays fully async under load.
"""

import hmac
import importlib
import json
import logging
from functools import lru_cache

from channels.generic.http import AsyncHttpConsumer
from django.apps import apps
from django.conf import settings
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)
ACTION_APPS = ("chatbot", "qualification", "scheduling")


@lru_cache(maxsize=1)
def action_executor() -> ActionExecutor:
    executor = ActionExecutor()
    for label in ACTION_APPS:
        if not apps.is_installed(label):
            continue
        try:
            module = importlib.import_module(f"{label}.actions")
        except ModuleNotFoundError as exc:
            if exc.name != f"{label}.actions":
                raise
            continue
        executor.register_package(module)
    return executor


def token_valid(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.RASA_ACTION_TOKEN.encode())


class ActionWebhookConsumer(AsyncHttpConsumer):
    # A request/response endpoint needs no channel: without this, Channels opens a
    # channel on the layer (Redis in production) for every action call Rasa makes.
    # An alias that is not configured makes get_channel_layer() return None.
    channel_layer_alias = None

    async def reply(self, status: int, payload: dict) -> None:
        await self.send_response(status, json.dumps(payload).encode(), headers=[(b"Content-Type", b"application/json")])

    async def handle(self, body: bytes) -> None:
        if self.scope["method"] != "POST":
            await self.reply(405, {"error": "POST only"})
            return
        headers = dict(self.scope.get("headers") or [])
        if not token_valid(headers.get(b"authorization", b"").decode("latin-1")):
            await self.reply(403, {"error": "invalid or missing action token"})
            return
        try:
            action_call = json.loads(body)
            if not isinstance(action_call, dict) or "next_action" not in action_call:
                raise ValueError("next_action missing")
        except ValueError as exc:
            await self.reply(400, {"error": f"bad action call: {exc}"})
            return
        try:
            response = await action_executor().run(action_call)
        except ActionNotFoundException as exc:
            await self.reply(404, {"error": exc.message, "action_name": exc.action_name})
            return
        except ActionExecutionRejection as exc:
            await self.reply(400, {"error": exc.message, "action_name": exc.action_name})
            return
        except Exception:
            log.exception("action %s failed", action_call.get("next_action"))
            await self.reply(500, {"error": "action failed", "action_name": action_call.get("next_action")})
            return
        await self.reply(200, response or {"events": [], "responses": []})
