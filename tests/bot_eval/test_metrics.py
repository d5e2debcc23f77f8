"""The simulator's figures on hand-made transcripts: each defect is counted exactly once, and nothing else."""

from tests.bot_eval.metrics import persona_result, report_text, totals, turns_text
from tests.bot_eval.personas import personas_parse
from tests.bot_eval.transcript import BotMessage, State, Transcript, Turn, transcript_text

SLOTS = (("Tue 1 Dec, 14:00 Berlin time", '/choose_slot{"slot_choice": "1|2026-12-01T13:00:00+00:00"}'),)


def persona(**overrides):
    raw = {
        "id": "vp-acme",
        "kind": "buyer",
        "description": "VP of Sales, multi-fact opener.",
        "opener": ["I'm VP of Sales at Acme, about 300 people"],
        "opener_facts": ["role", "company_name", "company_size"],
        "answers": {"need": "forecasting", "company_name": "Acme", "timeline": "this quarter", "budget": "yes"},
        "booking": "first_slot",
        "expected": {
            "outcome": "qualified",
            "meeting_booked": True,
            "handoff": False,
            "stored": {"role": "VP of Sales", "company_size": 300},
        },
        **overrides,
    }
    return personas_parse({"version": 1, "personas": [raw]})[0]


def ask(text, slot="", buttons=()):
    return BotMessage(text=text, asked_slot=slot, buttons=tuple(buttons))


LEAD = {"outcome": "qualified", "role": "VP of Sales", "company_size": 300, "visitor_type": "", "need_text": "x"}


def booking_transcript() -> Transcript:
    """A multi-fact buyer who books at turn 6, after one re-ask (turn 2), a dead end (3) and a repeat (4)."""
    return Transcript(
        persona_id="vp-acme",
        kind="buyer",
        greeting=[ask("Hi! What brings you to us today?")],
        turns=[
            Turn(
                visitor="I'm VP of Sales at Acme, about 300 people",
                why="opener 1/1",
                facts=("role", "company_name", "company_size"),
                bot=[ask("What would you like help with?", "need")],
                state=State(lead_outcome="incomplete"),
            ),
            Turn(
                visitor="forecasting",
                why="answer need",
                facts=("need",),
                bot=[ask("Which company are you with?", "company_name")],  # stated in the opener: a re-ask
                state=State(lead_outcome="incomplete"),
            ),
            Turn(
                visitor="Acme",
                why="answer company_name",
                facts=("company_name",),
                bot=[ask("Pricing is per seat.")],  # nothing to answer: a dead end
                state=State(lead_outcome="incomplete"),
            ),
            Turn(
                visitor="ok",
                why="no rule",
                bot=[ask("Pricing is per seat."), ask("When are you hoping to start?", "timeline")],  # a repeat
                state=State(lead_outcome="incomplete"),
            ),
            Turn(
                visitor="this quarter",
                why="answer timeline",
                facts=("timeline",),
                bot=[ask("Thanks, that's everything."), ask("Pick a time:", buttons=SLOTS)],
                state=State(lead_outcome="qualified", decided=True),
            ),
            Turn(
                visitor=SLOTS[0][1],
                pressed=SLOTS[0][0],
                why="booking: first time offered",
                bot=[ask("You're booked: Tue 1 Dec, 14:00 Berlin time with Rita Rep. Talk soon!")],
                state=State(lead_outcome="qualified", decided=True, meeting_booked=True),
            ),
        ],
        end="meeting booked",
        final={"lead": LEAD, "meeting_booked": True, "handoff": False},
    )


def test_a_repeat_a_dead_end_and_a_reask_are_counted_exactly():
    result = persona_result(persona(), booking_transcript())

    assert result.dead_ends == [3]  # the booking confirmation (turn 6) is the end this buyer expects
    assert result.repeats == [4] and result.literal_repeats == [4]
    assert result.reasks == [(2, "company_name")]
    assert result.turns == 6 and result.turns_to_booking == 6
    assert result.right and result.mismatches == []


def test_asking_again_after_a_decline_is_no_reask_and_an_expected_close_is_no_dead_end():
    nurture = persona(
        id="analyst",
        opener_facts=[],
        declines={"budget": "I'd rather not say"},
        booking="none",
        expected={"outcome": "nurture", "meeting_booked": False, "handoff": False},
    )
    transcript = Transcript(
        persona_id="analyst",
        kind="buyer",
        turns=[
            Turn(visitor="hi", why="opener 1/1", bot=[ask("Is there budget?", "budget")]),
            Turn(visitor="I'd rather not say", why="decline budget", bot=[ask("Is there budget?", "budget")]),
            Turn(
                visitor="I'd rather not say",
                why="decline budget",
                bot=[ask("Can I send you our playbook?", buttons=(("Yes", "/affirm"), ("No", "/deny")))],
                state=State(lead_outcome="nurture", decided=True),
            ),
            Turn(
                visitor="/deny",
                why="yes/no offer",
                bot=[ask("No problem. Whenever you're ready, just come back here.")],
                state=State(lead_outcome="nurture", decided=True),
            ),
        ],
        final={"lead": {**LEAD, "outcome": "nurture"}, "meeting_booked": False, "handoff": False},
    )
    result = persona_result(nurture, transcript)

    assert result.reasks == [] and result.dead_ends == []
    assert result.repeats == [2]  # the identical budget question
    assert result.right and result.turns_to_booking is None


def test_a_close_the_persona_does_not_expect_is_a_dead_end_and_the_wrong_outcome():
    transcript = booking_transcript()
    transcript.turns[4:] = [
        Turn(
            visitor="this quarter",
            why="answer timeline",
            facts=("timeline",),
            bot=[ask("Thanks for the chat! Someone will follow up.")],
            state=State(lead_outcome="disqualified", decided=True, visitor_type="job_seeker"),
        )
    ]
    transcript.final = {"lead": {**LEAD, "outcome": "disqualified", "role": "Director"}, "meeting_booked": False}

    result = persona_result(persona(), transcript)

    assert result.dead_ends == [3, 5]
    assert not result.right
    assert result.mismatches == [
        "outcome disqualified, expected qualified",
        "meeting booked False, expected True",
        "stored role 'Director', expected 'VP of Sales'",
    ]


def test_a_turn_sent_again_word_for_word_repeats_each_of_its_messages():
    loop = [ask("I'm a bot, the Northwind assistant."), ask("Which company are you with?", "company_name")]
    transcript = Transcript(
        persona_id="vp-acme",
        kind="buyer",
        greeting=[ask("Hi! What brings you to us today?")],
        turns=[
            Turn(visitor="Quarrystone Software", why="answer company_name", bot=list(loop)),
            Turn(visitor="Quarrystone Software", why="answer company_name", bot=list(loop)),
            Turn(visitor="hello?", why="x", bot=[ask("Hi! What brings you to us today?")]),  # not since turn 0
        ],
    )
    result = persona_result(persona(), transcript)
    assert result.repeats == [2, 2]
    assert result.literal_repeats == []  # no message equals the one right before it


def test_stored_facts_compare_ignoring_case_and_spacing_and_a_missing_lead_is_incomplete():
    lenient = persona(expected={"outcome": "incomplete", "meeting_booked": False, "handoff": False})
    assert persona_result(lenient, Transcript("vp-acme", "buyer", final={"lead": None})).right

    spaced = {**LEAD, "role": "  vp  of SALES "}
    result = persona_result(persona(), Transcript("vp-acme", "buyer", final={"lead": spaced, "meeting_booked": True}))
    assert result.right, result.mismatches


def test_totals_mark_each_target_and_the_medians_by_buyer_group():
    multi = persona_result(persona(), booking_transcript())
    one_fact = persona_result(persona(id="terse", opener_facts=["need"]), booking_transcript())
    one_fact.turns_to_booking = 9
    total = totals([multi, one_fact])

    assert total.right_share == 1.0 and total.dead_ends == 2 and total.repeats == 2 and total.reasks == 2
    assert total.median_turns_multi_fact == 6 and total.median_turns_one_fact == 9
    verdicts = {t.name: t.passed for t in total.targets}
    assert verdicts == {
        "right outcome": True,
        "dead ends": False,
        "verbatim repeats": False,
        "re-asked facts": True,
        "median turns to booking, one fact per message": False,
        "median turns to booking, multi-fact openers": False,
    }
    assert not total.passed
    report = report_text([multi, one_fact], total)
    assert "dead ends at turns 3;" in report and "re-asked company_name x1 (turns 2)" in report
    assert "Targets missed." in report


def test_a_buyer_group_that_booked_nothing_fails_its_median():
    result = persona_result(persona(), Transcript("vp-acme", "buyer", final={"lead": LEAD}))
    total = totals([result])
    median = next(t for t in total.targets if t.name.endswith("multi-fact openers"))
    assert median.passed is False and median.value == "none booked (0/1 booked)"
    one_fact = next(t for t in total.targets if t.name.endswith("one fact per message"))
    assert one_fact.passed is None  # no such buyer in this run


def test_turn_lists_read_as_ranges():
    assert turns_text([2, 3, 3, 4, 7, 9, 10]) == "2-4, 7, 9-10"


def test_transcript_text_shows_visitor_bot_buttons_and_asked_slots():
    text = transcript_text(booking_transcript())
    assert " 2 visitor: forecasting" in text
    assert "(asked_slot: company_name)" in text
    assert f"[{SLOTS[0][0]}] -> {SLOTS[0][1]}" in text
    assert 'stored: {"meeting_booked": true}' in text


def test_transcripts_survive_the_summary_json():
    transcript = booking_transcript()
    assert Transcript.from_json(transcript.to_json()) == transcript
