"""Evaluate the trained NLU model on held-out examples it never saw in training.

Usage: .venv-rasa/bin/python scripts/nlu_eval.py [FILE ...] [--model models/bot-....tar.gz] [--sweep]

FILE defaults to chatbot/bot/tests/nlu_heldout.yml (chatbot/bot/tests/nlu_dev.yml is the set the
fallback thresholds were tuned on). For each file it prints intent accuracy, intent macro-F1 (over the
file's intents) and entity F1 (micro, exact entity type and character span), then the three figures
of issue 11: off-topic rejection (share of out_of_scope examples the bot declines: predicted
out_of_scope or nlu_fallback), small-talk accuracy, and in-domain macro-F1 (over every other intent;
a prediction of an intent outside that group counts against the gold intent's recall). It lists every
miss. The intent counted is the one the bot acts on: a message the FallbackClassifier turns into
nlu_fallback counts as wrong, except for off-topic text, which it declines.

--sweep parses each file once and re-applies the FallbackClassifier's rule to the model's own ranking
for a grid of (threshold, ambiguity_threshold) pairs, so thresholds can be chosen without retraining.
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
OFF_TOPIC_REJECTION_TARGET = 0.90
SMALL_TALK_ACCURACY_TARGET = 0.92
IN_DOMAIN_MACRO_F1_TARGET = 0.90

FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
SMALL_TALK = frozenset({"greet", "goodbye", "affirm", "deny", "thanks", "bot_challenge", "chitchat"})


@dataclass
class Prediction:
    text: str
    gold: str
    predicted: str  # what the bot acts on (after the FallbackClassifier)
    ranking: list[tuple[str, float]]  # the classifier's own ranking, without nlu_fallback
    gold_spans: set
    predicted_spans: set


@dataclass
class Report:
    examples: int
    intent_accuracy: float
    intent_macro_f1: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    entities_annotated: bool = True  # a file written without entity annotations scores intents only
    off_topic_examples: int = 0
    off_topic_rejection: float = 0.0
    small_talk_examples: int = 0
    small_talk_accuracy: float = 0.0
    in_domain_examples: int = 0
    in_domain_macro_f1: float = 0.0
    intent_misses: list[tuple[str, str, str]] = field(default_factory=list)
    entity_misses: list[tuple[str, set, set]] = field(default_factory=list)

    @property
    def heldout_targets_met(self) -> bool:
        entities_ok = not self.entities_annotated or self.entity_f1 >= ENTITY_F1_TARGET
        return self.intent_macro_f1 >= INTENT_MACRO_F1_TARGET and entities_ok

    @property
    def generalisation_targets_met(self) -> bool:
        return (
            (not self.off_topic_examples or self.off_topic_rejection >= OFF_TOPIC_REJECTION_TARGET)
            and (not self.small_talk_examples or self.small_talk_accuracy >= SMALL_TALK_ACCURACY_TARGET)
            and (not self.in_domain_examples or self.in_domain_macro_f1 >= IN_DOMAIN_MACRO_F1_TARGET)
        )


def latest_model() -> Path:
    latest = ROOT / "models" / "latest"
    if not latest.exists():
        raise SystemExit("No trained model: run `make train` first.")
    return ROOT / latest.read_text().strip()


def macro_f1(gold: list[str], predicted: list[str], labels: set[str] | None = None) -> float:
    """Mean F1 over `labels` (default: every gold intent). Predictions outside the labels only cost recall."""
    labels = sorted(labels if labels is not None else set(gold))
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


def fallback_thresholds(model: Path) -> tuple[float, float]:
    """The FallbackClassifier's (threshold, ambiguity_threshold) in chatbot/bot/config.yml."""
    import yaml

    config = yaml.safe_load((ROOT / "chatbot/bot/config.yml").read_text())
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3)), float(component.get("ambiguity_threshold", 0.1))
    return 0.0, 0.0


def acted_on(ranking: list[tuple[str, float]], threshold: float, ambiguity_threshold: float) -> str:
    """Rasa's FallbackClassifier rule: too unsure, or the top two too close, means nlu_fallback."""
    if not ranking:
        return FALLBACK
    top = ranking[0][1]
    if top < threshold:
        return FALLBACK
    if len(ranking) > 1 and top - ranking[1][1] < ambiguity_threshold:
        return FALLBACK
    return ranking[0][0]


async def predict_async(model: Path, data: Path) -> list[Prediction]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    examples = load_data(str(data))
    agent = Agent.load(str(model))
    predictions = []
    for example in examples.intent_examples:
        text = example.get("text")
        parsed = await agent.parse_message(text)
        ranking = [
            (r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or [] if r["name"] != FALLBACK
        ]
        predictions.append(
            Prediction(
                text=text,
                gold=example.get("intent"),
                predicted=(parsed.get("intent") or {}).get("name") or "",
                ranking=ranking,
                gold_spans=spans(example.get("entities") or []),
                predicted_spans=spans(parsed.get("entities") or []),
            )
        )
    return predictions


def predict(model: Path | None, data: Path) -> list[Prediction]:
    return asyncio.run(predict_async(model or latest_model(), data))


def report_for(predictions: list[Prediction]) -> Report:
    gold_intents = [p.gold for p in predictions]
    predicted_intents = [p.predicted for p in predictions]
    report = Report(len(predictions), 0, 0, 0, 0, 0)
    tp = fp = fn = 0
    for p in predictions:
        if p.gold != p.predicted:
            report.intent_misses.append((p.text, p.gold, p.predicted))
        tp += len(p.gold_spans & p.predicted_spans)
        fp += len(p.predicted_spans - p.gold_spans)
        fn += len(p.gold_spans - p.predicted_spans)
        if p.gold_spans != p.predicted_spans:
            report.entity_misses.append((p.text, p.gold_spans, p.predicted_spans))
    report.entities_annotated = any(p.gold_spans for p in predictions)
    if not report.entities_annotated:
        report.entity_misses = []
    report.intent_accuracy = sum(g == p for g, p in zip(gold_intents, predicted_intents, strict=True)) / max(
        report.examples, 1
    )
    report.intent_macro_f1 = macro_f1(gold_intents, predicted_intents)
    report.entity_precision = tp / (tp + fp) if tp + fp else 0.0
    report.entity_recall = tp / (tp + fn) if tp + fn else 0.0
    precision, recall = report.entity_precision, report.entity_recall
    report.entity_f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    off_topic = [p for p in predictions if p.gold == OUT_OF_SCOPE]
    report.off_topic_examples = len(off_topic)
    report.off_topic_rejection = sum(p.predicted in (OUT_OF_SCOPE, FALLBACK) for p in off_topic) / max(
        len(off_topic), 1
    )
    small_talk = [p for p in predictions if p.gold in SMALL_TALK]
    report.small_talk_examples = len(small_talk)
    report.small_talk_accuracy = sum(p.predicted == p.gold for p in small_talk) / max(len(small_talk), 1)
    in_domain_labels = {p.gold for p in predictions} - SMALL_TALK - {OUT_OF_SCOPE}
    report.in_domain_examples = sum(p.gold in in_domain_labels for p in predictions)
    report.in_domain_macro_f1 = macro_f1(gold_intents, predicted_intents, labels=in_domain_labels)
    return report


def evaluate(model: Path | None = None, data: Path = HELDOUT) -> Report:
    return report_for(predict(model, data))


def rethreshold(predictions: list[Prediction], threshold: float, ambiguity_threshold: float) -> list[Prediction]:
    return [
        Prediction(
            p.text,
            p.gold,
            acted_on(p.ranking, threshold, ambiguity_threshold),
            p.ranking,
            p.gold_spans,
            p.predicted_spans,
        )
        for p in predictions
    ]


def sweep(predictions: list[Prediction]) -> None:
    print("threshold ambiguity | off-topic small-talk in-domain-F1 | accuracy macro-F1")
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        for ambiguity in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
            r = report_for(rethreshold(predictions, threshold, ambiguity))
            mark = " *" if r.generalisation_targets_met else ""
            print(
                f"{threshold:9.2f} {ambiguity:9.2f} | {r.off_topic_rejection:9.3f} {r.small_talk_accuracy:10.3f} "
                f"{r.in_domain_macro_f1:12.3f} | {r.intent_accuracy:8.3f} {r.intent_macro_f1:8.3f}{mark}"
            )


def print_report(report: Report, name: str) -> None:
    print(f"examples: {report.examples} ({name})")
    for text, gold, predicted in report.intent_misses:
        print(f"  intent miss: {text!r}: expected {gold}, got {predicted}")
    for text, gold, predicted in report.entity_misses:
        print(f"  entity miss: {text!r}: expected {sorted(gold)}, got {sorted(predicted)}")
    print(f"intent accuracy:     {report.intent_accuracy:.3f}")
    print(f"intent macro-F1:     {report.intent_macro_f1:.3f} (target ≥ {INTENT_MACRO_F1_TARGET})")
    if report.entities_annotated:
        print(
            f"entity F1:           {report.entity_f1:.3f} (precision {report.entity_precision:.3f}, "
            f"recall {report.entity_recall:.3f}; target ≥ {ENTITY_F1_TARGET})"
        )
    else:
        print("entity F1:           n/a (the file annotates no entities)")
    print(
        f"off-topic rejection: {report.off_topic_rejection:.3f} over {report.off_topic_examples} "
        f"(target ≥ {OFF_TOPIC_REJECTION_TARGET})"
    )
    print(
        f"small-talk accuracy: {report.small_talk_accuracy:.3f} over {report.small_talk_examples} "
        f"(target ≥ {SMALL_TALK_ACCURACY_TARGET})"
    )
    print(
        f"in-domain macro-F1:  {report.in_domain_macro_f1:.3f} over {report.in_domain_examples} "
        f"(target ≥ {IN_DOMAIN_MACRO_F1_TARGET})"
    )


def quiet_structlog() -> None:
    """Rasa logs every parse through structlog, which prints debug lines unless configured."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="NLU files to evaluate (default: nlu_heldout.yml)")
    parser.add_argument("--data", type=Path, action="append", default=[], help="same as FILE")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--sweep", action="store_true", help="print a grid of fallback thresholds instead")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    quiet_structlog()
    files = [*args.files, *args.data] or [HELDOUT]
    ok = True
    for data in files:
        name = data.resolve().relative_to(ROOT) if data.resolve().is_relative_to(ROOT) else data
        predictions = predict(args.model, data)
        if args.sweep:
            print(f"{name}: configured thresholds {fallback_thresholds(args.model or latest_model())}")
            sweep(predictions)
            continue
        report = report_for(predictions)
        print_report(report, str(name))
        # The held-out file's own targets (intent macro-F1, entity F1) apply to every file; the
        # generalisation targets apply to the groups the file has.
        met = report.heldout_targets_met and report.generalisation_targets_met
        print("targets met" if met else "TARGETS NOT MET")
        ok = ok and met
        print()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
