"""The Rasa server is configured with our tracker store (chatbot/rasa_plugins/tracker_store.py).

What the store does inside Rasa is tested in the Rasa environment (tests/rasa_env/test_tracker_store.py).
"""

import pytest

from chatbot.management.commands.bot_endpoints import endpoints_config


@pytest.mark.parametrize("tracker_url", ["", "postgres://rasa@db.internal:5432/rasa_tracker"])
def test_rasa_is_configured_with_this_store(settings, tracker_url):
    settings.RASA_TRACKER_DATABASE_URL = tracker_url

    config = endpoints_config(action_url="http://127.0.0.1:8000/bot/actions/")

    assert config["tracker_store"]["type"] == "chatbot.rasa_plugins.tracker_store.LeadbotTrackerStore"
