"""Rasa's tracker store hands each turn's interpretation to our channel as the turn is saved.

The channel used to read the whole tracker back after every turn, on the Rasa
thread that also runs the model (chatbot/rasa_plugins/tracker_store.py). That the
Rasa server is configured with this store is checked in the web suite
(tests/chatbot/test_rasa_tracker_store.py), where the endpoints file is written.
"""

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

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
