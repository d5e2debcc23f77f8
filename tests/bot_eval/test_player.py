"""The player's rules: what a persona says to each kind of bot turn."""

from tests.bot_eval.personas import personas_parse
from tests.bot_eval.player import MAX_VISITOR_TURNS, Leave, Move, Progress, next_move, progress_record
from tests.bot_eval.transcript import BotMessage, State, Turn

SLOT_A = ("Tue 1 Dec, 14:00 Berlin time", '/choose_slot{"slot_choice": "1|2026-12-01T13:00:00+00:00"}')
SLOT_B = ("Wed 2 Dec, 10:00 Berlin time", '/choose_slot{"slot_choice": "1|2026-12-02T09:00:00+00:00"}')
OFFER = BotMessage("Here are some times:", buttons=(SLOT_A, SLOT_B, ("Other times", "/other_times")))


def persona(**overrides):
    raw = {
        "id": "p",
        "kind": "buyer",
        "description": "d",
        "opener": ["hi", "we need forecasting, I'm the CRO"],
        "opener_facts": ["need", "role"],
        "answers": {"need": "forecasting", "role": "CRO", "company_size": "about 300", "email": "a@b.example"},
        "declines": {"budget": "rather not say"},
        "booking": "first_slot",
        "expected": {"outcome": "qualified", "meeting_booked": True, "handoff": False},
        **overrides,
    }
    return personas_parse({"version": 1, "personas": [raw]})[0]


def after(*messages, state: State | None = None):
    return [Turn(visitor="x", why="w", bot=list(messages), state=state or State())]


def play(p, progress, turns):
    move = next_move(p, progress, turns)
    if isinstance(move, Move):
        progress_record(progress, move)
    return move


def test_the_opener_goes_first_one_message_at_a_time_with_its_facts_on_the_last():
    p, progress = persona(), Progress()
    first = play(p, progress, [])
    second = play(p, progress, after(BotMessage("Hi! What brings you here?")))
    assert (first.text, first.facts) == ("hi", ())
    assert (second.text, second.facts) == ("we need forecasting, I'm the CRO", ("need", "role"))
    assert progress.stated == {"need", "role"}


def test_the_asked_slot_is_answered_declined_or_the_email_given_for_the_invitation():
    p, progress = persona(), Progress(opener_sent=2)
    size = play(p, progress, after(BotMessage("How many people?", asked_slot="company_size")))
    assert (size.text, size.facts) == ("about 300", ("company_size",))
    budget = play(p, progress, after(BotMessage("Budget?", asked_slot="budget")))
    assert (budget.text, budget.facts) == ("rather not say", ())
    email = play(p, progress, after(BotMessage("Which email for the invite?", asked_slot="booking_email")))
    assert (email.text, email.facts) == ("a@b.example", ("email",))
    assert progress.questions == 3


def test_an_interjection_comes_right_before_its_answer_and_the_stop_replaces_its_answer():
    p = persona(
        interjections=[{"before_answer": 2, "text": "does it work with HubSpot?", "facts": []}],
        stop={"at_answer": 3, "text": "sorry, got to run"},
    )
    progress = Progress(opener_sent=2)
    question = after(BotMessage("How many people?", asked_slot="company_size"))
    assert play(p, progress, after(BotMessage("Role?", asked_slot="role"))).text == "CRO"
    assert play(p, progress, question).text == "does it work with HubSpot?"
    assert play(p, progress, question).text == "about 300"  # the bot asked again after answering the FAQ
    stop = play(p, progress, after(BotMessage("Budget?", asked_slot="budget")))
    assert stop.text == "sorry, got to run" and stop.stop
    ended = [Turn(visitor=stop.text, why=stop.why, stop=True, bot=[BotMessage("No problem, bye.")])]
    assert next_move(p, progress, ended) == Leave("the visitor stopped")


def test_an_interjection_whose_answer_never_comes_is_said_before_the_times_or_leaving():
    p = persona(interjections=[{"before_answer": 6, "text": "sorry, I'm Director now", "facts": ["role"]}])
    progress = Progress(opener_sent=2)
    correction = play(p, progress, after(OFFER))  # the bot asked fewer than 6 questions
    assert correction.text == "sorry, I'm Director now" and correction.kind == "interjection"
    assert next_move(p, progress, after(OFFER)).text == SLOT_A[1]  # said once, then the visitor books

    closed = after(BotMessage("We'll be in touch."), state=State(decided=True, lead_outcome="nurture"))
    assert play(p, Progress(opener_sent=2), closed).text == "sorry, I'm Director now"  # not a silent exit
    stopped = Progress(opener_sent=2, stopped=True)
    ended = [Turn(visitor="bye", why="", stop=True, bot=[BotMessage("No problem, bye.")])]
    assert next_move(p, stopped, ended) == Leave("the visitor stopped")  # who stopped corrects nothing


def test_meeting_times_first_slot_typed_preference_or_none():
    progress = Progress(opener_sent=2)
    click = next_move(persona(), progress, after(OFFER))
    assert (click.text, click.pressed) == (SLOT_A[1], SLOT_A[0])

    typed = persona(booking="thursday afternoon")
    assert play(typed, progress, after(OFFER)).text == "thursday afternoon"
    assert play(typed, progress, after(OFFER)).text == SLOT_A[1]

    email_instead = persona(
        booking="just email me", expected={"outcome": "qualified", "meeting_booked": False, "handoff": False}
    )
    progress = Progress(opener_sent=2)
    assert play(email_instead, progress, after(OFFER)).text == "just email me"
    assert isinstance(next_move(email_instead, progress, after(OFFER)), Leave)

    no_booking = persona(booking="none", expected={"outcome": "nurture", "meeting_booked": False, "handoff": False})
    assert isinstance(next_move(no_booking, Progress(opener_sent=2), after(OFFER)), Leave)


def test_yes_no_offers_use_the_personas_words_else_the_first_button():
    resources = BotMessage("Can I send you the playbook?", buttons=(("Yes, send them", "/affirm"), ("No", "/deny")))
    handoff = BotMessage(
        "Book a meeting or email?",
        buttons=(("Book a meeting", "/request_demo"), ("Follow up by email", "/request_email_followup")),
        asked_slot="company_size",
    )
    p = persona(yes_no={"resources_by_email": "sure, a@b.example"})
    answer = next_move(p, Progress(opener_sent=2), after(resources))
    assert (answer.text, answer.facts) == ("sure, a@b.example", ("email",))  # the typed email states it
    click = next_move(p, Progress(opener_sent=2), after(handoff))  # the offer wins over the form question
    assert (click.text, click.pressed) == ("/request_demo", "Book a meeting")
    typed = next_move(persona(yes_no={"book_or_email": "email is fine"}), Progress(opener_sent=2), after(handoff))
    assert typed.text == "email is fine"


def test_an_open_question_gets_the_need_once_then_the_visitor_has_nothing_more():
    p = persona(opener=["hello"], opener_facts=[])
    progress = Progress(opener_sent=1)
    need = play(p, progress, after(BotMessage("What brings you here today?")))
    assert (need.text, need.facts) == ("forecasting", ("need",))
    assert next_move(p, progress, after(BotMessage("Anything else I can help with?"))) == Leave(
        "an open question the persona has nothing more for"
    )
    assert next_move(p, progress, after(BotMessage("Pricing is per seat."))) == Leave("nothing to answer")


def test_the_conversation_ends_at_a_booking_a_close_after_a_decision_or_the_turn_limit():
    p, progress = persona(), Progress(opener_sent=2)
    booked = after(BotMessage("You're booked!"), state=State(meeting_booked=True))
    assert next_move(p, progress, booked) == Leave("meeting booked")
    closed = after(BotMessage("Good luck!"), state=State(lead_outcome="disqualified", decided=True))
    assert next_move(p, progress, closed) == Leave("the bot closed after deciding disqualified")
    # Decided, but the bot still asks: not over.
    asking = after(BotMessage("Send you the playbook?", buttons=(("Yes", "/affirm"),)), state=State(decided=True))
    assert isinstance(next_move(p, progress, asking), Move)
    many = after(BotMessage("Role?", asked_slot="role")) * MAX_VISITOR_TURNS
    assert next_move(p, progress, many) == Leave(f"turn limit ({MAX_VISITOR_TURNS} visitor messages)")


def test_the_stop_point_can_be_an_open_question():
    p = persona(
        opener=["what's the weather tomorrow?"], opener_facts=[], answers={}, stop={"at_answer": 1, "text": "bye"}
    )
    stop = next_move(p, Progress(opener_sent=1), after(BotMessage("Sorry, what brings you here?")))
    assert stop.text == "bye" and stop.stop


def test_a_question_the_persona_has_no_words_for_is_declined_and_states_nothing():
    p = persona(answers={"need": "a job"})
    move = next_move(
        p, Progress(opener_sent=2), after(BotMessage("Which company are you with?", asked_slot="company_name"))
    )
    assert (move.text, move.facts) == ("I'd rather not say", ())
