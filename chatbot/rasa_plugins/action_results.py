"""Rasa checks every answer of the action server against a JSON schema with one compiled validator.

Loaded by the Rasa server with our channel (chatbot/rasa_plugins/channel.py), never by Django.
Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)``
for every custom action and form validation it runs, and ``jsonschema.validate`` first checks the
schema itself against the JSON Schema meta-schema before it reads the answer. Our turns run one or
two actions, so that meta-schema check took about 30 % of the Rasa server's core under load
(py-spy, `make bot-eval`), more than the NLU model.

``install()`` compiles the validator once per action class, on first use, and checks each answer
with it. An answer it finds wrong is handed to Rasa's own method, so Rasa reports it exactly as
before (its ``ValidationError``, with its message); a right answer is accepted as before.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

rasa_validate = RemoteAction._validate_action_result


@cache
def validator(action_class: type[RemoteAction]) -> Any:
    schema = action_class.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, where jsonschema.validate does it on every call
    return cls(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if validator(type(self)).is_valid(result):
        return True
    return rasa_validate(self, result)  # raises Rasa's own error for the answer


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
