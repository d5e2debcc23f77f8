"""The action server's answers are checked with a validator compiled once (chatbot/rasa_plugins/action_results.py):
the same answers pass and fail as with Rasa's own check, and the schema is checked once, not per answer."""

import jsonschema
import pytest
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import chatbot.rasa_plugins.channel  # noqa: F401  (the server loads the channel, which installs the check)
from chatbot.rasa_plugins import action_results

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "need", "value": "routing"}], "responses": [{"response": "utter_ask_role"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
]
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"events": [], "responses": ["not an object"]},
    [],
]


@pytest.fixture
def action():
    return RemoteAction("validate_lead_form", EndpointConfig("http://127.0.0.1:9/actions"))


def test_the_server_checks_answers_with_the_compiled_validator():
    assert RemoteAction._validate_action_result is action_results.validate_action_result


@pytest.mark.parametrize("answer", GOOD)
def test_a_right_answer_passes_as_with_rasas_own_check(action, answer):
    assert action_results.rasa_validate(action, answer) is True
    assert action._validate_action_result(answer) is True


@pytest.mark.parametrize("answer", BAD)
def test_a_wrong_answer_fails_with_rasas_own_error(action, answer):
    with pytest.raises(jsonschema.ValidationError) as rasas:
        action_results.rasa_validate(action, answer)
    with pytest.raises(jsonschema.ValidationError) as ours:
        action._validate_action_result(answer)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_the_schema_is_checked_once_not_per_answer(action, monkeypatch):
    action_results.validator.cache_clear()
    cls = validator_for(RemoteAction.action_response_format_spec())
    checks = []
    real_check = cls.check_schema.__func__
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, schema: checks.append(1) or real_check(c, schema)))

    for answer in GOOD * 5:
        assert action._validate_action_result(answer) is True

    assert len(checks) == 1
