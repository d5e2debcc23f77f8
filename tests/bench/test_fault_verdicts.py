"""The fault benchmark's reading of a run (bench/fault.py): which stored bot messages answer which
visitor message, and what counts as lost, answered twice or out of order, on made-up transcripts."""

import pytest

from bench.fault import Sent, Transcript, arguments, report, verdicts

C = "conv-1"
GREETING = (1, "Hi! What brings you here?")  # stored when the conversation starts, before any message


def sent(*times: float) -> list[Sent]:
    return [Sent(C, f"m{i}", i, at) for i, at in enumerate(times)]


def shown(*frames: tuple[float, int]) -> dict:
    """The tab's frames: (seconds, stored bot message id)."""
    return {C: [(at, {"type": "bot", "sender": "bot", "id": pk, "text": "..."}) for at, pk in frames]}


def transcript(visitor: dict, bot: list, handled: list) -> dict:
    return {C: Transcript(visitor=visitor, bot=[GREETING, *bot], handled=handled)}


def states(found) -> list[str]:
    return [v.state for v in found]


def test_each_message_is_answered_by_the_bot_messages_rasa_sent_after_it():
    found = verdicts(
        sent(0.0, 10.0),
        shown((1.5, 11), (1.6, 12), (30.0, 21)),
        transcript(
            {"m0": (10, "delivered"), "m1": (20, "delivered")},
            [(11, "Hello!"), (12, "What do you need?"), (21, "I'm a bot.")],
            [("10", ["Hello!", "What do you need?"]), ("20", ["I'm a bot."])],
        ),
    )
    assert states(found) == ["answered", "answered"]
    assert [v.wait for v in found] == [1.5, 20.0]  # from sending to the answer's first frame in the tab
    assert not any(v.twice or v.out_of_order for v in found)


def test_rasas_session_start_messages_belong_to_the_first_answer():
    found = verdicts(
        sent(0.0),
        shown((2.0, 12)),
        transcript(
            {"m0": (10, "delivered")},
            [(11, "Welcome back."), (12, "Hello!")],
            [(None, ["Welcome back."]), ("10", ["Hello!"])],
        ),
    )
    assert states(found) == ["answered"] and found[0].wait == 2.0


@pytest.mark.parametrize(
    ("visitor", "frames", "state"),
    [
        ({}, [], "never stored"),
        ({"m0": (10, "queued")}, [], "waiting"),
        ({"m0": (10, "pending")}, [], "waiting"),
        ({"m0": (10, "delivered")}, [], "history only"),  # stored and answered, but the open tab never got it
    ],
)
def test_a_message_without_its_answer_in_the_open_tab_is_lost(visitor, frames, state):
    bot, handled = (
        ([(11, "Hello!")], [("10", ["Hello!"])]) if visitor.get("m0", (0, ""))[1] == "delivered" else ([], [])
    )
    found = verdicts(sent(0.0), shown(*frames), transcript(visitor, bot, handled))
    assert states(found) == [state] and found[0].wait is None
    assert report(found, kill_at=None, back_at=None, told_later=0) is False


def test_a_turn_rasa_answered_with_nothing_is_not_lost():
    found = verdicts(sent(0.0), shown(), transcript({"m0": (10, "delivered")}, [], [("10", [])]))
    assert states(found) == ["silent"]
    assert report(found, kill_at=None, back_at=None, told_later=0) is True


def test_stored_answers_rasa_has_no_record_of_make_the_conversation_unchecked():
    found = verdicts(
        sent(0.0),
        shown((1.0, 11), (1.1, 12)),
        transcript({"m0": (10, "delivered")}, [(11, "Hello!"), (12, "Hello!")], [("10", ["Hello!"])]),
    )
    assert states(found) == ["unchecked"]
    assert report(found, kill_at=None, back_at=None, told_later=0) is False


def test_a_message_delivered_without_rasa_handling_it_cannot_be_checked():
    found = verdicts(sent(0.0), shown(), transcript({"m0": (10, "delivered")}, [], []))
    assert states(found) == ["unchecked"]


def test_a_message_rasa_handled_twice_is_answered_twice():
    found = verdicts(
        sent(0.0, 5.0),
        shown((1.0, 11), (9.0, 21)),
        transcript(
            {"m0": (10, "delivered"), "m1": (20, "delivered")},
            [(11, "Hello!"), (21, "I'm a bot.")],
            [("10", ["Hello!"]), ("10", ["Hello again!"]), ("20", ["I'm a bot."])],
        ),
    )
    assert [v.twice for v in found] == [True, False]
    assert states(found) == ["answered", "answered"]


def test_an_answer_shown_twice_in_the_tab_is_answered_twice():
    found = verdicts(
        sent(0.0),
        shown((1.0, 11), (40.0, 11)),
        transcript({"m0": (10, "delivered")}, [(11, "Hello!")], [("10", ["Hello!"])]),
    )
    assert found[0].twice and found[0].wait == 1.0


def test_an_answer_shown_before_the_answer_to_an_earlier_message_is_out_of_order():
    found = verdicts(
        sent(0.0, 5.0),
        shown((6.0, 21), (7.0, 11)),
        transcript(
            {"m0": (10, "queued"), "m1": (20, "delivered")},
            [(11, "Hello!"), (21, "I'm a bot.")],
            [("10", ["Hello!"]), ("20", ["I'm a bot."])],
        ),
    )
    assert [v.out_of_order for v in found] == [False, False]  # m0 still waits: not answered, so no order yet
    found = verdicts(
        sent(0.0, 5.0),
        shown((6.0, 21), (7.0, 11)),
        transcript(
            {"m0": (10, "delivered"), "m1": (20, "delivered")},
            [(11, "Hello!"), (21, "I'm a bot.")],
            [("10", ["Hello!"]), ("20", ["I'm a bot."])],
        ),
    )
    assert [v.out_of_order for v in found] == [False, True]


def test_a_message_rasa_handled_before_an_earlier_one_is_out_of_order():
    found = verdicts(
        sent(0.0, 5.0),
        shown((6.0, 11), (7.0, 21)),
        transcript(
            {"m0": (10, "delivered"), "m1": (20, "delivered")},
            [(11, "I'm a bot."), (21, "Hello!")],
            [("20", ["I'm a bot."]), ("10", ["Hello!"])],
        ),
    )
    assert [v.out_of_order for v in found] == [False, True]


def test_conversations_are_read_apart():
    other = Sent("conv-2", "m0", 0, 0.0)
    found = verdicts(
        [*sent(0.0), other],
        {**shown((1.0, 11)), "conv-2": [(3.0, {"type": "bot", "sender": "bot", "id": 31})]},
        {
            **transcript({"m0": (10, "delivered")}, [(11, "Hello!")], [("10", ["Hello!"])]),
            "conv-2": Transcript({"m0": (30, "delivered")}, [(31, "Hello!")], [("30", ["Hello!"])]),
        },
    )
    assert [(v.sent.conversation, v.state, v.wait) for v in found] == [
        (C, "answered", 1.0),
        ("conv-2", "answered", 3.0),
    ]


def test_the_report_splits_the_waits_by_when_the_message_was_sent(capsys):
    found = verdicts(
        sent(0.0, 20.0, 43.0),
        shown((1.0, 11), (45.0, 21), (46.0, 31)),
        transcript(
            {"m0": (10, "delivered"), "m1": (20, "delivered"), "m2": (30, "delivered")},
            [(11, "a"), (21, "b"), (31, "c")],
            [("10", ["a"]), ("20", ["b"]), ("30", ["c"])],
        ),
    )
    assert report(found, kill_at=10.0, back_at=42.0, told_later=1) is True
    out = capsys.readouterr().out
    assert "lost                        0" in out
    assert "sent before the kill                   1 sent" in out and "1,000" in out
    assert "sent while Rasa was down               1 sent" in out and "25,000" in out
    assert "sent after it was back                 1 sent" in out and "3,000" in out
    assert "Rasa down 32.0 s" in out and "came 3.0 s after that" in out


def test_arguments_default_to_fifty_visitors_and_refuse_nonsense():
    args = arguments([])
    assert (args.visitors, args.think, args.kill_after, args.deadline) == (50, 8.0, 30.0, 300.0)
    assert arguments(["--visitors", "3", "--kill-after", "5"]).visitors == 3
    for wrong in (["--visitors", "0"], ["--think", "0"], ["--kill-after", "-1"]):
        with pytest.raises(SystemExit):
            arguments(wrong)
