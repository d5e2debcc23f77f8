"""Explainable lead scoring: marketing's active rules, applied to a lead's facts, with every reason kept.

`lead_score` is a pure read (what would the active rules say now?); `lead_decide` records that
answer on the lead together with the rule-set version that produced it, so sales can always see
why a lead qualified and which rules were in force at the time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from qualification.models import Lead


@dataclass(frozen=True)
class Reason:
    """One rule that matched, as shown to sales ("+30 decision maker", "knockout: student")."""

    rule_id: int | None
    text: str
    points: int
    effect: str  # QualificationRule.Effect value: "points", "knockout" or "nurture"

    @property
    def knockout(self) -> bool:
        return self.effect == "knockout"

    def as_dict(self) -> dict:
        """The JSON shape stored in Lead.reasons."""
        return {**asdict(self), "rule": self.rule_id, "knockout": self.knockout}

    @property
    def label(self) -> str:
        """Readable one-liner for sales: "+30 decision maker", "knockout: student", "nurture: just looking"."""
        if self.effect == "points":
            return f"{self.points:+d} {self.text}"
        return f"{self.effect}: {self.text}"


@dataclass
class Score:
    points: int
    outcome: str  # a Lead.Outcome value
    reasons: list[Reason] = field(default_factory=list)
    rule_set_version: str = ""

    @property
    def qualified(self) -> bool:
        return self.outcome == Lead.Outcome.QUALIFIED


def lead_score(*, lead: Lead) -> Score:
    """Score the lead with the active rules and policy. Pure: no writes (beyond the version snapshot)."""
    raise NotImplementedError


def lead_decide(*, lead: Lead) -> Lead:
    """Lock the lead, score it, store score/outcome/reasons/rule_set_version/decided_at; return it."""
    raise NotImplementedError
