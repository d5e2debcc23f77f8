"""Factories of scheduling data (shared by the scheduling tests of all three parts)."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import factory
from django.contrib.auth import get_user_model

from qualification.models import Lead
from scheduling.models import BusyBlock, Meeting, RoutingRule, SalesRep, TimeOff, WorkingHours
from tests.factories import ConversationFactory

UTC = dt_timezone.utc
WEEKDAYS_9_TO_5 = [(day, time(9), time(17)) for day in range(5)]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@vendor.example")
    is_staff = True


class SalesRepFactory(factory.django.DjangoModelFactory):
    """A rep with Monday-Friday 09:00-17:00 in their zone unless ``hours=[(weekday, start, end), ...]``.

    ``min_notice_minutes`` is 0 here so tests choose ``now`` freely; set it when testing notice.
    """

    class Meta:
        model = SalesRep
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rep {n}")
    email = factory.Sequence(lambda n: f"rep{n}@vendor.example")
    timezone = "Europe/Berlin"
    meeting_minutes = 30
    buffer_before_minutes = 0
    buffer_after_minutes = 0
    min_notice_minutes = 0
    max_meetings_per_day = 0
    horizon_days = 60

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create:
            return
        for weekday, start, end in WEEKDAYS_9_TO_5 if extracted is None else extracted:
            WorkingHours.objects.create(rep=self, weekday=weekday, start=start, end=end)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    rep = factory.SubFactory(SalesRepFactory, hours=[])
    weekday = 0
    start = time(9)
    end = time(17)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    conversation = factory.SubFactory(ConversationFactory)
    name = "Ada Visitor"
    email = factory.Sequence(lambda n: f"ada{n}@prospect{n}.example")
    company_name = "Prospect Ltd"


class MeetingFactory(factory.django.DjangoModelFactory):
    """A live meeting; pass ``start`` (aware) — the end follows the rep's meeting length."""

    class Meta:
        model = Meeting

    rep = factory.SubFactory(SalesRepFactory)
    conversation = factory.SubFactory(ConversationFactory)
    start = factory.LazyFunction(
        lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    )
    end = factory.LazyAttribute(lambda o: o.start + timedelta(minutes=o.rep.meeting_minutes))
    visitor_name = "Ada Visitor"
    visitor_email = factory.Sequence(lambda n: f"ada{n}@prospect{n}.example")
    visitor_email_domain = factory.LazyAttribute(lambda o: o.visitor_email.rpartition("@")[2])
    visitor_timezone = "Europe/London"


class BusyBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusyBlock

    rep = factory.SubFactory(SalesRepFactory)
    start = factory.LazyFunction(
        lambda: datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    )
    end = factory.LazyAttribute(lambda o: o.start + timedelta(hours=1))


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    rep = factory.SubFactory(SalesRepFactory)
    start = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(days=1))
    end = factory.LazyAttribute(lambda o: o.start + timedelta(days=1))
    reason = "Holiday"


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    """``RoutingRuleFactory(reps=[a, b], field="region", value="europe")``."""

    class Meta:
        model = RoutingRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    priority = 100

    @factory.post_generation
    def reps(self, create, extracted, **kwargs):
        if create and extracted:
            self.reps.set(extracted)
