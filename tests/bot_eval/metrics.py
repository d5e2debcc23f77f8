"""The figures of a simulator run, per persona and in total, and the targets of issue 11.

Everything here is computed from a `Transcript` (what was said, and what the product had stored after
each bot turn and at the end), so it is tested on hand-made transcripts:

- right outcome: the stored Lead's outcome, a booked Meeting, the conversation's handoff flag, the
  visitor type (when expected) and the expected stored facts (case and spacing ignored) all match;
  a conversation that stored no Lead counts as outcome "incomplete";
- visitor turns to a booking: visitor messages sent up to the one after which the meeting existed;
- dead ends: bot turns whose last message neither asks (no "?") nor offers buttons, including a turn
  with no reply at all, unless the conversation had just reached an end the persona expects (the
  meeting it expected is booked; the outcome it expected is decided, when it expects no meeting; the
  handoff it expected is done, when it expects no meeting; its own stop message was answered);
- verbatim repeats: a bot message the bot had just sent word for word: its previous message, or any
  message of its previous turn or earlier in the same turn (a re-asked question must be rephrased,
  as issue 11's first invariant says; the greeting counts as turn 0);
- re-asked facts: a bot turn asking (asked_slot) for a fact the persona had already stated (opener
  facts, interjection facts, or an earlier answer that was not a decline).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.bot_eval.personas import STORED_ALIASES, Persona
from tests.bot_eval.player import slot_fact
from tests.bot_eval.transcript import Transcript, Turn, transcript_text

RIGHT_OUTCOME_TARGET = 0.95
DEAD_ENDS_TARGET = 0
REPEATS_TARGET = 0
REASKS_TARGET = 2
ONE_FACT_TURNS_TARGET = 7
MULTI_FACT_TURNS_TARGET = 4


@dataclass
class PersonaResult:
    persona_id: str
    kind: str
    expected_outcome: str
    got_outcome: str
    right: bool
    mismatches: list[str]
    turns: int
    turns_to_booking: int | None
    dead_ends: list[int]  # turn numbers (1-based)
    repeats: list[int]
    literal_repeats: list[int]  # of those, equal to the immediately previous bot message
    reasks: list[tuple[int, str]]  # (turn number, fact)
    expects_booking: bool
    multi_fact: bool
    end: str
    errors: list[str] = field(default_factory=list)


def _norm(value) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()).casefold()


def outcome_mismatches(persona: Persona, final: dict) -> tuple[str, list[str]]:
    """The stored outcome and every way the stored result differs from what the persona expects."""
    expected = persona.expected
    lead = final.get("lead")
    got = lead["outcome"] if lead else "incomplete"
    problems = []
    if got != expected.outcome:
        problems.append(f"outcome {got}{' (no lead stored)' if not lead else ''}, expected {expected.outcome}")
    if bool(final.get("meeting_booked")) != expected.meeting_booked:
        problems.append(f"meeting booked {bool(final.get('meeting_booked'))}, expected {expected.meeting_booked}")
    if bool(final.get("handoff")) != expected.handoff:
        problems.append(f"handoff {bool(final.get('handoff'))}, expected {expected.handoff}")
    if expected.visitor_type is not None:
        got_type = (lead or {}).get("visitor_type") or ""
        if got_type != expected.visitor_type:
            problems.append(f"visitor_type {got_type!r}, expected {expected.visitor_type!r}")
    for key, want in expected.stored.items():
        field_name = STORED_ALIASES.get(key, key)
        have = (lead or {}).get(field_name)
        if _norm(have) != _norm(want):
            problems.append(f"stored {key} {have!r}, expected {want!r}")
    return got, problems


def acceptable_end(persona: Persona, turn: Turn) -> bool:
    """The conversation reached an end this persona expects, so a closing message is no dead end."""
    expected, state = persona.expected, turn.state
    if turn.stop:
        return True
    if expected.meeting_booked:
        return state.meeting_booked
    if state.decided and state.lead_outcome == expected.outcome:
        return True
    return state.handoff and expected.handoff


def dead_end_turns(persona: Persona, transcript: Transcript) -> list[int]:
    return [
        number
        for number, turn in enumerate(transcript.turns, 1)
        if not turn.note and not turn.leaves_something_to_answer and not acceptable_end(persona, turn)
    ]


def bot_messages(transcript: Transcript) -> list[tuple[int, str]]:
    """(turn number, text) of every bot message in order; the greeting is turn 0."""
    turns = [(0, transcript.greeting)] + [(n, t.bot) for n, t in enumerate(transcript.turns, 1)]
    return [(number, m.text.strip()) for number, messages in turns for m in messages if m.text.strip()]


def literal_repeat_turns(transcript: Transcript) -> list[int]:
    """Turn numbers of bot messages equal to the bot's immediately previous message (the narrow reading)."""
    messages = bot_messages(transcript)
    return [n for (n, text), (_, before) in zip(messages[1:], messages, strict=False) if text == before]


def repeat_turns(transcript: Transcript) -> list[int]:
    """Turn numbers (0: the greeting) of bot messages the bot had just sent word for word.

    "Just sent": the same text earlier in the same bot turn or in the bot's previous turn. This holds
    the literal case (equal to the bot's previous message) and the loop the literal case misses:
    a turn [a didn't-get, the same question] answered with the identical turn again. Each repeated
    message counts once.
    """
    repeats: list[int] = []
    previous_turn: set[str] = set()
    bot_turns = [(0, transcript.greeting)] + [(n, t.bot) for n, t in enumerate(transcript.turns, 1)]
    for number, messages in bot_turns:
        seen = set(previous_turn)
        texts = [m.text.strip() for m in messages if m.text.strip()]
        for text in texts:
            if text in seen:
                repeats.append(number)
            seen.add(text)
        if texts:
            previous_turn = set(texts)
    return repeats


def reasked_facts(transcript: Transcript) -> list[tuple[int, str]]:
    stated: set[str] = set()
    reasks = []
    for number, turn in enumerate(transcript.turns, 1):
        stated.update(turn.facts)
        for slot in turn.asked_slots:
            if slot_fact(slot) in stated:
                reasks.append((number, slot_fact(slot)))
    return reasks


def booking_turn(transcript: Transcript) -> int | None:
    return next((n for n, turn in enumerate(transcript.turns, 1) if turn.state.meeting_booked), None)


def persona_result(persona: Persona, transcript: Transcript) -> PersonaResult:
    got, mismatches = outcome_mismatches(persona, transcript.final)
    errors = list(transcript.errors) + [f"turn {n}: {t.note}" for n, t in enumerate(transcript.turns, 1) if t.note]
    return PersonaResult(
        persona_id=persona.id,
        kind=persona.kind,
        expected_outcome=persona.expected.outcome,
        got_outcome=got,
        right=not mismatches and not transcript.errors,
        mismatches=mismatches + list(transcript.errors),
        turns=len(transcript.turns),
        turns_to_booking=booking_turn(transcript),
        dead_ends=dead_end_turns(persona, transcript),
        repeats=repeat_turns(transcript),
        literal_repeats=literal_repeat_turns(transcript),
        reasks=reasked_facts(transcript),
        expects_booking=persona.expected.meeting_booked,
        multi_fact=persona.multi_fact,
        end=transcript.end,
        errors=errors,
    )


@dataclass
class Target:
    name: str
    goal: str
    value: str
    passed: bool | None  # None: nothing to measure in this run


@dataclass
class Totals:
    personas: int
    right: int
    right_share: float
    dead_ends: int
    repeats: int
    literal_repeats: int
    reasks: int
    median_turns_one_fact: float | None
    median_turns_multi_fact: float | None
    booked_one_fact: str
    booked_multi_fact: str
    targets: list[Target]

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for t in self.targets)


def _median_turns(results: list[PersonaResult], *, multi_fact: bool) -> tuple[float | None, str, bool | None, int]:
    group = [r for r in results if r.expects_booking and r.multi_fact == multi_fact]
    booked = [r.turns_to_booking for r in group if r.turns_to_booking is not None]
    median = statistics.median(booked) if booked else None
    return median, f"{len(booked)}/{len(group)} booked", bool(group), len(group)


def totals(results: list[PersonaResult]) -> Totals:
    right = sum(r.right for r in results)
    share = right / len(results) if results else 0.0
    dead = sum(len(r.dead_ends) for r in results)
    repeats = sum(len(r.repeats) for r in results)
    literal_repeats = sum(len(r.literal_repeats) for r in results)
    reasks = sum(len(r.reasks) for r in results)
    one, one_booked, one_any, _ = _median_turns(results, multi_fact=False)
    multi, multi_booked, multi_any, _ = _median_turns(results, multi_fact=True)

    def median_target(name: str, median, booked: str, any_expected: bool, goal: int) -> Target:
        if not any_expected:
            return Target(name, f"≤ {goal}", "n/a (no such buyer in this run)", None)
        if median is None:
            return Target(name, f"≤ {goal}", f"none booked ({booked})", False)
        return Target(name, f"≤ {goal}", f"{median:g} ({booked})", median <= goal)

    targets = [
        Target(
            "right outcome",
            f"≥ {RIGHT_OUTCOME_TARGET:.0%}",
            f"{share:.1%} ({right}/{len(results)})",
            share >= RIGHT_OUTCOME_TARGET,
        ),
        Target("dead ends", f"= {DEAD_ENDS_TARGET}", str(dead), dead <= DEAD_ENDS_TARGET),
        Target("verbatim repeats", f"= {REPEATS_TARGET}", str(repeats), repeats <= REPEATS_TARGET),
        Target("re-asked facts", f"≤ {REASKS_TARGET}", str(reasks), reasks <= REASKS_TARGET),
        median_target("median turns to booking, one fact per message", one, one_booked, one_any, ONE_FACT_TURNS_TARGET),
        median_target(
            "median turns to booking, multi-fact openers", multi, multi_booked, multi_any, MULTI_FACT_TURNS_TARGET
        ),
    ]
    return Totals(
        personas=len(results),
        right=right,
        right_share=share,
        dead_ends=dead,
        repeats=repeats,
        literal_repeats=literal_repeats,
        reasks=reasks,
        median_turns_one_fact=one,
        median_turns_multi_fact=multi,
        booked_one_fact=one_booked,
        booked_multi_fact=multi_booked,
        targets=targets,
    )


def turns_text(numbers: list[int]) -> str:
    """Turn numbers as ranges: [2, 3, 3, 4, 7] → "2-4, 7"."""
    ranges: list[list[int]] = []
    for n in sorted(set(numbers)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _cell(values: list) -> str:
    return str(len(values)) if values else "-"


def report_text(results: list[PersonaResult], total: Totals) -> str:
    """The per-persona table, what went wrong for each wrong one, and the totals against the targets."""
    width = max([len(r.persona_id) for r in results] + [7])
    kind_width = max([len(r.kind) for r in results] + [4])
    head = (
        f"{'persona':<{width}}  {'kind':<{kind_width}}  {'outcome expected/got':<27}  ok   "
        f"turns  booked@  dead  rep  re-ask"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        outcome = f"{r.expected_outcome}/{r.got_outcome}"
        lines.append(
            f"{r.persona_id:<{width}}  {r.kind:<{kind_width}}  {outcome:<27}  {'yes' if r.right else 'NO ':<3}  "
            f"{r.turns:>5}  {r.turns_to_booking or '-':>7}  {_cell(r.dead_ends):>4}  {_cell(r.repeats):>3}  "
            f"{_cell(r.reasks):>6}"
        )
    wrong = [r for r in results if r.right is False or r.dead_ends or r.repeats or r.reasks or r.errors]
    if wrong:
        lines.append("")
        lines.append("What went wrong (turn numbers as in the transcripts):")
        for r in wrong:
            details = list(r.mismatches)
            if r.dead_ends:
                details.append(f"dead ends at turns {turns_text(r.dead_ends)}")
            if r.repeats:
                details.append(f"{len(r.repeats)} verbatim repeats at turns {turns_text(r.repeats)}")
            for fact in dict.fromkeys(fact for _, fact in r.reasks):
                numbers = [n for n, f in r.reasks if f == fact]
                details.append(f"re-asked {fact} x{len(numbers)} (turns {turns_text(numbers)})")
            details += [e for e in r.errors if e not in details]
            lines.append(f"  {r.persona_id}: " + "; ".join(details) + f" [end: {r.end}]")
    lines.append("")
    lines.append(f"Totals over {total.personas} personas (targets of issue 11):")
    name_width = max(len(t.name) for t in total.targets)
    for t in total.targets:
        verdict = {True: "pass", False: "FAIL", None: "n/a"}[t.passed]
        lines.append(f"  {t.name:<{name_width}}  {t.value:<24}  target {t.goal:<7}  {verdict}")
    lines.append(
        f"  (of the verbatim repeats, {total.literal_repeats} equal the bot's immediately previous message; "
        "the others repeat a message of the bot's previous turn)"
    )
    lines.append("")
    lines.append("All targets met." if total.passed else "Targets missed.")
    return "\n".join(lines)


def summary_json(results: list[PersonaResult], total: Totals) -> dict:
    return {"personas": [asdict(r) for r in results], "totals": asdict(total), "passed": total.passed}


def artifacts_write(folder: Path, transcripts: list[Transcript], results: list[PersonaResult], total: Totals) -> None:
    """Every transcript as readable text (<persona-id>.txt) and the figures as summary.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for transcript, result in zip(transcripts, results, strict=True):
        header = [
            f"outcome expected/got: {result.expected_outcome}/{result.got_outcome}; right: {result.right}",
            f"turns: {result.turns}; booked at turn: {result.turns_to_booking or '-'}; dead ends: "
            f"{result.dead_ends or '-'}; verbatim repeats: {result.repeats or '-'}; re-asked: {result.reasks or '-'}",
        ] + [f"mismatch: {m}" for m in result.mismatches]
        (folder / f"{transcript.persona_id}.txt").write_text(transcript_text(transcript, header=header))
    summary = summary_json(results, total)
    summary["transcripts"] = [t.to_json() for t in transcripts]
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
