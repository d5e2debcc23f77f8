"""The bot never says the same text twice in a row, and never shows a raw {variable}.

chatbot/rasa_plugins/nlg.py renders every response inside the Rasa process; these
tests drive it with a real Rasa domain and tracker, as Rasa does.
"""

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from chatbot.rasa_plugins.nlg import LeadbotNaturalLanguageGenerator

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
slots:
  company_name: {type: text, mappings: [{type: custom}]}
  company_size: {type: float, mappings: [{type: custom}]}
responses:
  utter_careers:
    - text: "Open roles are on our careers page."
    - text: "You'll find every opening on the careers page."
  utter_ask_role:
    - text: "What's your role?"
  utter_ack:
    - text: "Got it: {company_name}, about {company_size} people."
    - text: "Got it: {company_name}."
    - text: "Got it."
"""
)


@pytest.fixture
def nlg():
    return LeadbotNaturalLanguageGenerator(endpoint_config=None, domain=DOMAIN)


def tracker_after(*bot_texts: str, slots: dict | None = None) -> DialogueStateTracker:
    events = [UserUttered("hi", intent={"name": "greet", "confidence": 1.0})]
    events += [SlotSet(name, value) for name, value in (slots or {}).items()]
    events += [BotUttered(text) for text in bot_texts]
    return DialogueStateTracker.from_events("visitor", events, slots=DOMAIN.slots)


async def test_the_first_variation_is_the_canonical_wording(nlg):
    message = await nlg.generate("utter_careers", tracker_after(), "leadbot")

    assert message["text"] == "Open roles are on our careers page."


async def test_a_response_said_again_is_rephrased_never_repeated_word_for_word(nlg):
    said = ["Open roles are on our careers page."]

    second = await nlg.generate("utter_careers", tracker_after(*said), "leadbot")
    third = await nlg.generate("utter_careers", tracker_after(*said, second["text"]), "leadbot")

    assert second["text"] == "You'll find every opening on the careers page."
    assert third["text"] == "Open roles are on our careers page."


async def test_a_single_wording_said_earlier_but_not_just_before_is_said_as_is(nlg):
    message = await nlg.generate("utter_ask_role", tracker_after("What's your role?", "Thanks!"), "leadbot")

    assert message["text"] == "What's your role?"


async def test_variations_naming_unknown_variables_are_skipped(nlg):
    both = await nlg.generate(
        "utter_ack", tracker_after(slots={"company_name": "Northwind", "company_size": 450.0}), "leadbot"
    )
    name_only = await nlg.generate("utter_ack", tracker_after(slots={"company_name": "Northwind"}), "leadbot")
    nothing = await nlg.generate("utter_ack", tracker_after(), "leadbot")

    assert both["text"] == "Got it: Northwind, about 450 people."
    assert name_only["text"] == "Got it: Northwind."
    assert nothing["text"] == "Got it."


async def test_action_arguments_fill_variables_like_slots(nlg):
    message = await nlg.generate("utter_ack", tracker_after(), "leadbot", company_name="Contoso", text=None)

    assert message["text"] == "Got it: Contoso."
