"""The trained model on NLU examples it never saw in training.

chatbot/bot/tests/nlu_heldout.yml is the team's held-out file; chatbot/bot/tests/nlu_dev.yml is the
development set the fallback thresholds were chosen on (issue 11). Neither is ever trained on.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "chatbot/bot/tests/nlu_heldout.yml"
DEV = ROOT / "chatbot/bot/tests/nlu_dev.yml"


def nlu_eval():
    spec = importlib.util.spec_from_file_location("nlu_eval", ROOT / "scripts/nlu_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def texts(path: Path) -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [e.get("text").lower() for e in load_data(str(path)).intent_examples]


@pytest.mark.parametrize(("path", "at_least"), [(HELDOUT, 80), (DEV, 250)])
def test_evaluation_examples_are_not_in_the_training_data(path, at_least):
    training = set(texts(ROOT / "chatbot/bot/data/nlu"))
    examples = texts(path)
    assert len(examples) >= at_least
    assert not training.intersection(examples)


def test_trained_model_meets_the_nlu_targets_on_held_out_examples():
    module = nlu_eval()
    report = module.evaluate()
    misses = "\n".join(f"{t!r}: {g} -> {p}" for t, g, p in report.intent_misses)
    assert report.intent_macro_f1 >= module.INTENT_MACRO_F1_TARGET, misses
    assert report.entity_f1 >= module.ENTITY_F1_TARGET, report.entity_misses


def test_trained_model_declines_off_topic_text_and_keeps_small_talk_and_in_domain_apart_on_the_dev_set():
    module = nlu_eval()
    report = module.evaluate(data=DEV)
    misses = "\n".join(f"{t!r}: {g} -> {p}" for t, g, p in report.intent_misses)
    assert report.off_topic_examples >= 120
    assert report.off_topic_rejection >= module.OFF_TOPIC_REJECTION_TARGET, misses
    assert report.small_talk_accuracy >= module.SMALL_TALK_ACCURACY_TARGET, misses
    assert report.in_domain_macro_f1 >= module.IN_DOMAIN_MACRO_F1_TARGET, misses


# What visitors typed in issue 11's trial and what the bot must act on: declining (out_of_scope or
# the fallback) for off-topic text, the right intent for the rest.
DECLINED = {"out_of_scope", "nlu_fallback"}
ISSUE_11_MESSAGES = [
    ("what's the weather going to be tomorrow?", DECLINED),
    ("how long do I cook chicken breast in the oven?", DECLINED),
    ("can I open a business bank account with you?", DECLINED),
    ("does my insurance cover water damage?", DECLINED),
    ("how much is a gym membership?", DECLINED),
    ("no", {"deny"}),
    ("nope, not really", {"deny"}),
    ("Hello, I'd like to learn how you could help our sales team.", {"describe_need"}),
    ("I'd rather not say", {"decline_answer"}),
    ("stop, I don't want to continue this chat", {"stop"}),
    ("our dashboard stopped updating", {"support_request"}),
    # Answers to "Who am I speaking with?" / "What's your role?" (a full name was read as stop, a short
    # one as job_seeking, a finance title was refused).
    ("Priyanka Deshmukh", {"inform"}),
    ("Jo", {"inform"}),
    ("Finance Director", {"inform"}),
]


@pytest.fixture(scope="module")
def parse():
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(nlu_eval().latest_model()))
    return lambda text: asyncio.run(agent.parse_message(text))["intent"]["name"]


@pytest.mark.parametrize(("text", "expected"), ISSUE_11_MESSAGES)
def test_messages_the_bot_misread_in_issue_11(parse, text, expected):
    assert parse(text) in expected
