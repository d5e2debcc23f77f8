"""What a persona says next: simple, deterministic rules over the bot's last turn.

The player answers the question the bot is asking, the way the persona file says this visitor would:

1. the opener messages first, one at a time (the opener's facts count as stated after the last one);
2. meeting-time buttons (`/choose_slot…` payloads): `booking: first_slot` clicks the first time,
   `none` leaves; a typed preference is typed once, then the first time offered after it is clicked
   (or, when the persona expects no meeting, e.g. "can you just email me instead?", the visitor leaves);
3. a yes/no offer (resources by email, "Book a meeting" / "Follow up by email" after a handoff,
   an email follow-up when nobody is free): the persona's `yes_no` answer for that offer, else a
   click on the first button;
4. a form question (the bot message's `asked_slot`, read from the database; `booking_email` is the
   email): first any interjection due before this answer, then the stop text if this is the stop
   point, else the decline text, else `answers[slot]`, else (no words for it in the persona) "I'd
   rather not say";
5. an open question with no asked slot ("what brings you here?"), or a prompt with nothing to
   answer, while the need was not stated yet: as 4 for the need (an interjection or the stop may
   come first), when the persona has words for it;
6. anything else with buttons: a click on the first one; with nothing left to say, the visitor leaves.

An interjection whose answer never comes (the bot asked fewer questions than the persona file
counted on) is sent at the visitor's next move that is not an answer: before clicking a time,
answering an offer or leaving. A visitor who meant to correct something says it before they go.

Questions are counted (for `before_answer` and `at_answer`) each time the player answers from
`answers` (4 and 5), 1-based; offers and meeting times are not questions.

The conversation ends when a meeting is booked, the persona's stop message was answered, or the
bot closed (no question, no buttons) after a decision or a handoff; after 25 visitor turns at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.bot_eval.personas import BOOKING_FIRST_SLOT, BOOKING_NONE, Persona
from tests.bot_eval.transcript import Turn

MAX_VISITOR_TURNS = 25
GENERIC_DECLINE = "I'd rather not say"
SLOT_PAYLOAD = "/choose_slot"
# The form slot a question asks for → the persona fact that answers it.
SLOT_FACTS = {"booking_email": "email"}
# Yes/no offers, recognised by their buttons' payloads, and the `yes_no` keys that answer each.
OFFERS = (
    # (kind, payloads that identify it, persona yes_no keys that answer it)
    ("resources_by_email", {"/affirm", "/deny"}, ("resources_by_email", "resources")),
    (
        "after_handoff",
        {"/request_demo", "/request_email_followup"},
        ("after_handoff", "handoff", "booking_or_email", "book_or_email", "meeting_or_email"),
    ),
    ("email_followup", {"/request_followup"}, ("email_followup", "followup_by_email", "nobody_free")),
    ("email_or_person", {"/request_email_followup", "/request_human"}, ("email_or_person",)),
)


@dataclass
class Progress:
    """What the visitor has done so far."""

    opener_sent: int = 0
    questions: int = 0  # questions answered from `answers` (or declined, or stopped at)
    interjections_sent: set[int] = field(default_factory=set)
    stated: set[str] = field(default_factory=set)
    preference_typed: bool = False
    stopped: bool = False


@dataclass(frozen=True)
class Move:
    text: str
    why: str  # for the transcript reader
    kind: str  # opener | interjection | answer (a question, counted) | preference | offer | click
    facts: tuple[str, ...] = ()
    pressed: str = ""  # the button's title when this is a click
    stop: bool = False
    index: int = 0  # the opener message or interjection sent


@dataclass(frozen=True)
class Leave:
    why: str


def slot_fact(slot: str) -> str:
    return SLOT_FACTS.get(slot, slot)


def conversation_end(turn: Turn) -> str | None:
    """Why the conversation is over after this turn, or None."""
    if turn.state.meeting_booked:
        return "meeting booked"
    if turn.stop:
        return "the visitor stopped"
    if not turn.leaves_something_to_answer and turn.state.handoff:
        return "the bot closed after a handoff"
    if not turn.leaves_something_to_answer and turn.state.decided:
        return f"the bot closed after deciding {turn.state.lead_outcome}"
    return None


def offer_kind(buttons: list[tuple[str, str]]) -> tuple[str, tuple[str, ...]] | None:
    payloads = {payload.split("{")[0] for _, payload in buttons}
    for kind, identifying, keys in OFFERS:
        if identifying <= payloads:
            return kind, keys
    return None


def _emails_in(persona: Persona, text: str) -> tuple[str, ...]:
    email = persona.answers.get("email", "")
    return ("email",) if email and email.lower() in text.lower() else ()


def answer_question(persona: Persona, progress: Progress, fact: str, *, asked: bool = True) -> Move | None:
    """Rule 4: an interjection due first, the stop text, the decline, or the answer.

    `asked=False` (rule 5: the bot did not name the fact): None when the persona has no words for it.
    """
    number = progress.questions + 1
    for index, interjection in enumerate(persona.interjections):
        if interjection.before_answer == number and index not in progress.interjections_sent:
            return Move(
                text=interjection.text,
                why=f"interjection {index + 1} before answer {number} ({fact} asked)",
                kind="interjection",
                facts=interjection.facts,
                index=index,
            )
    if persona.stop is not None and persona.stop.at_answer == number:
        return Move(text=persona.stop.text, why=f"stop at answer {number} ({fact} asked)", kind="answer", stop=True)
    if fact in persona.declines:
        return Move(text=persona.declines[fact], why=f"decline {fact} (answer {number})", kind="answer")
    if fact in persona.answers:
        return Move(text=persona.answers[fact], why=f"answer {fact} (answer {number})", kind="answer", facts=(fact,))
    if not asked:
        return None
    # The persona file has no words for this question (a job seeker asked for a budget): the visitor
    # declines it, which the bot must take as a skip; the transcript names the gap.
    return Move(
        text=GENERIC_DECLINE,
        why=f"no answer for {fact} in the persona: generic decline (answer {number})",
        kind="answer",
    )


def overdue_interjection(persona: Persona, progress: Progress, before: str) -> Move | None:
    """The first unsent interjection, before a move that is not an answer (see the module's docstring)."""
    for index, interjection in enumerate(persona.interjections):
        if index not in progress.interjections_sent:
            return Move(
                text=interjection.text,
                why=f"interjection {index + 1} (due before answer {interjection.before_answer}) before {before}",
                kind="interjection",
                facts=interjection.facts,
                index=index,
            )
    return None


def next_move(persona: Persona, progress: Progress, turns: list[Turn]) -> Move | Leave:
    if progress.opener_sent < len(persona.opener):
        index = progress.opener_sent
        last = index == len(persona.opener) - 1
        return Move(
            text=persona.opener[index],
            why=f"opener {index + 1}/{len(persona.opener)}",
            kind="opener",
            facts=persona.opener_facts if last else (),
            index=index,
        )
    turn = turns[-1]
    if len(turns) >= MAX_VISITOR_TURNS:
        return Leave(f"turn limit ({MAX_VISITOR_TURNS} visitor messages)")
    end = conversation_end(turn)
    if end:
        if progress.stopped:
            return Leave(end)
        return overdue_interjection(persona, progress, f"leaving ({end})") or Leave(end)

    buttons = [b for m in turn.bot for b in m.buttons]
    last = turn.bot[-1] if turn.bot else None
    asked = next((m.asked_slot for m in reversed(turn.bot) if m.asked_slot), "")

    slots = [b for b in buttons if b[1].startswith(SLOT_PAYLOAD)]
    if slots and (move := overdue_interjection(persona, progress, "the meeting times")):
        return move
    if slots:
        if persona.booking == BOOKING_NONE:
            return Leave("meeting times offered; this visitor does not book")
        if persona.booking != BOOKING_FIRST_SLOT:
            if not progress.preference_typed:
                return Move(text=persona.booking, why="booking: typed preference", kind="preference")
            if not persona.expected.meeting_booked:
                # Their words said what they want instead of a time ("just email me"): they pick none.
                return Leave("meeting times offered again after the typed answer; this visitor does not book")
        title, payload = slots[0]
        return Move(text=payload, pressed=title, why="booking: first time offered", kind="click")

    offer = offer_kind(last.buttons if last else [])
    if offer and not (asked and offer[0] == "email_or_person"):
        kind, keys = offer
        if move := overdue_interjection(persona, progress, f"the {kind} offer"):
            return move
        key = next((k for k in keys if k in persona.yes_no), None)
        if key is not None:
            text = persona.yes_no[key]
            return Move(
                text=text, why=f"yes/no offer {kind}: persona's answer", kind="offer", facts=_emails_in(persona, text)
            )
        title, payload = last.buttons[0]
        return Move(text=payload, pressed=title, why=f"yes/no offer {kind}: first button", kind="click")

    if asked:
        return answer_question(persona, progress, slot_fact(asked))

    if "need" not in progress.stated:
        move = answer_question(persona, progress, "need", asked=False)
        if move is not None:
            return move

    if buttons:
        title, payload = buttons[0]
        return Move(text=payload, pressed=title, why="buttons with no rule: first button", kind="click")
    if last is not None and "?" in last.text:
        return Leave("an open question the persona has nothing more for")
    return Leave("nothing to answer")


def progress_record(progress: Progress, move: Move) -> None:
    """Update what the visitor has done once `move` was sent."""
    if move.kind == "opener":
        progress.opener_sent += 1
    elif move.kind == "interjection":
        progress.interjections_sent.add(move.index)
    elif move.kind == "answer":
        progress.questions += 1
    elif move.kind == "preference":
        progress.preference_typed = True
    progress.stopped = progress.stopped or move.stop
    progress.stated.update(move.facts)
