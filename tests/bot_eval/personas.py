"""Visitor personas: loading and validation of the persona file.

The format is fixed (chatbot/bot/tests/personas.yml, described in its header and in the README's
"Bot evaluation" section). Loading checks every persona and reports every problem at once, each with
the persona's position and id, so a typo ("expectd", "company-size") fails loudly instead of
silently skipping a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qualification.fact_fields import FACT_FIELDS

# The facts a persona can state or be asked for (the qualification form's questions).
FACTS = ("need", "role", "company_name", "company_size", "timeline", "budget", "name", "email")
OUTCOMES = ("qualified", "nurture", "disqualified", "incomplete")
VISITOR_TYPES = ("prospect", "student", "job_seeker", "vendor", "competitor", "customer")
BOOKING_FIRST_SLOT = "first_slot"
BOOKING_NONE = "none"
# expected.stored keys → Lead fields. A fact name means its Lead field; any Lead field name is allowed too.
STORED_ALIASES = {"need": "need_text"}
DEFAULT_TIMEZONE = "Europe/Berlin"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

PERSONA_KEYS = {
    "id",
    "kind",
    "description",
    "opener",
    "opener_facts",
    "answers",
    "declines",
    "interjections",
    "stop",
    "yes_no",
    "booking",
    "expected",
    # Optional: the browser's zone and the page the chat starts on.
    "timezone",
    "page",
}
EXPECTED_KEYS = {"outcome", "visitor_type", "meeting_booked", "handoff", "stored"}


class PersonaError(ValueError):
    """The persona file is not in the expected format; the message lists every problem."""


@dataclass(frozen=True)
class Interjection:
    before_answer: int
    text: str
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stop:
    at_answer: int
    text: str


@dataclass(frozen=True)
class Expected:
    outcome: str
    meeting_booked: bool
    handoff: bool
    visitor_type: str | None = None
    stored: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Persona:
    id: str
    kind: str
    description: str
    opener: tuple[str, ...]
    expected: Expected
    opener_facts: tuple[str, ...] = ()
    answers: dict = field(default_factory=dict)
    declines: dict = field(default_factory=dict)
    interjections: tuple[Interjection, ...] = ()
    stop: Stop | None = None
    yes_no: dict = field(default_factory=dict)
    booking: str = BOOKING_NONE
    timezone: str = DEFAULT_TIMEZONE
    page: str = ""

    @property
    def multi_fact(self) -> bool:
        """Opens with three facts or more (the issue's "multi-fact openers")."""
        return len(self.opener_facts) >= 3


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")


def _text(value, where: str, problems: _Problems, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"must be a non-empty string, got {value!r}")
        return ""
    return value


def _facts(value, where: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(where, f"must be a list of facts, got {value!r}")
        return ()
    unknown = [f for f in value if f not in FACTS]
    if unknown:
        problems.add(where, f"unknown facts {unknown}; known: {', '.join(FACTS)}")
    return tuple(f for f in value if f in FACTS)


def _fact_texts(value, where: str, problems: _Problems) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, f"must be a mapping of fact → text, got {value!r}")
        return {}
    result = {}
    for fact, text in value.items():
        if fact not in FACTS:
            problems.add(f"{where}.{fact}", f"unknown fact; known: {', '.join(FACTS)}")
            continue
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)  # "company_size: 450" is what the visitor types
        result[fact] = _text(text, f"{where}.{fact}", problems)
    return result


def _positive_int(value, where: str, problems: _Problems) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.add(where, f"must be a whole number ≥ 1, got {value!r}")
        return 0
    return value


def _bool(value, where: str, problems: _Problems) -> bool:
    if not isinstance(value, bool):
        problems.add(where, f"must be true or false, got {value!r}")
        return False
    return value


def _expected(value, where: str, problems: _Problems) -> Expected:
    if not isinstance(value, dict):
        problems.add(where, "is required: a mapping with outcome, meeting_booked and handoff")
        return Expected(outcome="incomplete", meeting_booked=False, handoff=False)
    for key in sorted(set(value) - EXPECTED_KEYS):
        problems.add(f"{where}.{key}", f"unknown key; known: {', '.join(sorted(EXPECTED_KEYS))}")
    outcome = value.get("outcome")
    if outcome not in OUTCOMES:
        problems.add(f"{where}.outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        outcome = "incomplete"
    visitor_type = value.get("visitor_type")
    if visitor_type is not None and visitor_type not in VISITOR_TYPES:
        problems.add(
            f"{where}.visitor_type", f"must be null or one of {', '.join(VISITOR_TYPES)}, got {visitor_type!r}"
        )
        visitor_type = None
    stored = value.get("stored") or {}
    if not isinstance(stored, dict):
        problems.add(f"{where}.stored", f"must be a mapping of fact → value, got {stored!r}")
        stored = {}
    for key in stored:
        if STORED_ALIASES.get(key, key) not in FACT_FIELDS:
            problems.add(
                f"{where}.stored.{key}",
                f"not a stored lead fact; use one of {', '.join(sorted(set(FACT_FIELDS) | set(STORED_ALIASES)))}",
            )
    for key in ("meeting_booked", "handoff"):
        if key not in value:
            problems.add(f"{where}.{key}", "is required (true or false)")
    return Expected(
        outcome=outcome,
        meeting_booked=_bool(value.get("meeting_booked", False), f"{where}.meeting_booked", problems),
        handoff=_bool(value.get("handoff", False), f"{where}.handoff", problems),
        visitor_type=visitor_type,
        stored=dict(stored),
    )


def persona_parse(raw, where: str, problems: _Problems) -> Persona | None:
    if not isinstance(raw, dict):
        problems.add(where, f"must be a mapping, got {raw!r}")
        return None
    pid = raw.get("id")
    if not isinstance(pid, str) or not SLUG_RE.match(pid):
        problems.add(where, f"id must be a slug (lowercase letters, digits, - and _), got {pid!r}")
        pid = str(pid)
    where = f"{where} ({pid})"
    for key in sorted(set(raw) - PERSONA_KEYS):
        problems.add(f"{where}.{key}", f"unknown key; known: {', '.join(sorted(PERSONA_KEYS))}")

    opener = raw.get("opener")
    if not isinstance(opener, list) or not opener:
        problems.add(f"{where}.opener", "must be a non-empty list of messages")
        opener = []
    opener = tuple(_text(text, f"{where}.opener[{i}]", problems) for i, text in enumerate(opener))

    interjections = []
    raw_interjections = raw.get("interjections") or []
    if not isinstance(raw_interjections, list):
        problems.add(f"{where}.interjections", "must be a list")
        raw_interjections = []
    for i, item in enumerate(raw_interjections):
        spot = f"{where}.interjections[{i}]"
        if not isinstance(item, dict):
            problems.add(spot, "must be a mapping with before_answer, text and facts")
            continue
        for key in sorted(set(item) - {"before_answer", "text", "facts"}):
            problems.add(f"{spot}.{key}", "unknown key; known: before_answer, facts, text")
        interjections.append(
            Interjection(
                before_answer=_positive_int(item.get("before_answer"), f"{spot}.before_answer", problems),
                text=_text(item.get("text"), f"{spot}.text", problems),
                facts=_facts(item.get("facts"), f"{spot}.facts", problems),
            )
        )

    stop = None
    if raw.get("stop") is not None:
        item = raw["stop"]
        if not isinstance(item, dict):
            problems.add(f"{where}.stop", "must be a mapping with at_answer and text")
        else:
            for key in sorted(set(item) - {"at_answer", "text"}):
                problems.add(f"{where}.stop.{key}", "unknown key; known: at_answer, text")
            stop = Stop(
                at_answer=_positive_int(item.get("at_answer"), f"{where}.stop.at_answer", problems),
                text=_text(item.get("text"), f"{where}.stop.text", problems),
            )

    yes_no = raw.get("yes_no") or {}
    if not isinstance(yes_no, dict):
        problems.add(f"{where}.yes_no", f"must be a mapping of offer → answer, got {yes_no!r}")
        yes_no = {}
    yes_no = {str(k): _text(v, f"{where}.yes_no.{k}", problems) for k, v in yes_no.items()}

    booking = raw.get("booking", BOOKING_NONE)
    booking = _text(booking, f"{where}.booking", problems) or BOOKING_NONE
    expected = _expected(raw.get("expected"), f"{where}.expected", problems)
    if expected.meeting_booked and booking == BOOKING_NONE:
        problems.add(f"{where}.booking", "is none, but expected.meeting_booked is true")

    timezone = _text(raw.get("timezone"), f"{where}.timezone", problems, required=False) or DEFAULT_TIMEZONE
    return Persona(
        id=pid,
        kind=_text(raw.get("kind"), f"{where}.kind", problems),
        description=_text(raw.get("description"), f"{where}.description", problems),
        opener=opener,
        opener_facts=_facts(raw.get("opener_facts"), f"{where}.opener_facts", problems),
        answers=_fact_texts(raw.get("answers"), f"{where}.answers", problems),
        declines=_fact_texts(raw.get("declines"), f"{where}.declines", problems),
        interjections=tuple(interjections),
        stop=stop,
        yes_no=yes_no,
        booking=booking,
        expected=expected,
        timezone=timezone,
        page=_text(raw.get("page"), f"{where}.page", problems, required=False),
    )


def personas_parse(document, *, source: str = "personas") -> list[Persona]:
    """Every persona of a parsed YAML document; PersonaError lists every problem found."""
    problems = _Problems()
    if not isinstance(document, dict):
        raise PersonaError(f"{source}: must be a mapping with `version: 1` and `personas: [...]`")
    if document.get("version") != 1:
        problems.add(source, f"version must be 1, got {document.get('version')!r}")
    raw_personas = document.get("personas")
    if not isinstance(raw_personas, list) or not raw_personas:
        problems.add(source, "personas must be a non-empty list")
        raw_personas = []
    personas = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_personas):
        persona = persona_parse(raw, f"{source}: personas[{i}]", problems)
        if persona is None:
            continue
        if persona.id in seen:
            problems.add(f"{source}: personas[{i}]", f"duplicate id {persona.id!r}")
        seen.add(persona.id)
        personas.append(persona)
    if problems.items:
        raise PersonaError(f"{len(problems.items)} problem(s) in the persona file:\n  " + "\n  ".join(problems.items))
    return personas


def personas_load(path: Path) -> list[Persona]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PersonaError(f"cannot read {path}: {error}") from error
    except yaml.YAMLError as error:
        raise PersonaError(f"{path} is not valid YAML: {error}") from error
    return personas_parse(document, source=str(path))


def personas_select(personas: list[Persona], *, ids: list[str] | None = None, kinds: list[str] | None = None):
    """The personas named by id (in the order given) and/or of the given kinds; all when neither is given."""
    by_id = {p.id: p for p in personas}
    unknown = [i for i in ids or [] if i not in by_id]
    if unknown:
        raise PersonaError(f"no persona with id {', '.join(unknown)}")
    known_kinds = {p.kind for p in personas}
    unknown_kinds = [k for k in kinds or [] if k not in known_kinds]
    if unknown_kinds:
        raise PersonaError(f"no persona of kind {', '.join(unknown_kinds)}; kinds: {', '.join(sorted(known_kinds))}")
    if not ids and not kinds:
        return list(personas)
    chosen = [by_id[i] for i in ids or []]
    chosen += [p for p in personas if p.kind in (kinds or []) and p not in chosen]
    return chosen
