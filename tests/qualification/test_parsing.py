"""The parsers that turn what a visitor typed into lead facts."""

import datetime as dt

import pytest

from qualification import parsing

TODAY = dt.date(2026, 11, 25)  # Q4


@pytest.mark.parametrize(
    ("text", "asked", "value", "low", "high"),
    [
        ("about 200 people", True, 200, 200, None),
        ("50-100", True, 75, 50, 100),
        ("just me", True, 1, 1, None),
        ("a few thousand", True, 3000, 3000, None),
        ("a couple hundred", True, 200, 200, None),
        ("2-3k people", True, 2500, 2000, 3000),
        ("~1,200 employees", False, 1200, 1200, None),
        ("I'm VP of Sales at a 300-person fintech and we need something before Q3", False, 300, 300, None),
        ("actually we're 500 people", False, 500, 500, None),
        ("a sales team of 40 reps, ~300 staff overall", True, 300, 300, None),
        ("twenty", True, 20, 20, None),
    ],
)
def test_company_size_is_normalised(text, asked, value, low, high):
    size = parsing.parse_company_size(text, asked=asked)
    assert (size.value, size.low, size.high) == (value, low, high)


@pytest.mark.parametrize(
    "text", ["we need it in 3 months", "before Q3", "our forecasts are wrong", "", "a sales team of 40 reps"]
)
def test_numbers_without_people_are_not_a_company_size_unless_asked(text):
    assert parsing.parse_company_size(text) is None


def test_size_question_rejects_text_with_no_number():
    assert parsing.parse_company_size("no idea, why?", asked=True) is None


@pytest.mark.parametrize(
    ("text", "months", "stage"),
    [
        ("asap", 0, "immediate"),
        ("this quarter", 1, "immediate"),
        ("in 3 months", 3, "active"),
        ("within six months", 6, "planning"),
        ("by March", 4, "planning"),
        ("next quarter", 4, "planning"),
        ("before Q3", 8, "future"),
        ("next year", 12, "future"),
        ("just looking", None, "browsing"),
        ("just exploring for now", None, "browsing"),
    ],
)
def test_timeline_maps_to_months_and_buying_stage(text, months, stage):
    assert parsing.parse_timeline(text, today=TODAY) == parsing.Timeline(months, stage)


def test_absurd_timelines_are_capped_at_ten_years():
    assert parsing.parse_timeline("in 5000 years", today=TODAY) == parsing.Timeline(120, "future")


def test_not_sure_is_a_timeline_only_when_the_timeline_was_asked():
    assert parsing.parse_timeline("not sure yet", today=TODAY) is None
    assert parsing.parse_timeline("not sure yet", today=TODAY, asked=True).stage == "browsing"


@pytest.mark.parametrize(
    ("role", "authority"),
    [
        ("VP of Sales", "decision_maker"),
        ("CRO", "decision_maker"),
        ("Head of Revenue Operations", "decision_maker"),
        ("founder", "decision_maker"),
        ("sales manager", "influencer"),
        ("account executive", "contributor"),
        ("Sales Ops Specialist", "contributor"),
        ("Sales Coordinator", "contributor"),
        ("SDR Team Lead", "influencer"),
        ("data analyst", "researcher"),
        ("MBA student", "student"),
        ("student doing research", "student"),
    ],
)
def test_role_maps_to_authority(role, authority):
    assert parsing.authority_for_role(role) == authority


def test_corrections_asking_for_a_person_and_competitors_in_passing():
    assert parsing.corrects("oops typo, we're 9 people not 90", known={"company_size": 90.0})
    assert not parsing.corrects("we're 9 people", known={"company_size": 90.0})  # no sign of a correction
    assert not parsing.corrects("oops typo, we're 9 people", known={})  # nothing to correct
    assert (
        parsing.role_from_text(
            "sorry, I said manager earlier - my title is actually Director of Revenue Operations since May"
        )
        == "Director of Revenue Operations"
    )
    assert parsing.asks_for_person("can I talk to a human")
    assert not parsing.asks_for_person("wanted to try before talking to anyone but happy to chat")
    assert parsing.COMPETITOR_SELF.search("I'm a PM at Dealcast, we make forecasting software too.")
    assert not parsing.COMPETITOR_SELF.search("we make furniture and need better forecasts")
    assert parsing.company_from_text("hey im vp revenue operations at brightwell, 650ish ppl") == "brightwell"
    assert parsing.company_from_text("we want it live at scale, soon") == ""
    assert parsing.parse_company_size("CRO here, just over two thousand employees.") == parsing.Size(2000, 2000)
    assert (
        parsing.role_from_text("Senior Director, Inside Sales. Sales team of 40 reps.")
        == "Senior Director, Inside Sales"
    )
    assert parsing.role_from_text("Sales team needs help. Now.") == ""
    pitch = "we build salesforce integrations and could help your team, can I send over a deck?"
    assert (
        parsing.facts_from_message(text=pitch, intent="inform", entities=[], requested=None, known={}).slots[
            "visitor_type"
        ]
        == "vendor"
    )
    buyer = "I run a marketing agency and our pipeline forecasts are a mess"
    assert (
        "visitor_type"
        not in parsing.facts_from_message(
            text=buyer, intent="inform", entities=[], requested=None, known={"visitor_type": "prospect"}
        ).slots
    )
    assert parsing.states_facts("Hi, I work for a competitor and wanted to see how your forecasting works")
    assert parsing.faq_asked("We want to qualify inbound visitors better. How much does it cost?") == "faq_pricing"
    assert parsing.faq_asked("our costs are out of control, we need better forecasts") is None  # no question
    title = "I'm the VP, Commercial - I own sales and account management."
    assert (
        "visitor_type"
        not in parsing.facts_from_message(
            text=title, intent="support_request", entities=[], requested="role", known={"visitor_type": "prospect"}
        ).slots
    )
    ticket = "our salesforce sync stopped working this morning"
    assert (
        parsing.facts_from_message(text=ticket, intent="support_request", entities=[], requested=None, known={}).slots[
            "visitor_type"
        ]
        == "customer"
    )
    seeker = "I'm not buying anything tbh, I'm an account executive between jobs and wanted to know if you're hiring"
    assert (
        parsing.facts_from_message(text=seeker, intent="inform", entities=[], requested="role", known={}).slots[
            "visitor_type"
        ]
        == "job_seeker"
    )
    hiring = "we're hiring 20 reps this year and need better forecasting"
    assert (
        "job_seeker"
        not in parsing.facts_from_message(
            text=hiring, intent="describe_need", entities=[], requested=None, known={}
        ).slots.values()
    )


def test_role_is_found_in_passing_and_cleaned_when_asked():
    assert parsing.role_from_text("I'm VP of Sales at a 300-person fintech") == "VP of Sales"
    assert parsing.role_from_text("I'm a student doing research") == "student"
    assert parsing.role_from_text("we need better forecasts") == ""
    assert parsing.clean_role("I'm the CRO") == "CRO"
    assert parsing.clean_role("I am a data analyst at Acme") == "data analyst"
    assert not parsing.plausible_role("not telling you")


@pytest.mark.parametrize(
    ("text", "status", "amount"),
    [
        ("yes we have budget", "has_budget", None),
        ("budget is approved", "has_budget", None),
        ("around $20k a year", "range", 20000),
        ("10-20k", "range", 10000),
        ("50,000 USD", "range", 50000),
        ("not sure", "not_sure", None),
        ("no budget yet", "none", None),
        ("yes", "has_budget", None),
        ("no", "none", None),
    ],
)
def test_budget_answers(text, status, amount):
    assert parsing.parse_budget(text, asked=True) == parsing.Budget(status, amount)


def test_budget_needs_money_words_when_not_asked():
    assert parsing.parse_budget("not sure yet") is None
    assert parsing.parse_budget("we have budget approved for this").status == "has_budget"


@pytest.mark.parametrize(
    ("text", "address", "flag"),
    [
        ("dana@acme.io", "dana@acme.io", ""),
        ("sure, it's Dana.Kim@Gmail.com", "Dana.Kim@gmail.com", "free_mail"),
        ("x@mailinator.com", "x@mailinator.com", "disposable"),
    ],
)
def test_email_is_validated_and_flagged_not_rejected(text, address, flag):
    assert parsing.parse_email(text) == parsing.Email(address, flag)


@pytest.mark.parametrize("text", ["not an email", "dana@", "@acme.io", "dana at acme dot io"])
def test_bad_emails_are_not_taken(text):
    assert parsing.parse_email(text) is None


def test_names():
    assert parsing.parse_name("Dana Kim", asked=True) == "Dana Kim"
    assert parsing.parse_name("my name is Priya") == "Priya"
    assert parsing.parse_name("I'm dana from Acme", asked=True) == "Dana"
    assert parsing.parse_name("why do you need that?", asked=True) is None
    assert parsing.parse_name("Dana Kim") is None  # a bare name counts only as an answer


def test_company_names():
    assert parsing.company_from_text("I work at Acme Corp") == "Acme Corp"
    assert parsing.company_from_text("VP Sales at Globex, 200 people") == "Globex"
    assert parsing.company_from_text("we need something before Q3") == ""
    assert parsing.company_from_text("I'm at a 300-person fintech") == ""
    assert parsing.clean_company("we're called Initech") == "Initech"
    assert parsing.clean_company("I'd rather not say") is None
    # the competitors are the site's (admin), no longer a list in code: tests/qualification/test_parsing_site.py
    assert parsing.visitor_type_for_company("Clari", {"clari"}) == "competitor"


def test_industry_and_use_case():
    assert parsing.industry_from_text("a 300-person fintech") == "fintech"
    assert parsing.industry_from_text("is it secure?") == ""
    assert parsing.use_case_from_text("our forecasts are always wrong") == "forecasting"
    assert parsing.use_case_from_text("we want to know which deals will close") == "deal_scoring"
    assert parsing.use_case_from_text("no visibility into our pipeline") == "pipeline_analytics"


def test_one_message_fills_several_facts():
    extraction = parsing.facts_from_message(
        text="I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter",
        intent="describe_need",
        entities=[],
        requested=None,
        known={},
        today=TODAY,
    )
    assert extraction.slots == {
        "need": "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter",
        "use_case": "forecasting",
        "role": "VP of Sales",
        "authority": "decision_maker",
        "company_size": 300.0,
        "industry": "fintech",
        "timeline": "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter",
        "buying_stage": "immediate",
        "visitor_type": "prospect",
    }
    assert extraction.facts["timeline_months"] == 1 and extraction.facts["company_size"] == 300
    assert extraction.raw["company_size"].startswith("I'm VP of Sales")


def test_free_text_only_answers_the_question_asked():
    as_answer = parsing.facts_from_message(
        text="Contoso", intent="inform", entities=[], requested="company_name", known={"need": "x"}
    )
    assert as_answer.slots["company_name"] == "Contoso"
    in_passing = parsing.facts_from_message(
        text="Contoso", intent="inform", entities=[], requested="role", known={"need": "x"}
    )
    assert "company_name" not in in_passing.slots


def test_a_range_keeps_its_raw_text():
    extraction = parsing.facts_from_message(
        text="50-100", intent="inform", entities=[], requested="company_size", known={"need": "x"}
    )
    assert extraction.facts["company_size"] == 75 and extraction.raw == {"company_size": "50-100"}


def test_a_student_is_marked_as_such():
    extraction = parsing.facts_from_message(
        text="I'm a student doing research", intent="inform", entities=[], requested=None, known={}
    )
    assert extraction.facts["authority"] == "student" and extraction.facts["visitor_type"] == "student"


def test_a_bad_email_answer_is_flagged_invalid():
    extraction = parsing.facts_from_message(
        text="dana at acme", intent="inform", entities=[], requested="email", known={"need": "x"}
    )
    assert extraction.invalid == "email" and "email" not in extraction.slots


def test_a_role_asked_for_is_stored_whole():
    extraction = parsing.facts_from_message(
        text="Senior Director, Inside Sales", intent="inform", entities=[], requested="role", known={}
    )

    assert extraction.slots["role"] == "Senior Director, Inside Sales"
    assert extraction.slots["authority"] == "decision_maker"


@pytest.mark.parametrize("text", ["I'd rather not say", "prefer not to share that", "skip this one", "pass"])
def test_declining_one_question_is_told_apart_from_leaving(text):
    assert parsing.DECLINE.search(text)
    assert not parsing.DECLINE.search("stop, I'm done")


@pytest.mark.parametrize("text", ["Controller", "Head of FP&A", "Dana Kim", "Brightline Logistics"])
def test_short_replies_without_a_change_of_subject_are_plain_answers(text):
    assert parsing.is_plain_answer(text) and parsing.looks_like_words(text)


@pytest.mark.parametrize("text", ["stop please", "can I talk to a person", "do you have any jobs", "qwxz zzkt"])
def test_replies_that_change_the_subject_or_are_gibberish_are_not(text):
    assert not (parsing.is_plain_answer(text) and parsing.looks_like_words(text))


def test_saying_you_work_for_a_competitor_is_recognised_without_a_name():
    extraction = parsing.facts_from_message(
        text="Hi, I work for a competitor and wanted to see your pricing",
        intent="faq_pricing",
        entities=[],
        requested=None,
        known={},
    )

    assert extraction.facts["visitor_type"] == "competitor"


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("hey im vp revenue operations at brightwell, 650ish ppl", True),
        ("gathering info on forecasting tools for our sales team", True),
        ("we are 40 people at Acme Corp", True),
        ("what's the weather forecast for tomorrow", False),
        ("I need a recipe for lasagna for 12 people", False),
        ("I work at Google and my Gmail is broken", False),
    ],
)
def test_text_that_tells_who_the_visitor_is_is_not_off_topic(text, facts):
    assert parsing.states_facts(text) is facts


@pytest.mark.parametrize(
    ("text", "nlu", "known", "intent", "person_unanswered"),
    [
        # the NLU unsure, the parsers sure: an answer
        ("hey im vp revenue operations at brightwell, 650ish ppl", "out_of_scope", {}, "inform", False),
        ("oops typo, we're 9 people not 90", "nlu_fallback", {"company_size": 90.0}, "inform", False),
        # who they are and a person: the facts are kept and the person is asked for still
        ("I'm the CRO at Acme, can I talk to a person?", "request_human", {}, "inform", True),
        # a plain request for a person: its own rule answers it
        ("can I talk to a human", "request_human", {}, "request_human", False),
        # a person asked for in what the NLU took for small talk
        ("are you a bot? is there a live rep I can talk to?", "chitchat", {}, "chitchat", True),
        # off-topic stays off-topic
        ("what's the weather forecast for tomorrow", "out_of_scope", {}, "out_of_scope", False),
        # a correction word with nothing to correct is no answer
        ("oops typo, we're 9 people", "nlu_fallback", {}, "nlu_fallback", False),
    ],
)
def test_a_message_is_read_once_for_every_action(text, nlu, known, intent, person_unanswered):
    reading = parsing.read_message(text, intent=nlu, known=known)
    assert reading.intent == intent
    assert reading.person_unanswered is person_unanswered


def test_the_reading_uses_the_sites_competitors():
    demo = parsing.SiteTerms.of(product_name="Leadbot", competitors=["Gong"])
    assert parsing.read_message("we're from Gong", intent="out_of_scope", known={}, site=demo).intent == "inform"
    assert parsing.read_message("we're from Gong", intent="out_of_scope", known={}).intent == "out_of_scope"
