"""What a visitor told a rep who held the chat, read for the bot at hand back (parsing.facts_told)."""

from qualification import parsing


def test_every_message_is_read_in_order_and_a_later_one_wins():
    told = parsing.facts_told(
        [
            "We need better pipeline forecasting for our sales team",
            "I'm the CTO",
            "we're about 30 people",
            "we're about 300 people in total",
        ],
        known={"requested_slot": "need"},
    )
    assert told.slots["need"] == "We need better pipeline forecasting for our sales team"
    assert (told.slots["role"], told.slots["authority"]) == ("CTO", "decision_maker")
    assert told.slots["company_size"] == 300.0
    assert told.facts["company_size"] == 300
    assert told.raw["company_size"] == "we're about 300 people in total"  # the raw text of the winner
    assert told.facts["need_text"] == told.slots["need"]


def test_nothing_read_keeps_the_slot():
    known = {"role": "VP of Sales", "company_size": 450.0, "need": "Better forecasts"}
    told = parsing.facts_told(["ok thanks", "sure", "Acme Analytics", ""], known=known)
    assert told.slots == {} and told.facts == {} and told.raw == {}
    assert parsing.facts_told([], known=known).slots == {}


def test_an_answer_the_bot_had_stays_unless_corrected():
    known = {"company_size": 450.0}
    assert "company_size" not in parsing.facts_told(["our team is 45 people"], known=known).slots
    corrected = parsing.facts_told(["sorry, we're 45 people, not 450"], known=known)
    assert corrected.slots["company_size"] == 45.0


def test_questions_and_free_text_tell_nothing():
    # no question of the form was open: "Acme" answers nothing, and a question's words are no facts
    told = parsing.facts_told(["how much is it for 300 people?", "Acme", "Dana"], known={})
    assert told.slots == {}
    # the statement beside a question is still read
    told = parsing.facts_told(["I'm the CFO. Does it work with Salesforce?"], known={})
    assert told.slots["role"] == "CFO" and "company_name" not in told.slots
