import pytest
from django.core.exceptions import ValidationError

from qualification.models import Lead, LeadDecision, QualificationRule, RuleSetVersion, ScoringPolicy
from qualification.scoring import Reason, lead_decide, lead_score, rule_set_current
from tests.qualification.factories import LeadFactory, QualificationRuleFactory, install_default_rules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_rules(db):
    install_default_rules()


Op = QualificationRule.Operator
Effect = QualificationRule.Effect


@pytest.fixture
def no_rules():
    """Start from an empty rule set (the data migration ships defaults) and the default threshold."""
    QualificationRule.objects.all().delete()
    ScoringPolicy(qualify_at=50).save()


def labels(score):
    return [reason.label for reason in score.reasons]


# --- operators: each one matching and not matching ---------------------------------------------

OPERATOR_CASES = [
    # field, operator, value, fact that matches, fact that does not
    ("company_size", Op.EQUALS, "50", 50, 51),
    ("company_size", Op.NOT_EQUALS, "50", 51, 50),
    ("company_size", Op.ONE_OF, "10, 50", 50, 20),
    ("company_size", Op.NOT_ONE_OF, "10, 50", 20, 10),
    ("company_size", Op.GTE, "20", 20, 19),
    ("company_size", Op.LTE, "20", 20, 21),
    ("company_size", Op.GT, "20", 21, 20),
    ("company_size", Op.LT, "20", 19, 20),
    ("budget_amount", Op.GTE, "10000", 10000, 9999),
    ("timeline_months", Op.GT, "6", 7, 6),
    ("authority", Op.EQUALS, "decision_maker", "decision_maker", "influencer"),
    ("authority", Op.NOT_EQUALS, "student", "influencer", "student"),
    ("buying_stage", Op.ONE_OF, "immediate, active", "active", "planning"),
    ("buying_stage", Op.NOT_ONE_OF, "future, browsing", "planning", "browsing"),
    ("role", Op.CONTAINS, "VP", "Senior vp of Sales", "Head of Sales"),
    ("industry", Op.EQUALS, "Software", "software", "Hardware"),
    ("country", Op.ONE_OF, "DE, AT, CH", "de", "FR"),
    ("email", Op.CONTAINS, "@rival.example", "jo@rival.example", "jo@acme.example"),
    ("use_case", Op.IS_SET, "", "lead routing", ""),
    ("company_size", Op.IS_SET, "", 0, None),
    ("use_case", Op.IS_EMPTY, "", "", "lead routing"),
    ("company_size", Op.IS_EMPTY, "", None, 5),
]


@pytest.mark.parametrize("field,operator,value,matching,other", OPERATOR_CASES)
def test_each_operator_matches_and_does_not(no_rules, field, operator, value, matching, other):
    rule = QualificationRuleFactory(field=field, operator=operator, value=value, points=7, reason_text="the rule")

    hit = lead_score(lead=LeadFactory.build(**{field: matching}))
    miss = lead_score(lead=LeadFactory.build(**{field: other}))

    assert (hit.points, labels(hit)) == (7, ["+7 the rule"])
    assert hit.reasons[0].rule_id == rule.pk
    assert (miss.points, miss.reasons) == (0, [])


def test_numbers_compare_as_numbers_not_text(no_rules):
    QualificationRuleFactory(field="company_size", operator=Op.GTE, value="100", points=10)

    # As text "9" > "100"; as numbers 9 < 100.
    assert lead_score(lead=LeadFactory.build(company_size=9)).points == 0
    assert lead_score(lead=LeadFactory.build(company_size=1000)).points == 10


@pytest.mark.parametrize(
    "operator,value",
    [(Op.EQUALS, "x"), (Op.NOT_EQUALS, "x"), (Op.ONE_OF, "x, y"), (Op.NOT_ONE_OF, "x, y"), (Op.CONTAINS, "x")],
)
def test_rule_on_an_empty_text_fact_never_matches(no_rules, operator, value):
    QualificationRuleFactory(field="industry", operator=operator, value=value, points=10)

    for missing in ("", "   "):
        assert lead_score(lead=LeadFactory.build(industry=missing)).reasons == []


@pytest.mark.parametrize("operator", [Op.NOT_EQUALS, Op.NOT_ONE_OF, Op.LT, Op.LTE, Op.GT, Op.GTE, Op.EQUALS])
def test_rule_on_an_empty_number_never_matches(no_rules, operator):
    QualificationRuleFactory(field="company_size", operator=operator, value="10", points=10)

    assert lead_score(lead=LeadFactory.build(company_size=None)).reasons == []


def test_a_lead_with_no_facts_scores_without_crashing_on_the_default_rules():
    score = lead_score(lead=LeadFactory.build(company_name="", email=""))

    assert (score.points, score.outcome, score.reasons) == (0, Lead.Outcome.NURTURE, [])


def test_rule_broken_behind_admins_back_does_not_match_or_crash(no_rules):
    # Bypasses clean(): e.g. a bulk update or a hand-edited row.
    QualificationRule.objects.create(field="company_size", operator=Op.GTE, value="many", points=10)
    QualificationRule.objects.create(field="no_such_field", operator=Op.EQUALS, value="x", points=10)
    QualificationRule.objects.create(field="industry", operator=Op.GTE, value="5", points=10)
    QualificationRule.objects.create(field="conversation", operator=Op.IS_SET, value="", points=10)

    assert lead_score(lead=LeadFactory.build(company_size=500, industry="Software")).reasons == []


def test_inactive_rules_are_ignored(no_rules):
    QualificationRuleFactory(field="company_size", operator=Op.GTE, value="20", points=20, active=False)

    assert lead_score(lead=LeadFactory.build(company_size=500)).points == 0


# --- outcomes: knockout, nurture, threshold and ties ---------------------------------------------


@pytest.fixture
def small_rule_set(no_rules):
    QualificationRuleFactory(
        order=1,
        field="visitor_type",
        operator=Op.EQUALS,
        value="student",
        effect=Effect.KNOCKOUT,
        points=0,
        reason_text="student",
    )
    QualificationRuleFactory(
        order=2,
        field="company_size",
        operator=Op.LT,
        value="10",
        effect=Effect.KNOCKOUT,
        points=0,
        reason_text="too small",
    )
    QualificationRuleFactory(
        order=3, field="company_size", operator=Op.GTE, value="20", points=20, reason_text="company size ≥ 20"
    )
    QualificationRuleFactory(
        order=4, field="authority", operator=Op.EQUALS, value="decision_maker", points=30, reason_text="decision maker"
    )
    QualificationRuleFactory(
        order=5,
        field="buying_stage",
        operator=Op.EQUALS,
        value="browsing",
        effect=Effect.NURTURE,
        points=0,
        reason_text="just looking",
    )
    QualificationRuleFactory(
        order=6, field="email_flag", operator=Op.EQUALS, value="free_mail", points=-5, reason_text="free mail"
    )


def test_points_exactly_at_the_threshold_qualify(small_rule_set):
    score = lead_score(lead=LeadFactory.build(company_size=50, authority="decision_maker"))

    assert (score.points, score.outcome) == (50, Lead.Outcome.QUALIFIED)


def test_one_point_under_the_threshold_is_nurture(small_rule_set):
    ScoringPolicy(qualify_at=51).save()

    score = lead_score(lead=LeadFactory.build(company_size=50, authority="decision_maker"))

    assert (score.points, score.outcome) == (50, Lead.Outcome.NURTURE)


def test_negative_points_can_drop_a_lead_under_the_threshold(small_rule_set):
    score = lead_score(lead=LeadFactory.build(company_size=50, authority="decision_maker", email_flag="free_mail"))

    assert (score.points, score.outcome) == (45, Lead.Outcome.NURTURE)
    assert labels(score) == ["+20 company size ≥ 20", "+30 decision maker", "-5 free mail"]


def test_nurture_rule_caps_a_lead_with_enough_points_at_nurture(small_rule_set):
    score = lead_score(lead=LeadFactory.build(company_size=50, authority="decision_maker", buying_stage="browsing"))

    assert (score.points, score.outcome) == (50, Lead.Outcome.NURTURE)
    assert labels(score) == ["+20 company size ≥ 20", "+30 decision maker", "nurture: just looking"]


def test_every_knockout_is_listed_and_knockout_beats_nurture_and_points(small_rule_set):
    score = lead_score(
        lead=LeadFactory.build(
            visitor_type="student", company_size=5, authority="decision_maker", buying_stage="browsing"
        )
    )

    assert score.outcome == Lead.Outcome.DISQUALIFIED
    assert labels(score) == ["knockout: student", "knockout: too small", "+30 decision maker", "nurture: just looking"]
    assert [reason.knockout for reason in score.reasons] == [True, True, False, False]
    assert score.points == 30  # knockouts and nurture rules carry no points


def test_reasons_follow_rule_order_not_creation_order(small_rule_set):
    QualificationRule.objects.filter(reason_text="decision maker").update(order=0)

    score = lead_score(lead=LeadFactory.build(company_size=50, authority="decision_maker"))

    assert labels(score) == ["+30 decision maker", "+20 company size ≥ 20"]


def test_lead_score_writes_nothing(small_rule_set):
    lead = LeadFactory(company_size=50, authority="decision_maker")

    lead_score(lead=lead)

    lead.refresh_from_db()
    assert (lead.outcome, lead.score, lead.reasons, lead.decided_at) == (Lead.Outcome.INCOMPLETE, 0, [], None)
    assert not RuleSetVersion.objects.exists() and not LeadDecision.objects.exists()


# --- lead_decide: what is stored ------------------------------------------------------------------


def test_lead_decide_stores_score_outcome_reasons_and_version(small_rule_set):
    lead = LeadFactory(company_size=50, authority="decision_maker")

    decided = lead_decide(lead=lead)

    lead.refresh_from_db()
    assert (lead.score, lead.outcome) == (50, Lead.Outcome.QUALIFIED)
    rule_ids = list(QualificationRule.objects.filter(order__in=[3, 4]).order_by("order").values_list("pk", flat=True))
    assert lead.reasons == [
        {
            "rule": rule_ids[0],
            "text": "company size ≥ 20",
            "points": 20,
            "effect": "points",
            "field": "company_size",
            "knockout": False,
        },
        {
            "rule": rule_ids[1],
            "text": "decision maker",
            "points": 30,
            "effect": "points",
            "field": "authority",
            "knockout": False,
        },
    ]
    assert lead.rule_set_version == rule_set_current().version
    assert lead.decided_at is not None
    assert decided.outcome == lead.outcome and decided.pk == lead.pk
    snapshot = RuleSetVersion.objects.get(version=lead.rule_set_version)
    assert [rule["reason_text"] for rule in snapshot.rules] == [
        "student",
        "too small",
        "company size ≥ 20",
        "decision maker",
        "just looking",
        "free mail",
    ]
    assert snapshot.qualify_at == 50
    assert LeadDecision.objects.get(lead=lead).outcome == Lead.Outcome.QUALIFIED


def test_changing_rules_never_rewrites_past_decisions(small_rule_set):
    lead = LeadFactory(company_size=50, authority="decision_maker")
    lead_decide(lead=lead)
    lead.refresh_from_db()
    before = (lead.score, lead.outcome, lead.reasons, lead.rule_set_version, lead.decided_at)

    # Marketing makes decision makers worth nothing and raises the bar.
    QualificationRule.objects.filter(reason_text="decision maker").update(active=False)
    rule = QualificationRule.objects.get(reason_text="company size ≥ 20")
    rule.points = 5
    rule.full_clean()
    rule.save()
    ScoringPolicy(qualify_at=80).save()
    newcomer = lead_decide(lead=LeadFactory(company_size=50, authority="decision_maker"))

    lead.refresh_from_db()
    assert (lead.score, lead.outcome, lead.reasons, lead.rule_set_version, lead.decided_at) == before
    assert (newcomer.score, newcomer.outcome) == (5, Lead.Outcome.NURTURE)
    assert newcomer.rule_set_version != lead.rule_set_version
    # The old version's rules are still there to explain the old decision.
    old = RuleSetVersion.objects.get(version=before[3])
    assert [rule["points"] for rule in old.rules if rule["reason_text"] == "company size ≥ 20"] == [20]
    assert old.qualify_at == 50


def test_deciding_again_adds_a_new_decision_and_keeps_the_old_one(small_rule_set):
    lead = LeadFactory(company_size=50, authority="decision_maker")
    lead_decide(lead=lead)
    ScoringPolicy(qualify_at=60).save()

    lead = lead_decide(lead=lead, trigger="admin re-score")

    assert lead.outcome == Lead.Outcome.NURTURE
    history = list(LeadDecision.objects.filter(lead=lead).order_by("id").values_list("outcome", "trigger"))
    assert history == [(Lead.Outcome.QUALIFIED, "bot"), (Lead.Outcome.NURTURE, "admin re-score")]


# --- versions ---------------------------------------------------------------------------------------


def test_same_rules_give_the_same_version(small_rule_set):
    first = rule_set_current().version
    # Saving a rule unchanged, or renumbering without changing the order, keeps the version.
    for rule in QualificationRule.objects.all():
        rule.order += 100
        rule.save()

    assert rule_set_current().version == first
    assert lead_score(lead=LeadFactory.build()).rule_set_version == first
    assert len(first) == 16


@pytest.mark.parametrize(
    "change",
    [
        lambda: QualificationRule.objects.filter(reason_text="free mail").update(points=-6),
        lambda: QualificationRule.objects.filter(reason_text="free mail").update(active=False),
        lambda: QualificationRule.objects.filter(reason_text="free mail").update(value="disposable"),
        lambda: QualificationRule.objects.filter(reason_text="free mail").update(reason_text="webmail"),
        lambda: QualificationRule.objects.filter(reason_text="free mail").update(order=0),
        lambda: QualificationRuleFactory(field="country", operator=Op.EQUALS, value="DE", points=5),
        lambda: ScoringPolicy(qualify_at=55).save(),
    ],
    ids=["points", "deactivate", "value", "text", "reorder", "new rule", "threshold"],
)
def test_any_change_gives_a_new_version(small_rule_set, change):
    before = rule_set_current().version

    change()

    assert rule_set_current().version != before


def test_inactive_rules_do_not_change_the_version(small_rule_set):
    before = rule_set_current().version

    QualificationRuleFactory(field="country", operator=Op.EQUALS, value="DE", points=5, active=False)

    assert rule_set_current().version == before


# --- the shipped default rule set (data migration) --------------------------------------------------


def default_score(**facts):
    return lead_score(lead=LeadFactory.build(**facts))


def test_default_rules_qualify_a_vp_at_a_300_person_company_buying_this_quarter_unsure_of_budget():
    score = default_score(
        role="VP Sales", authority="decision_maker", company_size=300, buying_stage="active", budget="not_sure"
    )

    assert score.outcome == Lead.Outcome.QUALIFIED
    assert labels(score) == [
        "+20 company size ≥ 20",
        "+15 company size ≥ 200",
        "+30 decision maker",
        "+30 buying within 3 months",
    ]
    assert score.points == 95


def test_default_rules_disqualify_a_6_person_company():
    score = default_score(company_size=6, authority="decision_maker", buying_stage="immediate", budget="has_budget")

    assert score.outcome == Lead.Outcome.DISQUALIFIED
    assert labels(score)[0] == "knockout: company size under 10 (too small)"
    assert score.reasons[0].field == "company_size"


@pytest.mark.parametrize(
    "facts,outcome,first_label",
    [
        ({"visitor_type": "student", "company_size": 5000}, Lead.Outcome.DISQUALIFIED, "knockout: student"),
        ({"visitor_type": "job_seeker"}, Lead.Outcome.DISQUALIFIED, "knockout: job seeker"),
        ({"visitor_type": "competitor", "company_size": 80}, Lead.Outcome.DISQUALIFIED, "knockout: competitor"),
        ({"visitor_type": "vendor"}, Lead.Outcome.DISQUALIFIED, "knockout: vendor pitching"),
        ({"visitor_type": "customer", "company_size": 500}, Lead.Outcome.DISQUALIFIED, "knockout: existing customer"),
        ({"authority": "student"}, Lead.Outcome.DISQUALIFIED, "knockout: student (authority)"),
        # Influencer at a 50-person company planning for next half-year: 20 + 15 + 15 = 50, exactly qualifies.
        (
            {"company_size": 50, "authority": "influencer", "buying_stage": "planning"},
            Lead.Outcome.QUALIFIED,
            "+20 company size ≥ 20",
        ),
        # Same with a free-mail address: 45, nurture.
        (
            {"company_size": 50, "authority": "influencer", "buying_stage": "planning", "email_flag": "free_mail"},
            Lead.Outcome.NURTURE,
            "+20 company size ≥ 20",
        ),
        # A big company "just looking" is nurtured however many points it has.
        (
            {"company_size": 2000, "authority": "decision_maker", "buying_stage": "browsing", "budget": "has_budget"},
            Lead.Outcome.NURTURE,
            "+20 company size ≥ 20",
        ),
        (
            {"company_size": 300, "authority": "decision_maker", "buying_stage": "future"},
            Lead.Outcome.NURTURE,
            "+20 company size ≥ 20",
        ),
        # No budget and a disposable address: 20 + 30 + 30 - 10 - 20 = 50 still qualifies at the bar.
        (
            {
                "company_size": 25,
                "authority": "decision_maker",
                "buying_stage": "immediate",
                "budget": "none",
                "email_flag": "disposable",
            },
            Lead.Outcome.QUALIFIED,
            "+20 company size ≥ 20",
        ),
    ],
)
def test_default_rules_on_realistic_leads(facts, outcome, first_label):
    score = default_score(**facts)

    assert score.outcome == outcome, labels(score)
    assert labels(score)[0] == first_label


def test_default_rules_reasons_for_a_nurtured_browser():
    score = default_score(company_size=2000, authority="decision_maker", buying_stage="browsing", budget="has_budget")

    assert labels(score) == [
        "+20 company size ≥ 20",
        "+15 company size ≥ 200",
        "+30 decision maker",
        "nurture: just looking",
        "+15 has a budget",
    ]


def test_default_policy_qualifies_at_50():
    assert ScoringPolicy.current().qualify_at == 50
    assert QualificationRule.objects.filter(active=True).count() == 19


# --- rule validation ----------------------------------------------------------------------------------


def rule_errors(**fields):
    rule = QualificationRule(**{"effect": Effect.POINTS, "points": 10, **fields})
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    return caught.value.message_dict


def test_numeric_operator_needs_a_number():
    errors = rule_errors(field="company_size", operator=Op.GTE, value="twenty")

    assert errors == {"value": ["Company size (people) is a number: “twenty” is not a whole number."]}


def test_numeric_operator_needs_a_numeric_field():
    errors = rule_errors(field="industry", operator=Op.GT, value="5")

    assert "compares numbers, and Industry is not a number" in errors["operator"][0]


def test_unknown_choice_value_is_rejected_with_the_allowed_values():
    errors = rule_errors(field="authority", operator=Op.ONE_OF, value="decision_maker, CEO")

    assert errors["value"][0].startswith("Unknown authority value “CEO”. Use one of: decision_maker (Decision maker)")


def test_unknown_email_flag_is_rejected():
    errors = rule_errors(field="email_flag", operator=Op.EQUALS, value="freemail")

    assert "free_mail (Free mail), disposable (Disposable)" in errors["value"][0]


def test_choice_value_may_be_given_by_its_label_and_is_stored_as_the_value():
    rule = QualificationRuleFactory(field="buying_stage", operator=Op.ONE_OF, value="Just looking, FUTURE", points=-5)

    assert rule.value == "browsing, future"
    assert rule.reason_text == "buying stage is one of browsing, future"


def test_valueless_operators_take_no_value_and_others_need_one():
    assert "Leave the value empty" in rule_errors(field="industry", operator=Op.IS_SET, value="x")["value"][0]
    assert rule_errors(field="industry", operator=Op.EQUALS, value=" ")["value"] == ["“equals” needs a value."]


def test_contains_on_a_number_is_rejected():
    assert (
        "“contains” compares text" in rule_errors(field="company_size", operator=Op.CONTAINS, value="1")["operator"][0]
    )


def test_points_must_fit_the_effect():
    assert "needs points" in rule_errors(field="industry", operator=Op.IS_SET, points=0)["points"][0]
    knockout = rule_errors(field="industry", operator=Op.IS_SET, effect=Effect.KNOCKOUT, points=10)
    assert "has no points" in knockout["points"][0]


def test_reason_text_defaults_to_the_rule_in_words():
    rule = QualificationRuleFactory(field="company_size", operator=Op.GTE, value="20", points=20)

    assert rule.reason_text == "company size ≥ 20"
    assert Reason(rule_id=rule.pk, text=rule.reason_text, points=20, effect="points").label == "+20 company size ≥ 20"


def test_country_takes_iso_codes_and_stores_them_upper_case():
    assert "two-letter ISO codes" in rule_errors(field="country", operator=Op.ONE_OF, value="DE, Germany")["value"][0]

    rule = QualificationRuleFactory(field="country", operator=Op.ONE_OF, value="de, at", points=5)

    assert rule.value == "DE, AT"
