"""The one rule language: what a condition ("company size ≥ 200", "region equals europe") means.

Scoring (`qualification.scoring`) and routing (`scheduling.routing`) both ask `condition_matches`
over the same `lead_facts(lead)`, so a condition marketing writes means the same in both places.
The conditions themselves (fields, operators, validation) are `qualification.models.RuleCondition`.

Meaning, for every rule:
- A condition on an empty fact never matches (not even "does not equal" or "is not one of"),
  except "is empty": a missing fact never crashes and never counts for or against a lead.
- Numeric facts (company size, timeline, budget amount) compare as whole numbers; every other fact
  compares as text, ignoring case and surrounding spaces.
- A condition on an unknown field, or one saved around validation, just does not match.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils.html import format_html, format_html_join

from qualification.models import LIST_OPERATORS, NUMERIC_FIELDS, RULE_FIELDS, Operator, field_choices

if TYPE_CHECKING:
    from chatbot.models import Conversation
    from qualification.models import Lead

FIELD_NAMES = tuple(name for name, _label in RULE_FIELDS)

# Company-size segments (field "segment"): the first floor the size reaches.
SEGMENT_FLOORS = ((1000, "enterprise"), (200, "mid_market"), (1, "smb"))

# Regions (field "region"), from the first word of an IANA zone name.
ZONE_PREFIX_REGIONS = {
    "Europe": "europe",
    "America": "americas",
    "US": "americas",
    "Canada": "americas",
    "Asia": "asia",
    "Africa": "africa",
    "Australia": "oceania",
    "Pacific": "oceania",
    "Atlantic": "europe",
    "Indian": "asia",
    "Antarctica": "",
}


@functools.cache
def _country_zones() -> dict[str, str]:
    """ISO country code → its first IANA zone (from the system's or tzdata's zone.tab)."""
    candidates = [Path("/usr/share/zoneinfo/zone.tab")]
    try:
        import tzdata

        candidates.append(Path(tzdata.__file__).parent / "zoneinfo" / "zone.tab")
    except ImportError:  # pragma: no cover - tzdata is a dependency
        pass
    for path in candidates:
        if path.exists():
            zones: dict[str, str] = {}
            for line in path.read_text().splitlines():
                if line and not line.startswith("#"):
                    code, _coords, zone = line.split("\t")[:3]
                    zones.setdefault(code.upper(), zone)
            return zones
    return {}


def region_of_zone(zone_name: str) -> str:
    return ZONE_PREFIX_REGIONS.get(zone_name.split("/", 1)[0], "") if "/" in zone_name else ""


def lead_region(*, lead: Lead | None, conversation: Conversation | None) -> str:
    """europe / americas / asia / africa / oceania, from the lead's country, else the browser's zone."""
    if lead is not None and lead.country:
        region = region_of_zone(_country_zones().get(lead.country.upper(), ""))
        if region:
            return region
    if conversation is not None and conversation.timezone:
        return region_of_zone(conversation.timezone)
    return ""


def company_segment(size: int | None) -> str:
    if not size:
        return ""
    return next(name for floor, name in SEGMENT_FLOORS if size >= floor)


_OWN_CONVERSATION = object()


class LeadFacts(Mapping):
    """The facts rules look at, read from the lead when asked (so a derived fact costs nothing
    until a rule needs it: "region" and "timezone" read the conversation)."""

    def __init__(self, lead: Lead | None, conversation: object) -> None:
        self._lead = lead
        self._conversation = conversation

    @functools.cached_property
    def conversation(self) -> Conversation | None:
        if self._conversation is not _OWN_CONVERSATION:
            return self._conversation
        if self._lead is None or self._lead.conversation_id is None:
            return None
        return self._lead.conversation

    def __getitem__(self, name: str) -> object:
        if name not in FIELD_NAMES:
            raise KeyError(name)
        lead = self._lead
        if name == "region":
            return lead_region(lead=lead, conversation=self.conversation)
        if name == "segment":
            return company_segment(lead.company_size if lead is not None else None)
        if name == "timezone":
            return self.conversation.timezone if self.conversation is not None else ""
        return getattr(lead, name) if lead is not None else None

    def __iter__(self) -> Iterator[str]:
        return iter(FIELD_NAMES)

    def __len__(self) -> int:
        return len(FIELD_NAMES)


def lead_facts(lead: Lead | None, *, conversation: object = _OWN_CONVERSATION) -> Mapping[str, object]:
    """Every fact a rule may name, for this lead: its own fields plus region, segment and time zone.

    The browser's zone comes from the lead's conversation unless `conversation` says otherwise
    (routing may be asked before a lead exists: `lead_facts(None, conversation=...)`).
    """
    return LeadFacts(lead, conversation)


def condition_matches(*, field: str, operator: str, value: str, facts: Mapping[str, object]) -> bool:
    """Does "<field> <operator> <value>" hold for these facts? Never raises on missing or odd data."""
    if field not in FIELD_NAMES:
        return False
    fact = facts.get(field)
    if isinstance(fact, str):
        fact = fact.strip()
    empty = fact is None or fact == ""
    if operator == Operator.IS_EMPTY:
        return empty
    if empty:
        return False
    if operator == Operator.IS_SET:
        return True
    raw_values = value.split(",") if operator in LIST_OPERATORS else [value]
    try:
        if field in NUMERIC_FIELDS:
            fact = int(fact)
            values = [int(part.strip()) for part in raw_values if part.strip()]
        else:
            fact = str(fact).casefold()
            values = [part.strip().casefold() for part in raw_values if part.strip()]
    except (TypeError, ValueError):
        return False  # a rule saved around validation (or a fact of the wrong type) just does not match
    if not values:
        return False
    first = values[0]
    match operator:
        case Operator.EQUALS:
            return fact == first
        case Operator.NOT_EQUALS:
            return fact != first
        case Operator.ONE_OF:
            return fact in values
        case Operator.NOT_ONE_OF:
            return fact not in values
        case Operator.CONTAINS:
            return isinstance(fact, str) and isinstance(first, str) and first in fact
    if not isinstance(fact, int) or not isinstance(first, int):
        return False
    match operator:
        case Operator.GTE:
            return fact >= first
        case Operator.LTE:
            return fact <= first
        case Operator.GT:
            return fact > first
        case Operator.LT:
            return fact < first
    return False


def condition_help() -> str:
    """What admin shows above a rule's condition, for scoring and routing rules alike."""
    rows = [
        (label, ", ".join(f"{key} ({text})" for key, text in field_choices(name)))
        for name, label in RULE_FIELDS
        if field_choices(name)
    ]
    return format_html(
        "Numbers: company size, timeline, budget amount (use ≥ ≤ > <). Allowed values: <ul>{}</ul>"
        "A rule on a fact the visitor has not given never matches, except “is empty”.",
        format_html_join("", "<li>{}: {}</li>", rows),
    )
