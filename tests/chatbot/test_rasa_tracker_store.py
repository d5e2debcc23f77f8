"""Rasa's tracker store hands each turn's interpretation to our channel as the turn is saved.

The channel used to read the whole tracker back after every turn, on the Rasa
thread that also runs the model (chatbot/rasa_plugins/tracker_store.py).
"""

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.management.commands.bot_endpoints import endpoints_config
from chatbot.rasa_plugins.tracker_store import LeadbotTrackerStore, awaited

ENTITY = {"entity": "company_size", "value": "300", "start": 7, "end": 10, "extractor": "DIETClassifier"}


@pytest.fixture
def store(tmp_path):
    yield LeadbotTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    awaited.clear()


def turn(sender: str) -> DialogueStateTracker:
    said = UserUttered(
        "we are 300 people",
        intent={"name": "inform_company_size", "confidence": 0.93},
        entities=[{**ENTITY, "confidence_entity": 0.99}],
    )
    return DialogueStateTracker.from_events(sender, [said])


async def test_saving_a_turn_the_channel_awaits_hands_over_its_interpretation(store):
    awaited["visitor-1"] = {}

    await store.save(turn("visitor-1"))

    assert awaited["visitor-1"] == {
        "intent": "inform_company_size",
        "confidence": 0.93,
        "entities": [ENTITY],
        "requested_slot": "",
    }
    stored = await store.retrieve("visitor-1")
    assert stored.latest_message.text == "we are 300 people"


async def test_turns_no_channel_awaits_leave_nothing_behind(store):
    await store.save(turn("visitor-2"))

    assert awaited == {}


@pytest.mark.parametrize("tracker_url", ["", "postgres://rasa@db.internal:5432/rasa_tracker"])
def test_rasa_is_configured_with_this_store(settings, tracker_url):
    settings.RASA_TRACKER_DATABASE_URL = tracker_url

    config = endpoints_config(action_url="http://127.0.0.1:8000/bot/actions/")

    assert config["tracker_store"]["type"] == "chatbot.rasa_plugins.tracker_store.LeadbotTrackerStore"
