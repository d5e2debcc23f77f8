"""One rule language: a condition means the same when it scores a lead and when it routes one."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from qualification.models import QualificationRule
from qualification.scoring import lead_score
from scheduling.models import RoutingRule
from scheduling.routing import route_lead
from tests.factories import ConversationFactory
from tests.scheduling.factories import LeadFactory, RoutingRuleFactory, SalesRepFactory

pytestmark = pytest.mark.django_db

convert_routing_rules = importlib.import_module(
    "scheduling.migrations.0005_routing_rules_shared_conditions"
).convert_routing_rules


def scored(lead) -> bool:
    return [reason.text for reason in lead_score(lead=lead).reasons] == ["the condition"]


def routed(lead) -> bool:
    return [rep.name for rep in route_lead(lead=lead, conversation=lead.conversation)] == ["Special"]


@pytest.mark.parametrize(
    ("field", "operator", "value", "facts", "matches"),
    [
        # an empty fact matches nothing but "is empty", not even "does not equal" / "is not one of"
        ("industry", "ne", "retail", {}, False),
        ("industry", "not_in", "retail, banking", {}, False),
        ("company_size", "lt", "10", {}, False),
        ("industry", "is_empty", "", {}, True),
        ("industry", "ne", "retail", {"industry": "Software"}, True),
        # numbers compare as numbers (9 < 10 although "9" > "10" as text)
        ("company_size", "gte", "10", {"company_size": 9}, False),
        ("company_size", "gte", "10", {"company_size": 10}, True),
        ("company_size", "lt", "10", {"company_size": 9}, True),
        # one-of lists, with spaces after the commas
        ("country", "in", "DE, AT, CH", {"country": "AT"}, True),
        ("country", "in", "DE, AT, CH", {"country": "FR"}, False),
        ("buying_stage", "not_in", "future, browsing", {"buying_stage": "active"}, True),
        # case and surrounding spaces do not matter for text
        ("industry", "eq", "Software", {"industry": " software "}, True),
        ("role", "contains", "VP", {"role": "Senior vp of Sales"}, True),
        # derived facts are facts in both places
        ("region", "eq", "europe", {"country": "DE"}, True),
        ("segment", "eq", "enterprise", {"company_size": 5000}, True),
        ("segment", "eq", "enterprise", {"company_size": 500}, False),
    ],
)
def test_a_condition_means_the_same_in_scoring_and_routing(field, operator, value, facts, matches):
    condition = {"field": field, "operator": operator, "value": value}
    QualificationRule.objects.all().delete()
    rule = QualificationRule(**condition, effect="points", points=10, reason_text="the condition")
    rule.full_clean()
    rule.save()
    routing = RoutingRuleFactory(name="Special pool", **condition, reps=[SalesRepFactory(name="Special")])
    routing.full_clean()
    RoutingRuleFactory(is_default=True, reps=[SalesRepFactory(name="Default")])
    lead = LeadFactory(conversation=ConversationFactory(timezone=""), **facts)

    assert scored(lead) is matches
    assert routed(lead) is matches


def test_routing_rules_are_validated_like_qualification_rules():
    for model, extra in ((QualificationRule, {"points": 5}), (RoutingRule, {"name": "x"})):
        with pytest.raises(Exception) as error:
            model(field="industry", operator="gt", value="5", **extra).full_clean()
        assert "“>” compares numbers, and Industry is not a number." in str(error.value)
        with pytest.raises(Exception) as error:
            model(field="region", operator="eq", value="emea", **extra).full_clean()
        assert "Unknown region" in str(error.value) and "europe (Europe)" in str(error.value)
    rule = RoutingRule(name="DACH", field="country", operator="in", value="de, at")
    rule.full_clean()
    assert rule.value == "DE, AT"


def test_routing_rule_form_offers_the_shared_fields_and_rejects_a_bad_value(admin_client):
    url = reverse("admin:scheduling_routingrule_add")
    text = admin_client.get(url).content.decode()
    assert '<option value="buying_stage">Buying stage</option>' in text and "europe (Europe)" in text
    rep = SalesRepFactory(name="Eva")
    form = {"name": "Big", "priority": "10", "field": "company_size", "operator": "gte", "value": "lots"}
    text = admin_client.post(url, {**form, "reps": [rep.pk], "is_active": "on"}).content.decode()
    assert "Company size (people) is a number: “lots” is not a whole number." in text
    assert not RoutingRule.objects.filter(name="Big").exists()


def test_migration_converts_routing_rows_and_deactivates_what_it_cannot(capsys):
    # Rows as the free-text routing admin stored them, saved without the new validation.
    neq = RoutingRule.objects.create(name="Not retail", field="Industry", operator="neq", value="retail")
    size = RoutingRule.objects.create(name="Big", field="company size", operator="gte", value="200")
    odd = RoutingRule.objects.create(name="Qualified", field="outcome", operator="eq", value="qualified")
    dead = RoutingRule.objects.create(name="EMEA", field="region", operator="eq", value="emea")
    fine = RoutingRule.objects.create(name="Europe", field="region", operator="eq", value="Europe")

    convert_routing_rules(apps, None)

    for rule in (neq, size, odd, dead, fine):
        rule.refresh_from_db()
    assert (neq.field, neq.operator, neq.value, neq.is_active) == ("industry", "ne", "retail", True)
    assert (size.field, size.operator, size.value, size.is_active) == ("company_size", "gte", "200", True)
    assert (fine.value, fine.is_active) == ("europe", True)
    assert not odd.is_active and odd.field == "outcome"  # kept as it was, for marketing to see
    assert not dead.is_active
    output = capsys.readouterr().out
    assert f"Routing rule {odd.pk} “Qualified” deactivated" in output
    assert f"Routing rule {dead.pk} “EMEA” deactivated" in output and "Unknown region" in output
    assert f"Routing rule {neq.pk} “Not retail”" in output
    assert RoutingRule.objects.count() == 5  # nothing dropped
    lead = LeadFactory(industry="Software")
    neq.reps.set([SalesRepFactory(name="Special")])
    assert routed(lead)
