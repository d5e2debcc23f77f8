"""Explainable lead scoring: marketing's active rules, applied to a lead's facts, with every reason kept.

`lead_score` is a pure read (what would the active rules say now?); `lead_decide` records that
answer on the lead together with the rule-set version that produced it, so sales can always see
why a lead qualified and which rules were in force at the time.

Outcome, in this order: any knockout rule matched → disqualified; else any nurture rule matched →
nurture; else points ≥ the policy's qualify_at → qualified (exactly at the threshold qualifies);
else nurture. A rule on an empty fact never matches (not even "does not equal" or "is not one of"),
except "is empty": missing facts never crash scoring and never count for or against a lead.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field

from django.db import transaction
from django.utils import timezone

from qualification.models import (
    NUMERIC_FIELDS,
    SCORABLE_FIELDS,
    Lead,
    LeadDecision,
    QualificationRule,
    RuleSetVersion,
    ScoringPolicy,
)

SCORABLE = dict(SCORABLE_FIELDS)
Operator = QualificationRule.Operator
Effect = QualificationRule.Effect


@dataclass(frozen=True)
class Reason:
    """One rule that matched, as shown to sales ("+30 decision maker", "knockout: student")."""

    rule_id: int | None
    text: str
    points: int
    effect: str  # QualificationRule.Effect value: "points", "knockout" or "nurture"
    field: str = ""  # the Lead field the rule looked at, e.g. "company_size" (to pick a fitting reply)

    @property
    def knockout(self) -> bool:
        return self.effect == Effect.KNOCKOUT

    @property
    def label(self) -> str:
        """Readable one-liner for sales: "+30 decision maker", "knockout: student", "nurture: just looking"."""
        return reason_label(self.as_dict())

    def as_dict(self) -> dict:
        """The JSON shape stored in Lead.reasons: {"rule", "text", "points", "effect", "field", "knockout"}."""
        data = asdict(self)
        return {"rule": data.pop("rule_id"), **data, "knockout": self.knockout}


@dataclass
class Score:
    points: int
    outcome: str  # a Lead.Outcome value
    reasons: list[Reason] = field(default_factory=list)
    rule_set_version: str = ""

    @property
    def qualified(self) -> bool:
        return self.outcome == Lead.Outcome.QUALIFIED


def reason_label(reason: dict) -> str:
    """Label of a stored reason dict (Lead.reasons entry); tolerant of older or partial entries."""
    text = reason.get("text", "")
    effect = reason.get("effect") or (Effect.KNOCKOUT if reason.get("knockout") else Effect.POINTS)
    if effect == Effect.POINTS:
        return f"{int(reason.get('points') or 0):+d} {text}"
    return f"{effect}: {text}"


@dataclass(frozen=True)
class RuleSet:
    """The active rules and threshold as read at one moment, with their version hash."""

    rules: tuple[dict, ...]
    qualify_at: int

    @property
    def version(self) -> str:
        canonical = json.dumps(
            {"rules": list(self.rules), "qualify_at": self.qualify_at}, sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def rule_set_current() -> RuleSet:
    """Active rules in their order, plus the policy. Rule order decides the order of reasons."""
    rules = tuple(rule.as_snapshot() for rule in QualificationRule.objects.filter(active=True).order_by("order", "id"))
    return RuleSet(rules=rules, qualify_at=ScoringPolicy.current().qualify_at)


def rule_set_snapshot(*, rule_set: RuleSet) -> RuleSetVersion:
    """Keep the rules behind a version (once per version) so past decisions stay explainable."""
    snapshot, _ = RuleSetVersion.objects.get_or_create(
        version=rule_set.version, defaults={"rules": list(rule_set.rules), "qualify_at": rule_set.qualify_at}
    )
    return snapshot


def rule_matches(*, rule: dict, lead: Lead) -> bool:
    """Does one rule (a snapshot dict) match the lead's facts? Never raises on missing or odd data."""
    operator = rule["operator"]
    if rule["field"] not in SCORABLE:
        return False
    fact = getattr(lead, rule["field"])
    if isinstance(fact, str):
        fact = fact.strip()
    empty = fact is None or fact == ""
    if operator == Operator.IS_EMPTY:
        return empty
    if empty:
        return False
    if operator == Operator.IS_SET:
        return True
    raw_values = rule["value"].split(",") if operator in QualificationRule.LIST_OPERATORS else [rule["value"]]
    try:
        if rule["field"] in NUMERIC_FIELDS:
            fact = int(fact)
            values = [int(value.strip()) for value in raw_values if value.strip()]
        else:
            fact = str(fact).casefold()
            values = [value.strip().casefold() for value in raw_values if value.strip()]
    except (TypeError, ValueError):
        return False  # a rule saved around validation (or a fact of the wrong type) just does not match
    if not values:
        return False
    value = values[0]
    match operator:
        case Operator.EQUALS:
            return fact == value
        case Operator.NOT_EQUALS:
            return fact != value
        case Operator.ONE_OF:
            return fact in values
        case Operator.NOT_ONE_OF:
            return fact not in values
        case Operator.CONTAINS:
            return isinstance(fact, str) and isinstance(value, str) and value in fact
    if not isinstance(fact, int) or not isinstance(value, int):
        return False
    match operator:
        case Operator.GTE:
            return fact >= value
        case Operator.LTE:
            return fact <= value
        case Operator.GT:
            return fact > value
        case Operator.LT:
            return fact < value
    return False


def score_with(*, lead: Lead, rule_set: RuleSet, **facts: object) -> Score:
    """Apply a given rule set to a lead (pure; lead_score uses the active set); `facts` override its fields."""
    if facts:
        lead = copy.copy(lead)
        for field_name, value in facts.items():
            setattr(lead, field_name, value)
    reasons = [
        Reason(
            rule_id=rule["id"],
            text=rule["reason_text"],
            points=rule["points"] if rule["effect"] == Effect.POINTS else 0,
            effect=rule["effect"],
            field=rule["field"],
        )
        for rule in rule_set.rules
        if rule_matches(rule=rule, lead=lead)
    ]
    points = sum(reason.points for reason in reasons)
    effects = {reason.effect for reason in reasons}
    if Effect.KNOCKOUT in effects:
        outcome = Lead.Outcome.DISQUALIFIED
    elif Effect.NURTURE in effects:
        outcome = Lead.Outcome.NURTURE
    elif points >= rule_set.qualify_at:
        outcome = Lead.Outcome.QUALIFIED
    else:
        outcome = Lead.Outcome.NURTURE
    return Score(points=points, outcome=outcome.value, reasons=reasons, rule_set_version=rule_set.version)


def lead_score(*, lead: Lead) -> Score:
    """Score the lead with the active rules and policy. Pure: reads only, stores nothing."""
    return score_with(lead=lead, rule_set=rule_set_current())


# Questions the bot may leave out when no answer could change the decision, with every answer it
# could get. (Need, role, company, size and timeline are always asked; the email is needed to book.)
SKIPPABLE_ANSWERS = {"budget": ("has_budget", "range", "not_sure", "none")}


def lead_questions_moot(*, lead: Lead) -> set[str]:
    """The skippable questions whose every possible answer gives this lead the same outcome.

    "Is there budget?" is not worth a VP's time at a 300-person company buying this quarter:
    the rules qualify them whatever they say. Pure: scores copies of the lead, stores nothing.
    """
    rule_set = rule_set_current()
    moot = set()
    for fact, answers in SKIPPABLE_ANSWERS.items():
        if getattr(lead, fact) not in (None, ""):
            continue
        outcomes = {score_with(lead=lead, rule_set=rule_set, **{fact: value}).outcome for value in answers}
        if len(outcomes) == 1:
            moot.add(fact)
    return moot


def lead_decide(*, lead: Lead, trigger: str = "bot") -> Lead:
    """Lock the lead, score it with the active rules, and record the decision on it; return it.

    Each call is a new decision: it is kept in LeadDecision and copied onto the lead (score,
    outcome, reasons, rule_set_version, decided_at). Nothing else ever rewrites a recorded decision,
    so editing rules later leaves past leads as they were decided.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        rule_set = rule_set_current()
        score = score_with(lead=lead, rule_set=rule_set)
        rule_set_snapshot(rule_set=rule_set)
        lead.score = score.points
        lead.outcome = score.outcome
        lead.reasons = [reason.as_dict() for reason in score.reasons]
        lead.rule_set_version = score.rule_set_version
        lead.decided_at = timezone.now()
        lead.full_clean()
        lead.save()
        decision = LeadDecision(
            lead=lead,
            score=lead.score,
            outcome=lead.outcome,
            reasons=lead.reasons,
            rule_set_version=lead.rule_set_version,
            decided_at=lead.decided_at,
            trigger=trigger,
        )
        decision.full_clean()
        decision.save()
    return lead
