"""Rasa's custom-action webhook, served by Django itself.

rasa_sdk's ActionExecutor runs the actions registered from each app's
`actions` module, so actions call our services directly and no separate
action-server process is needed. Rasa authenticates with a shared bearer token.
"""

import hmac
import importlib
import json
import logging
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
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


def token_valid(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.RASA_ACTION_TOKEN.encode())


@csrf_exempt
@require_POST
async def action_webhook(request: HttpRequest) -> JsonResponse:
    if not token_valid(request):
        return JsonResponse({"error": "invalid or missing action token"}, status=403)
    try:
        action_call = json.loads(request.body)
        if not isinstance(action_call, dict) or "next_action" not in action_call:
            raise ValueError("next_action missing")
    except ValueError as exc:
        return JsonResponse({"error": f"bad action call: {exc}"}, status=400)
    try:
        response = await action_executor().run(action_call)
    except ActionNotFoundException as exc:
        return JsonResponse({"error": exc.message, "action_name": exc.action_name}, status=404)
    except ActionExecutionRejection as exc:
        return JsonResponse({"error": exc.message, "action_name": exc.action_name}, status=400)
    return JsonResponse(response or {"events": [], "responses": []})
