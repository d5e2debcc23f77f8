"""Rasa's action webhook served by Django: token, bad calls, and a real action run."""

import json
import subprocess
import sys

import pytest
import yaml
from channels.testing import HttpCommunicator
from django.conf import settings as django_settings

from chatbot.action_server import action_executor
from chatbot.models import Conversation
from config.asgi import application
from tests.factories import ConversationFactory, acreate

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/bot/actions/"


def action_call(sender: str, metadata: dict | None = None, action: str = "action_session_start") -> dict:
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.21",
        "domain": {"slots": {"timezone": {"type": "text"}}, "responses": {}, "actions": [], "intents": []},
        "tracker": {
            "sender_id": sender,
            "slots": {"timezone": None, "session_started_metadata": metadata},
            "latest_message": {},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }


async def post(body, token: str | None, method: str = "POST") -> tuple[int, dict]:
    headers = [(b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    response = await HttpCommunicator(application, method, URL, body=data, headers=headers).get_response(timeout=10)
    return response["status"], json.loads(response["body"])


async def test_session_start_stores_the_time_zone(settings):
    conversation = await acreate(ConversationFactory)
    sender = str(conversation.public_id)
    status, body = await post(action_call(sender, {"timezone": "Asia/Kolkata"}), settings.RASA_ACTION_TOKEN)
    assert status == 200
    events = body["events"]
    assert {"event": "slot", "name": "timezone", "value": "Asia/Kolkata"}.items() <= next(
        e for e in events if e["event"] == "slot"
    ).items()
    assert events[0]["event"] == "session_started" and events[-1]["event"] == "action"
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == "Asia/Kolkata"


async def test_unknown_time_zone_is_ignored(settings):
    conversation = await acreate(ConversationFactory)
    status, body = await post(
        action_call(str(conversation.public_id), {"timezone": "Nowhere/Land"}), settings.RASA_ACTION_TOKEN
    )
    assert status == 200
    assert not [e for e in body["events"] if e["event"] == "slot" and e["name"] == "timezone"]
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == ""


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_missing_or_wrong_token_is_refused(settings, token):
    conversation = await acreate(ConversationFactory)
    status, _ = await post(action_call(str(conversation.public_id), {"timezone": "UTC"}), token)
    assert status == 401
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == ""


async def test_bad_body_and_unknown_action(settings):
    token = settings.RASA_ACTION_TOKEN
    assert (await post("{nope", token))[0] == 400
    assert (await post({"sender_id": "x"}, token))[0] == 400
    status, body = await post(action_call("x", action="action_does_not_exist"), token)
    assert status == 404 and body["action_name"] == "action_does_not_exist"
    assert (await post("", token, method="GET"))[0] == 405


async def test_action_calls_open_no_channel_on_the_layer(settings, monkeypatch):
    """Every bot turn that runs an action calls this endpoint: it must not cost a channel-layer round trip."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    opened = []
    original = layer.new_channel

    async def counting_new_channel(*args, **kwargs):
        opened.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(layer, "new_channel", counting_new_channel)
    conversation = await acreate(ConversationFactory)
    status, _ = await post(
        action_call(str(conversation.public_id), {"timezone": "Europe/Paris"}), settings.RASA_ACTION_TOKEN
    )
    assert status == 200
    assert opened == []


def test_the_web_process_registers_the_bot_actions_before_the_first_action_call():
    # A fresh interpreter: in this one other tests may already have called the endpoint.
    probe = "import config.asgi; from chatbot.action_server import action_executor; print(action_executor.cache_info().currsize)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == "1"


def test_every_custom_action_of_the_domain_is_served():
    # chatbot names no app above it: each app registers its own actions from AppConfig.ready().
    declared = set()
    for path in (django_settings.BASE_DIR / "chatbot" / "bot" / "domain").glob("*.yml"):
        declared.update((yaml.safe_load(path.read_text()) or {}).get("actions", []))
    assert {"action_session_start", "action_qualification_decide", "action_book_slot"} <= declared
    assert declared - set(action_executor().actions) == set()
