"""Evaluate the trained NLU model on held-out examples it never saw in training.

Usage: .venv/bin/python scripts/nlu_eval.py [--model models/bot-....tar.gz] [--data chatbot/bot/tests/nlu_heldout.yml]

Prints intent accuracy, intent macro-F1 (over the held-out intents) and entity F1 (micro, exact
entity type and character span), and lists every miss. The intent counted is the one the bot acts
on: a message the FallbackClassifier turns into nlu_fallback counts as wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "chatbot/bot/tests/nlu_heldout.yml"
INTENT_MACRO_F1_TARGET = 0.90
ENTITY_F1_TARGET = 0.85


@dataclass
class Report:
    examples: int
    intent_accuracy: float
    intent_macro_f1: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    intent_misses: list[tuple[str, str, str]] = field(default_factory=list)
    entity_misses: list[tuple[str, set, set]] = field(default_factory=list)


def latest_model() -> Path:
    latest = ROOT / "models" / "latest"
    if not latest.exists():
        raise SystemExit("No trained model: run `make train` first.")
    return ROOT / latest.read_text().strip()


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def spans(entities: list[dict]) -> set[tuple[str, int, int]]:
    return {(e["entity"], int(e["start"]), int(e["end"])) for e in entities or [] if "start" in e and "end" in e}


async def evaluate_async(model: Path, data: Path) -> Report:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    heldout = load_data(str(data))
    agent = Agent.load(str(model))
    gold_intents, predicted_intents = [], []
    tp = fp = fn = 0
    report = Report(0, 0, 0, 0, 0, 0)
    for example in heldout.intent_examples:
        text = example.get("text")
        parsed = await agent.parse_message(text)
        gold, predicted = example.get("intent"), (parsed.get("intent") or {}).get("name") or ""
        gold_intents.append(gold)
        predicted_intents.append(predicted)
        if gold != predicted:
            report.intent_misses.append((text, gold, predicted))
        gold_spans, predicted_spans = spans(example.get("entities") or []), spans(parsed.get("entities") or [])
        tp += len(gold_spans & predicted_spans)
        fp += len(predicted_spans - gold_spans)
        fn += len(gold_spans - predicted_spans)
        if gold_spans != predicted_spans:
            report.entity_misses.append((text, gold_spans, predicted_spans))
    report.examples = len(gold_intents)
    report.intent_accuracy = sum(g == p for g, p in zip(gold_intents, predicted_intents, strict=True)) / max(
        report.examples, 1
    )
    report.intent_macro_f1 = macro_f1(gold_intents, predicted_intents)
    report.entity_precision = tp / (tp + fp) if tp + fp else 0.0
    report.entity_recall = tp / (tp + fn) if tp + fn else 0.0
    p, r = report.entity_precision, report.entity_recall
    report.entity_f1 = 2 * p * r / (p + r) if p + r else 0.0
    return report


def evaluate(model: Path | None = None, data: Path = HELDOUT) -> Report:
    return asyncio.run(evaluate_async(model or latest_model(), data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=HELDOUT)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    report = evaluate(args.model, args.data)
    print(
        f"held-out examples: {report.examples} ({args.data.relative_to(ROOT) if args.data.is_absolute() else args.data})"
    )
    for text, gold, predicted in report.intent_misses:
        print(f"  intent miss: {text!r}: expected {gold}, got {predicted}")
    for text, gold, predicted in report.entity_misses:
        print(f"  entity miss: {text!r}: expected {sorted(gold)}, got {sorted(predicted)}")
    print(f"intent accuracy: {report.intent_accuracy:.3f}")
    print(f"intent macro-F1: {report.intent_macro_f1:.3f} (target ≥ {INTENT_MACRO_F1_TARGET})")
    print(
        f"entity F1:       {report.entity_f1:.3f} (precision {report.entity_precision:.3f}, "
        f"recall {report.entity_recall:.3f}; target ≥ {ENTITY_F1_TARGET})"
    )
    ok = report.intent_macro_f1 >= INTENT_MACRO_F1_TARGET and report.entity_f1 >= ENTITY_F1_TARGET
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
