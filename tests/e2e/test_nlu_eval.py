"""The trained model on held-out NLU examples (chatbot/bot/tests/nlu_heldout.yml, never trained on)."""

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def nlu_eval():
    spec = importlib.util.spec_from_file_location("nlu_eval", ROOT / "scripts/nlu_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_held_out_examples_are_not_in_the_training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    training = {e.get("text").lower() for e in load_data(str(ROOT / "chatbot/bot/data/nlu")).intent_examples}
    heldout = [
        e.get("text").lower() for e in load_data(str(ROOT / "chatbot/bot/tests/nlu_heldout.yml")).intent_examples
    ]
    assert len(heldout) >= 80
    assert not training.intersection(heldout)


def test_trained_model_meets_the_nlu_targets_on_held_out_examples():
    module = nlu_eval()
    report = module.evaluate()
    misses = "\n".join(f"{t!r}: {g} -> {p}" for t, g, p in report.intent_misses)
    assert report.intent_macro_f1 >= module.INTENT_MACRO_F1_TARGET, misses
    assert report.entity_f1 >= module.ENTITY_F1_TARGET, report.entity_misses
