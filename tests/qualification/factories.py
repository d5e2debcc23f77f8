import importlib

import factory
from django.apps import apps

from qualification.models import Lead, QualificationRule
from tests.factories import ConversationFactory


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    conversation = factory.SubFactory(ConversationFactory)
    company_name = factory.Sequence(lambda n: f"Acme {n} GmbH")
    email = factory.Sequence(lambda n: f"buyer{n}@acme{n}.example")
    name = factory.Sequence(lambda n: f"Buyer {n}")


class QualificationRuleFactory(factory.django.DjangoModelFactory):
    """A rule run through clean(), as admin would save it (so its value and reason text are normalised)."""

    class Meta:
        model = QualificationRule

    field = "company_size"
    operator = QualificationRule.Operator.GTE
    value = "20"
    effect = QualificationRule.Effect.POINTS
    points = 20
    order = factory.Sequence(lambda n: n)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        rule = model_class(*args, **kwargs)
        rule.full_clean()
        rule.save()
        return rule


def install_default_rules() -> None:
    """The shipped rule set and policy, as the data migration creates them (a no-op when rules exist).

    Transactional tests flush the migration's rows, so tests that rely on the defaults install them.
    """
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(apps, None)
