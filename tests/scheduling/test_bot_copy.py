"""Scheduling's bot copy lives in its domain file: the actions name responses, never write text.

Parsed from the sources and the domain YAML, so a new `utter_message(text=...)` (however it is
spelled) or a response name without its entry in scheduling.yml fails here before any
conversation runs. tests/chatbot/test_bot_copy.py checks every domain has two wordings per
response; this file adds what scheduling's zone wording needs.
"""

import ast
from pathlib import Path

import pytest

from tests.scheduling.bot_domain import domain_file, placeholders

ACTIONS = Path(__file__).resolve().parents[2] / "scheduling" / "actions.py"
TREE = ast.parse(ACTIONS.read_text())
RESPONSES = domain_file("scheduling.yml")["responses"]


def response_names_in_actions() -> set[str]:
    return {
        node.value
        for node in ast.walk(TREE)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("utter_")
    }


def test_no_action_writes_text():
    calls = [
        node
        for node in ast.walk(TREE)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "utter_message"
    ]
    assert calls, "the actions speak through dispatcher.utter_message"
    for call in calls:
        assert "text" not in {k.arg for k in call.keywords}, f"utter_message(text=...) at line {call.lineno}"
    assert "utter_message(text=" not in ACTIONS.read_text()


def test_the_actions_use_responses_the_domain_has():
    used = response_names_in_actions()
    assert {"utter_offer_slots", "utter_booked", "utter_nobody_free", "utter_button_other_times"} <= used
    assert used - RESPONSES.keys() == set()


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_a_response_that_names_the_zone_can_be_said_without_it(name):
    """The zone is unknown for some visitors: the bot then says "in UTC" separately and uses a
    variation without {zone_label} (the NLG skips variations whose variables have no value)."""
    variations = [placeholders(v["text"]) for v in RESPONSES[name]]
    if any("zone_label" in names for names in variations):
        assert any("zone_label" not in names for names in variations)
    # Every variation of a response needs the same variables apart from the zone.
    assert len({frozenset(names - {"zone_label"}) for names in variations}) == 1
