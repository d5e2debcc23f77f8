"""The record of one played conversation, and its readable text.

A `Turn` is one visitor message and the bot's messages after it, with what the product had stored
once the bot answered (`State`, read from the database). The metrics are computed from these records
alone, so they are tested on hand-made transcripts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)
    asked_slot: str = ""  # the form slot the bot was asking for (Message.asked_slot)

    @property
    def asks(self) -> bool:
        """Leaves the visitor something to answer: a question or buttons."""
        return "?" in self.text or bool(self.buttons)


@dataclass(frozen=True)
class State:
    """What the product had stored after a bot turn."""

    lead_outcome: str = ""  # "" while there is no lead
    decided: bool = False
    visitor_type: str = ""
    meeting_booked: bool = False
    handoff: bool = False


@dataclass
class Turn:
    visitor: str  # what was sent (a button press sends its payload)
    why: str  # the player's reason, e.g. "answer role", "decline company_size", "opener 1/2"
    bot: list[BotMessage] = field(default_factory=list)
    state: State = field(default_factory=State)
    facts: tuple[str, ...] = ()  # facts the visitor message states
    pressed: str = ""  # the button's title when the visitor clicked one
    stop: bool = False  # the persona's stop message
    note: str = ""  # what went wrong outside the dialogue (the bot unavailable)
    waited: float = 0.0  # seconds the widget's rate limit held this message back

    @property
    def asked_slots(self) -> list[str]:
        return [m.asked_slot for m in self.bot if m.asked_slot]

    @property
    def leaves_something_to_answer(self) -> bool:
        return bool(self.bot) and self.bot[-1].asks


@dataclass
class Transcript:
    persona_id: str
    kind: str
    conversation_id: str = ""
    greeting: list[BotMessage] = field(default_factory=list)  # what the chat showed before the first message
    turns: list[Turn] = field(default_factory=list)
    end: str = ""  # why the visitor stopped writing
    final: dict = field(default_factory=dict)  # the stored lead facts, meeting and handoff at the end
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Transcript:
        def message(m: dict) -> BotMessage:
            return BotMessage(text=m["text"], buttons=tuple(tuple(b) for b in m["buttons"]), asked_slot=m["asked_slot"])

        turns = [
            Turn(
                **{**t, "bot": [message(m) for m in t["bot"]], "state": State(**t["state"]), "facts": tuple(t["facts"])}
            )
            for t in data["turns"]
        ]
        return cls(
            **{**data, "greeting": [message(m) for m in data["greeting"]], "turns": turns},
        )


def _bot_lines(messages: list[BotMessage]) -> list[str]:
    lines = []
    for m in messages:
        lines.append(f"  bot:     {m.text}")
        for title, payload in m.buttons:
            lines.append(f"           [{title}] -> {payload}")
        if m.asked_slot:
            lines.append(f"           (asked_slot: {m.asked_slot})")
    if not messages:
        lines.append("  bot:     (no reply)")
    return lines


def transcript_text(transcript: Transcript, *, header: list[str] | None = None) -> str:
    """The conversation as a person reads it: visitor and bot lines, buttons, asked slots, state changes."""
    lines = [f"persona: {transcript.persona_id} ({transcript.kind})", f"conversation: {transcript.conversation_id}"]
    lines += header or []
    lines.append("")
    lines += _bot_lines(transcript.greeting)
    previous = State()
    for number, turn in enumerate(transcript.turns, 1):
        said = f"[{turn.pressed}] -> {turn.visitor}" if turn.pressed else turn.visitor
        lines.append("")
        lines.append(f"{number:>2} visitor: {said}")
        facts = f"; states {', '.join(turn.facts)}" if turn.facts else ""
        lines.append(f"           ({turn.why}{facts})")
        if turn.note:
            lines.append(f"           !! {turn.note}")
        if turn.waited:
            lines.append(f"           (held back {turn.waited:.0f} s by the rate limit)")
        lines += _bot_lines(turn.bot)
        if turn.state != previous:
            changes = {k: v for k, v in asdict(turn.state).items() if asdict(previous)[k] != v}
            lines.append(f"           stored: {json.dumps(changes, ensure_ascii=False)}")
            previous = turn.state
    lines.append("")
    lines.append(f"end: {transcript.end}")
    if transcript.final:
        lines.append(f"final: {json.dumps(transcript.final, ensure_ascii=False, sort_keys=True)}")
    for error in transcript.errors:
        lines.append(f"error: {error}")
    return "\n".join(lines) + "\n"
