import html

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from qualification.models import Lead, LeadDecision, QualificationRule, RuleSetVersion, ScoringPolicy
from qualification.scoring import lead_decide, rule_set_current
from tests.qualification.factories import LeadFactory, install_default_rules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_rules(db):
    install_default_rules()


LEADS_URL = reverse("admin:qualification_lead_changelist")
RULES_URL = reverse("admin:qualification_qualificationrule_changelist")


def page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def decided_lead():
    """A VP at a 300-person company, decided with the shipped default rules."""
    lead = LeadFactory(
        company_name="Globex Corporation",
        email="vp@globex.example",
        role="VP Sales",
        authority="decision_maker",
        company_size=300,
        buying_stage="active",
        budget="not_sure",
        need_text="route inbound demo requests to the right rep",
        raw={"company_size": "about 300 people", "role": "I'm the VP of Sales"},
        consent_email_followup=True,
    )
    return lead_decide(lead=lead)


def test_lead_changelist_lists_leads_with_score_and_outcome(admin_client, decided_lead):
    LeadFactory(company_name="Initech", company_size=6)

    text = page(admin_client.get(LEADS_URL))

    assert "Globex Corporation" in text and "Initech" in text
    assert "vp@globex.example" in text
    assert "Qualified" in text and ">95<" in text
    assert "Buying stage" in text and "Rule set version" in text  # filters


def test_lead_changelist_search_and_filter(admin_client, decided_lead):
    LeadFactory(company_name="Initech", need_text="chat widget for support")

    found = page(admin_client.get(LEADS_URL, {"q": "inbound demo"}))
    filtered = page(admin_client.get(LEADS_URL, {"outcome__exact": "qualified"}))

    assert "Globex Corporation" in found and "Initech" not in found
    assert "Globex Corporation" in filtered and "Initech" not in filtered


def test_lead_change_page_explains_the_decision(admin_client, decided_lead):
    text = page(admin_client.get(reverse("admin:qualification_lead_change", args=[decided_lead.pk])))

    for reason in (
        "+20 company size ≥ 20",
        "+15 company size ≥ 200",
        "+30 decision maker",
        "+30 buying within 3 months",
    ):
        assert f"<li>{reason}</li>" in text
    transcript = reverse("admin:chatbot_conversation_change", args=[decided_lead.conversation_id])
    assert f'<a href="{transcript}">Conversation transcript</a>' in text
    snapshot = RuleSetVersion.objects.get(version=decided_lead.rule_set_version)
    snapshot_url = reverse("admin:qualification_rulesetversion_change", args=[snapshot.pk])
    assert f'<a href="{snapshot_url}">{decided_lead.rule_set_version}</a>' in text
    # Every fact with what the visitor typed.
    assert "<td>Company size</td><td>300</td><td>about 300 people</td>" in text
    assert "<td>Role</td><td>VP Sales</td><td>I'm the VP of Sales</td>" in text
    assert "<td>Buying stage</td><td>Active (1-3 months)</td><td></td>" in text
    assert "<td>Industry</td><td>-</td><td></td>" in text
    assert "Consent email followup" in text
    assert f"{decided_lead.decided_at:%Y-%m-%d %H:%M} UTC" in text


def test_lead_change_page_shows_a_knockout_reason(admin_client):
    lead = lead_decide(lead=LeadFactory(visitor_type="student", company_size=None))

    text = page(admin_client.get(reverse("admin:qualification_lead_change", args=[lead.pk])))

    assert "<li>knockout: student</li>" in text
    assert "Disqualified" in text


def test_lead_facts_are_read_only_and_leads_cannot_be_added(admin_client, decided_lead):
    url = reverse("admin:qualification_lead_change", args=[decided_lead.pk])

    admin_client.post(url, {"company_size": "5", "outcome": "disqualified"})

    decided_lead.refresh_from_db()
    assert (decided_lead.company_size, decided_lead.outcome) == (300, Lead.Outcome.QUALIFIED)
    assert admin_client.get(reverse("admin:qualification_lead_add")).status_code == 403


def test_rescore_action_previews_and_changes_nothing_until_confirmed(admin_client, decided_lead):
    ScoringPolicy(qualify_at=100).save()
    selected = {"action": "rescore_with_current_rules", ACTION_CHECKBOX_NAME: [decided_lead.pk]}

    preview = page(admin_client.post(LEADS_URL, selected))

    decided_lead.refresh_from_db()
    assert decided_lead.outcome == Lead.Outcome.QUALIFIED
    assert "Re-score leads with the current rules?" in preview
    assert "Qualified (95)" in preview and "Nurture (95)" in preview

    response = admin_client.post(
        LEADS_URL, {**selected, "confirm": "yes", "version": rule_set_current().version}, follow=True
    )

    decided_lead.refresh_from_db()
    assert decided_lead.outcome == Lead.Outcome.NURTURE
    assert decided_lead.rule_set_version == rule_set_current().version
    assert "Re-scored 1 lead(s)" in page(response) and "1 changed outcome" in page(response)
    assert list(LeadDecision.objects.filter(lead=decided_lead).order_by("id").values_list("outcome", flat=True)) == [
        "qualified",
        "nurture",
    ]


def test_rule_changelist_shows_the_current_rule_set_version(admin_client):
    text = page(admin_client.get(RULES_URL))

    assert f"current rule set version {rule_set_current().version}, qualifies at 50 points" in text
    assert "company size under 10 (too small)" in text


def rule_form(**fields) -> dict:
    return {
        "field": "company_size",
        "operator": "gte",
        "value": "20",
        "effect": "points",
        "points": "20",
        "reason_text": "",
        "active": "on",
        "order": "100",
        **fields,
    }


def test_rule_add_rejects_a_numeric_operator_with_a_non_number(admin_client):
    text = page(admin_client.post(reverse("admin:qualification_qualificationrule_add"), rule_form(value="lots")))

    assert "Company size (people) is a number: “lots” is not a whole number." in text
    assert not QualificationRule.objects.filter(value="lots").exists()


def test_rule_add_rejects_an_unknown_choice_value(admin_client):
    form = rule_form(field="buying_stage", operator="eq", value="soon")

    text = page(admin_client.post(reverse("admin:qualification_qualificationrule_add"), form))

    assert "Unknown buying stage value “soon”. Use one of: immediate (Buying now (under 1 month))" in text


def test_rule_add_rejects_a_numeric_operator_on_a_text_field(admin_client):
    form = rule_form(field="industry", operator="gt", value="5")

    text = page(admin_client.post(reverse("admin:qualification_qualificationrule_add"), form))

    assert "“>” compares numbers, and Industry is not a number." in text


def test_rule_add_saves_a_valid_rule_with_a_default_reason_text(admin_client):
    response = admin_client.post(
        reverse("admin:qualification_qualificationrule_add"),
        rule_form(field="country", operator="in", value="de, at", points="-5"),
    )

    assert response.status_code == 302
    rule = QualificationRule.objects.get(field="country")
    assert (rule.value, rule.reason_text, rule.points) == ("DE, AT", "country is one of DE, AT", -5)


def test_rule_changelist_edits_points_and_validates(admin_client):
    rules = list(QualificationRule.objects.order_by("order", "id"))
    form = {"form-TOTAL_FORMS": str(len(rules)), "form-INITIAL_FORMS": str(len(rules)), "_save": "Save"}
    for index, rule in enumerate(rules):
        form |= {f"form-{index}-id": rule.pk, f"form-{index}-order": rule.order, f"form-{index}-points": rule.points}
        if rule.active:
            form[f"form-{index}-active"] = "on"
    decision_maker = next(i for i, rule in enumerate(rules) if rule.reason_text == "decision maker")
    student = next(i for i, rule in enumerate(rules) if rule.reason_text == "student")

    form[f"form-{student}-points"] = "10"  # a knockout carries no points
    text = page(admin_client.post(RULES_URL, form))
    assert "A knockout → disqualified rule has no points; set 0 or use “add points”." in text

    form[f"form-{student}-points"] = "0"
    form[f"form-{decision_maker}-points"] = "35"
    assert admin_client.post(RULES_URL, form).status_code == 302
    assert QualificationRule.objects.get(reason_text="decision maker").points == 35


def test_rule_set_version_page_shows_the_rules_that_scored_a_lead(admin_client, decided_lead):
    QualificationRule.objects.filter(reason_text="decision maker").update(points=1)
    snapshot = RuleSetVersion.objects.get(version=decided_lead.rule_set_version)

    text = page(admin_client.get(reverse("admin:qualification_rulesetversion_change", args=[snapshot.pk])))

    assert (
        "<td>decision maker</td><td>authority</td><td>equals</td><td>decision_maker</td><td>add points</td><td>30</td>"
        in text
    )


def test_scoring_policy_page_edits_the_threshold(admin_client):
    url = reverse("admin:qualification_scoringpolicy_change", args=[1])

    assert "exactly at the threshold qualifies" in page(admin_client.get(url))
    assert admin_client.post(url, {"qualify_at": "60"}).status_code == 302
    assert ScoringPolicy.current().qualify_at == 60


def test_rule_form_lists_the_allowed_values(admin_client):
    text = page(admin_client.get(reverse("admin:qualification_qualificationrule_add")))

    assert "<li>Buying stage: immediate (Buying now (under 1 month)), active (Active (1-3 months))" in text
    assert "never matches, except “is empty”" in text


@pytest.mark.parametrize(
    "name",
    ["qualificationrule_changelist", "scoringpolicy_changelist", "rulesetversion_changelist"],
)
def test_other_admin_lists_render(admin_client, decided_lead, name):
    assert admin_client.get(reverse(f"admin:qualification_{name}")).status_code == 200


def test_rescore_confirmed_after_the_rules_changed_decides_nothing(admin_client, decided_lead):
    ScoringPolicy(qualify_at=100).save()
    previewed = rule_set_current().version
    ScoringPolicy(qualify_at=40).save()  # marketing edits while the preview is open

    text = page(
        admin_client.post(
            LEADS_URL,
            {
                "action": "rescore_with_current_rules",
                ACTION_CHECKBOX_NAME: [decided_lead.pk],
                "confirm": "yes",
                "version": previewed,
            },
        )
    )

    assert "The rules changed since the preview, so nothing was re-scored." in text
    assert "Qualified (95)" in text and f"rule set <strong>{rule_set_current().version}</strong>" in text
    assert LeadDecision.objects.filter(lead=decided_lead).count() == 1


def test_lead_change_page_has_no_save_button(admin_client, decided_lead):
    text = page(admin_client.get(reverse("admin:qualification_lead_change", args=[decided_lead.pk])))

    assert 'name="_save"' not in text and 'name="_continue"' not in text
