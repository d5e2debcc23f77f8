"""Loading the persona file: the real one is valid and covers the kinds; mistakes are named clearly."""

from pathlib import Path

import pytest
import yaml

from tests.bot_eval.personas import PersonaError, personas_load, personas_parse, personas_select

PERSONAS = Path(__file__).resolve().parents[2] / "chatbot/bot/tests/personas.yml"
FRESH_PERSONAS = PERSONAS.with_name("personas_fresh.yml")


def minimal(**overrides):
    return {
        "id": "a",
        "kind": "buyer",
        "description": "d",
        "opener": ["hi"],
        "booking": "first_slot",
        "expected": {"outcome": "qualified", "meeting_booked": True, "handoff": False},
        **overrides,
    }


def test_the_persona_file_is_valid_and_spans_the_kinds_of_visitor():
    personas = personas_load(PERSONAS)
    assert len(personas) >= 45
    kinds = {p.kind for p in personas}
    assert {"buyer", "nurture", "job_seeker", "vendor", "wants_human", "decliner", "stopper", "off_topic"} <= kinds
    assert any(p.multi_fact and p.expected.meeting_booked for p in personas)
    assert any(not p.multi_fact and p.expected.meeting_booked for p in personas)


def test_the_fresh_persona_file_is_valid_and_holds_buyers_and_others():
    personas = personas_load(FRESH_PERSONAS)
    assert len(personas) == 30
    assert {p.id for p in personas}.isdisjoint({p.id for p in personas_load(PERSONAS)})
    assert any(p.expected.meeting_booked for p in personas)
    assert any(p.expected.outcome == "disqualified" for p in personas)


def test_every_problem_is_reported_with_the_persona_and_the_key():
    document = {
        "version": 1,
        "personas": [
            minimal(expectd={}),
            minimal(id="b", answers={"company-size": "40"}, expected={"outcome": "qualify", "meeting_booked": True}),
            minimal(id="b", booking="none"),
        ],
    }
    with pytest.raises(PersonaError) as error:
        personas_parse(document, source="p.yml")
    message = str(error.value)
    assert "p.yml: personas[0] (a).expectd: unknown key" in message
    assert "personas[1] (b).answers.company-size: unknown fact" in message
    assert "personas[1] (b).expected.outcome: must be one of qualified, nurture, disqualified, incomplete" in message
    assert "personas[1] (b).expected.handoff: is required" in message
    assert "personas[2]: duplicate id 'b'" in message
    assert "personas[2] (b).booking: is none, but expected.meeting_booked is true" in message
    assert message.startswith("6 problem(s)")


def test_a_stored_fact_must_name_a_lead_field(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text(
        yaml.safe_dump({"version": 1, "personas": [minimal(expected={**minimal()["expected"], "stored": {"size": 4}})]})
    )
    with pytest.raises(PersonaError, match=r"expected.stored.size: not a stored lead fact"):
        personas_load(path)


def test_a_subset_by_id_or_kind():
    personas = personas_parse({"version": 1, "personas": [minimal(), minimal(id="b", kind="vendor")]})
    assert [p.id for p in personas_select(personas, ids=["b"])] == ["b"]
    assert [p.id for p in personas_select(personas, kinds=["buyer"])] == ["a"]
    with pytest.raises(PersonaError, match="no persona with id zz"):
        personas_select(personas, ids=["zz"])
