"""How the bot words each message: the domain's responses, never the same text twice in a row.

Loaded by the Rasa server (the endpoints file names it as the `nlg` type), never by Django.
Every message the visitor reads, whether a rule's `utter_…` or a custom action's
`dispatcher.utter_message(response=…)`, is rendered here from the domain's responses, so
the invariants below hold on every path without each action having to remember them:

- **No verbatim repeat.** Of the variations that fit (Rasa's channel and slot conditions),
  the one chosen is the first whose text the visitor has not read yet in this conversation;
  when all were read, the one read longest ago, never the text of the bot's previous message
  (so every response the bot may say twice has at least two variations; a test checks it).
- **Variables are never shown raw.** A variation that names a variable (`{company_name}`)
  applies only when that variable has a value, from the action's arguments or a slot; so
  one response can list "VP of Sales at Northwind, about 450 people" and, with fewer facts
  known, "VP of Sales at Northwind". Whole numbers print without ".0".

The first fitting variation is the canonical wording: a conversation that never repeats
itself reads exactly as the domain's first variations.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.events import BotUttered

PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def bot_texts(events: Any) -> list[str]:
    """What the bot said in this conversation so far, oldest first."""
    return [event.text for event in events if isinstance(event, BotUttered) and event.text]


def variables_known(variation: dict, values: dict) -> bool:
    names = PLACEHOLDER.findall(variation.get("text") or "")
    return all(values.get(name) not in (None, "", []) for name in names)


def printable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def pick(rendered: list[dict], said: list[str]) -> dict | None:
    """The first variation not yet said; else the one said longest ago; never the previous message."""
    if not rendered:
        return None
    previous = said[-1] if said else None
    fresh = [r for r in rendered if r.get("text") not in said]
    if fresh:
        return fresh[0]
    usable = [r for r in rendered if r.get("text") != previous] or rendered
    last_said = {text: index for index, text in enumerate(said)}
    return min(usable, key=lambda r: last_said.get(r.get("text"), -1))


class LeadbotNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's templated NLG with deterministic, non-repeating variation choice."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None) -> None:
        super().__init__(domain.responses if domain is not None else {})

    async def generate(self, utter_action: str, tracker: Any, output_channel: str, **kwargs: Any) -> dict | None:
        return self.render(
            utter_action, tracker.current_slot_values(), output_channel, bot_texts(tracker.events), **kwargs
        )

    def render(
        self, utter_action: str, slots: dict, output_channel: str, said: list[str], **kwargs: Any
    ) -> dict | None:
        if utter_action not in self.responses:
            return None
        values = {name: printable(value) for name, value in {**slots, **kwargs}.items()}
        variations = ResponseVariationFilter(self.responses).responses_for_utter_action(
            utter_action, output_channel, slots
        )
        fitting = [v for v in variations if variables_known(v, values)]
        rendered = [self._fill_response(copy.deepcopy(v), values) for v in fitting]
        return pick(rendered, said)
