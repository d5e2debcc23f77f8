"""Rasa's custom-action webhook, served by the web process itself.

rasa_sdk's ActionExecutor runs the actions of the modules each app registered
(`chatbot/action_registry.py`), so actions call our services directly and no separate
action-server process is needed. Rasa authenticates with a shared bearer token.

It is a Channels HTTP consumer rather than a Django view: a machine-to-machine
endpoint on the hot path of every bot turn needs no sessions, CSRF or
messages middleware, and stays fully async under load.

The method and the token are checked on the request's first message, before any of
its body is read, and the body is counted as it arrives: a request without the token,
or one that announces or sends more than RASA_ACTION_MAX_BODY_BYTES, is answered
(401 / 413) at once, so no caller can make the web process buffer an upload.
"""

import hmac
import importlib
import json
import logging
from functools import lru_cache

from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from chatbot.action_registry import action_modules
from config.db import DatabaseOffLoop

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def action_executor() -> ActionExecutor:
    executor = ActionExecutor()
    for name in action_modules():
        executor.register_package(importlib.import_module(name))
    return executor


def token_valid(authorization: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.RASA_ACTION_TOKEN.encode())


class ActionWebhookConsumer(DatabaseOffLoop, AsyncHttpConsumer):
    # A request/response endpoint needs no channel: without this, Channels opens a
    # channel on the layer (Redis in production) for every action call Rasa makes.
    # An alias that is not configured makes get_channel_layer() return None.
    channel_layer_alias = None

    received = 0
    admitted = False

    async def reply(self, status: int, payload: dict, headers: list | None = None) -> None:
        await self.send_response(
            status, json.dumps(payload).encode(), headers=[(b"Content-Type", b"application/json"), *(headers or [])]
        )

    async def refuse(self, status: int, payload: dict, headers: list | None = None) -> None:
        """Answer now and stop reading: the rest of the body is never buffered."""
        await self.reply(status, payload, headers)
        await self.disconnect()
        raise StopConsumer()

    async def http_disconnect(self, message: dict) -> None:
        # As in dispatch (DatabaseOffLoop): the actions' database calls close their own connections.
        await self.disconnect()
        raise StopConsumer()

    async def http_request(self, message: dict) -> None:
        if not self.admitted:
            await self.admit()
        self.received += len(message.get("body", b""))
        if self.received > settings.RASA_ACTION_MAX_BODY_BYTES:
            await self.refuse(413, {"error": "action call too large"})
        await super().http_request(message)

    async def admit(self) -> None:
        """Method, token and announced size, from the scope alone (no body read yet)."""
        if self.scope["method"] != "POST":
            await self.refuse(405, {"error": "POST only"})
        headers = dict(self.scope.get("headers") or [])
        if not token_valid(headers.get(b"authorization", b"").decode("latin-1")):
            await self.refuse(401, {"error": "invalid or missing action token"}, [(b"WWW-Authenticate", b"Bearer")])
        try:
            announced = int(headers.get(b"content-length", b"0"))
        except ValueError:
            announced = 0
        if announced > settings.RASA_ACTION_MAX_BODY_BYTES:
            await self.refuse(413, {"error": "action call too large"})
        self.admitted = True

    async def handle(self, body: bytes) -> None:
        try:
            action_call = json.loads(body)
            if not isinstance(action_call, dict) or "next_action" not in action_call:
                raise ValueError("next_action missing")
        except ValueError as exc:
            await self.reply(400, {"error": f"bad action call: {exc}"})
            return
        try:
            result = await action_executor().run(action_call)
        except ActionNotFoundException as exc:
            await self.reply(404, {"error": exc.message, "action_name": exc.action_name})
            return
        except ActionExecutionRejection as exc:
            await self.reply(400, {"error": exc.message, "action_name": exc.action_name})
            return
        except ActionMissingDomainException as exc:
            # Only with Rasa's selective domain (not enabled here) does a call come without the domain.
            await self.reply(400, {"error": exc.message, "action_name": exc.action_name})
            return
        except Exception:
            log.exception("action %s failed", action_call.get("next_action"))
            await self.reply(500, {"error": "action failed", "action_name": action_call.get("next_action")})
            return
        # rasa_sdk returns a pydantic result (events and responses); Rasa reads its JSON form.
        await self.reply(200, result.model_dump() if result is not None else {"events": [], "responses": []})
