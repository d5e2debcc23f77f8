"""Rasa's action webhook served by Django: token, bad calls, and a real action run."""

import json

import pytest
from django.test import AsyncClient

from chatbot.models import Conversation
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


def post(client: AsyncClient, body, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


async def test_session_start_stores_the_time_zone(settings):
    conversation = await acreate(ConversationFactory)
    sender = str(conversation.public_id)
    response = await post(AsyncClient(), action_call(sender, {"timezone": "Asia/Kolkata"}), settings.RASA_ACTION_TOKEN)
    assert response.status_code == 200
    events = response.json()["events"]
    assert {"event": "slot", "name": "timezone", "value": "Asia/Kolkata"}.items() <= next(
        e for e in events if e["event"] == "slot"
    ).items()
    assert events[0]["event"] == "session_started" and events[-1]["event"] == "action"
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == "Asia/Kolkata"


async def test_unknown_time_zone_is_ignored(settings):
    conversation = await acreate(ConversationFactory)
    response = await post(
        AsyncClient(),
        action_call(str(conversation.public_id), {"timezone": "Nowhere/Land"}),
        settings.RASA_ACTION_TOKEN,
    )
    assert response.status_code == 200
    assert not [e for e in response.json()["events"] if e["event"] == "slot" and e["name"] == "timezone"]
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == ""


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_missing_or_wrong_token_is_refused(settings, token):
    conversation = await acreate(ConversationFactory)
    response = await post(AsyncClient(), action_call(str(conversation.public_id), {"timezone": "UTC"}), token)
    assert response.status_code == 403
    assert (await Conversation.objects.aget(pk=conversation.pk)).timezone == ""


async def test_bad_body_and_unknown_action(settings):
    client = AsyncClient()
    assert (await post(client, "{nope", settings.RASA_ACTION_TOKEN)).status_code == 400
    assert (await post(client, {"sender_id": "x"}, settings.RASA_ACTION_TOKEN)).status_code == 400
    response = await post(client, action_call("x", action="action_does_not_exist"), settings.RASA_ACTION_TOKEN)
    assert response.status_code == 404 and response.json()["action_name"] == "action_does_not_exist"
    assert (await client.get(URL)).status_code == 405
