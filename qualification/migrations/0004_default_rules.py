"""The default rule set marketing starts from (and edits in admin).

A VP at a 300-person company buying this quarter with budget "not sure" qualifies
(+20 +15 +30 +30 = 95 ≥ 50); a 6-person company is knocked out as too small.
"""

from django.db import migrations

# (order, field, operator, value, effect, points, reason shown to sales)
DEFAULT_RULES = [
    (10, "visitor_type", "eq", "student", "knockout", 0, "student"),
    (11, "authority", "eq", "student", "knockout", 0, "student (authority)"),
    (12, "visitor_type", "eq", "job_seeker", "knockout", 0, "job seeker"),
    (13, "visitor_type", "eq", "competitor", "knockout", 0, "competitor"),
    (14, "visitor_type", "eq", "vendor", "knockout", 0, "vendor pitching"),
    # Not new business: the bot sends existing customers to their account team instead of booking sales.
    (15, "visitor_type", "eq", "customer", "knockout", 0, "existing customer"),
    (20, "company_size", "lt", "10", "knockout", 0, "company size under 10 (too small)"),
    (21, "company_size", "gte", "20", "points", 20, "company size ≥ 20"),
    (22, "company_size", "gte", "200", "points", 15, "company size ≥ 200"),
    (30, "authority", "eq", "decision_maker", "points", 30, "decision maker"),
    (31, "authority", "eq", "influencer", "points", 15, "influencer"),
    (40, "buying_stage", "in", "immediate, active", "points", 30, "buying within 3 months"),
    (41, "buying_stage", "eq", "planning", "points", 15, "buying in 3-6 months"),
    (42, "buying_stage", "eq", "future", "nurture", 0, "buying in over 6 months"),
    (43, "buying_stage", "eq", "browsing", "nurture", 0, "just looking"),
    (50, "budget", "in", "has_budget, range", "points", 15, "has a budget"),
    (51, "budget", "eq", "none", "points", -10, "no budget"),
    (60, "email_flag", "eq", "disposable", "points", -20, "disposable email address"),
    (61, "email_flag", "eq", "free_mail", "points", -5, "free mail address"),
]
QUALIFY_AT = 50


def add_defaults(apps, schema_editor):
    rule_model = apps.get_model("qualification", "QualificationRule")
    policy_model = apps.get_model("qualification", "ScoringPolicy")
    policy_model.objects.get_or_create(pk=1, defaults={"qualify_at": QUALIFY_AT})
    if rule_model.objects.exists():
        return  # marketing already has rules: never overwrite them
    rule_model.objects.bulk_create(
        rule_model(
            order=order, field=field, operator=operator, value=value, effect=effect, points=points, reason_text=text
        )
        for order, field, operator, value, effect, points, text in DEFAULT_RULES
    )


class Migration(migrations.Migration):
    dependencies = [("qualification", "0003_scoring_rules")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
