"""Routing rules speak the qualification rules' language (qualification.rules).

Each existing routing row is converted: operator "neq" becomes "ne"; a free-text field becomes
one of the shared fields (matched by name or label, ignoring case, spaces and hyphens); the value is
checked with the same validation as admin (qualification.models.condition_clean). A row that
cannot be converted is deactivated (a default pool, which never looked at its condition, only
loses the condition), with its text kept as it was, and reported in the migration's
output; nothing is deleted.

One change of meaning is reported too: "does not equal" used to match leads without the fact in
routing; like in scoring, a rule on an empty fact now never matches (except "is empty").

The conversion reads the live field list and validation on purpose: it must agree with what admin
accepts at the moment it runs.
"""

from django.db import migrations, models

from qualification.models import RULE_FIELDS, condition_clean

OLD_OPERATORS = {"eq": "eq", "neq": "ne", "in": "in", "gte": "gte", "lte": "lte", "contains": "contains"}


def _key(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


def shared_field(text: str) -> str | None:
    """The shared field a free-text routing field names (by name or label), or None."""
    names = {_key(name): name for name, _label in RULE_FIELDS}
    names |= {_key(label): name for name, label in RULE_FIELDS}
    names |= {_key(label.split(" (")[0]): name for name, label in RULE_FIELDS}
    return names.get(_key(text))


def convert_routing_rules(apps, schema_editor):
    rule_model = apps.get_model("scheduling", "RoutingRule")
    for rule in rule_model.objects.order_by("id"):
        problem, note = "", ""
        if not rule.field.strip():
            if rule.value.strip():
                note = f"value {rule.value!r} cleared: a rule without a field takes every lead"
                rule.field, rule.value = "", ""
        else:
            field = shared_field(rule.field)
            operator = OLD_OPERATORS.get(rule.operator, rule.operator)
            if field is None:
                problem = f"field {rule.field!r} is not one of the rule fields"
            else:
                value, errors = condition_clean(field=field, operator=operator, value=rule.value)
                if errors:
                    problem = "; ".join(errors.values())
                else:
                    if rule.operator == "neq":
                        note = "“does not equal” no longer matches leads without this fact"
                    rule.field, rule.operator, rule.value = field, operator, value
        if problem and rule.is_default:
            # The default pool never looked at its condition: keep the pool, drop the condition.
            print(f"\n  Default routing rule {rule.pk} “{rule.name}”: condition cleared ({problem})")
            rule.field, rule.operator, rule.value = "", "eq", ""
        elif problem:
            rule.is_active = False
            print(f"\n  Routing rule {rule.pk} “{rule.name}” deactivated, could not be converted: {problem}")
        elif note:
            print(f"\n  Routing rule {rule.pk} “{rule.name}”: {note}")
        rule.save()


def back_to_old_operators(apps, schema_editor):
    rule_model = apps.get_model("scheduling", "RoutingRule")
    rule_model.objects.filter(operator="ne").update(operator="neq")


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0004_meeting_updated_at_index"),
        ("qualification", "0006_rule_conditions_shared"),
    ]

    operations = [
        migrations.RunPython(convert_routing_rules, back_to_old_operators),
        migrations.AlterField(
            model_name="routingrule",
            name="field",
            field=models.CharField(
                blank=True,
                choices=[
                    ("visitor_type", "Visitor type"),
                    ("company_size", "Company size (people)"),
                    ("authority", "Authority"),
                    ("role", "Role / job title"),
                    ("buying_stage", "Buying stage"),
                    ("timeline_months", "Timeline (months)"),
                    ("budget", "Budget"),
                    ("budget_amount", "Budget amount"),
                    ("industry", "Industry"),
                    ("country", "Country (ISO code)"),
                    ("use_case", "Use case"),
                    ("email_flag", "Email flag"),
                    ("email", "Email address"),
                    ("company_name", "Company name"),
                    ("need_text", "Need (visitor's words)"),
                    ("region", "Region (from the country, else the browser's time zone)"),
                    ("segment", "Segment (from the company size)"),
                    ("timezone", "Browser time zone"),
                ],
                help_text="The lead fact to look at; leave empty for a rule that takes every lead.",
                max_length=50,
            ),
        ),
        migrations.AlterField(
            model_name="routingrule",
            name="operator",
            field=models.CharField(
                choices=[
                    ("eq", "equals"),
                    ("ne", "does not equal"),
                    ("in", "is one of"),
                    ("not_in", "is not one of"),
                    ("gte", "≥"),
                    ("lte", "≤"),
                    ("gt", ">"),
                    ("lt", "<"),
                    ("contains", "contains"),
                    ("is_set", "is set"),
                    ("is_empty", "is empty"),
                ],
                default="eq",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="routingrule",
            name="value",
            field=models.CharField(
                blank=True,
                help_text="A number for ≥ ≤ > <; comma-separated values for “is one of”; empty for “is set” / “is empty”.",
                max_length=500,
            ),
        ),
    ]
