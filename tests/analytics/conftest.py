"""A small hand-built data set whose right answers are written out in the tests.

Site A, conversations started 2026-11-02 (C1, C2) and 2026-11-03 (C3-C6), all in the
scope 2026-11-01..2026-11-07:

| conv | source (utm / referrer / landing)                          | messages (V = visitor, B = bot asks)                         | lead               | offer | meeting             |
|------|------------------------------------------------------------|--------------------------------------------------------------|--------------------|-------|---------------------|
| C1   | google/cpc/brand, www.google.com, /pricing                 | welcome, V greet, B use_case, V, B company_size, V           | qualified, decided | yes   | Alice, held, 590 s  |
| C2   | google/cpc/brand, www.google.com, /pricing                 | welcome, V greet, B use_case, V fallback, B use_case, V, B company_size (left) | incomplete | no | no |
| C3   | linkedin/paid_social/abm, www.linkedin.com, /demo          | welcome, V out_of_scope, B use_case (left)                   | none               | no    | no                  |
| C4   | none, no referrer, /demo                                   | welcome only                                                 | none               | no    | no                  |
| C5   | none, news.ycombinator.com, /pricing                       | welcome, V describe_need, B use_case, V, B company_size, V   | disqualified, decided | no | no                  |
| C6   | google/cpc/brand, www.google.com, /pricing                 | welcome, V fallback, B use_case, V                           | qualified, decided | yes   | Bob, booked, 300 s  |

Noise that the scope must exclude: C7 on site A started 2026-10-20 (qualified, meeting with
Alice); C8 on site B started 2026-11-03 (qualified, no meeting).
"""

import datetime as dt
from types import SimpleNamespace

import pytest

from analytics import rollups
from chatbot.models import Message
from qualification.models import Lead
from scheduling.models import Meeting
from tests.analytics.factories import (
    LeadFactory,
    SalesRepFactory,
    SiteFactory,
    conversation_at,
    meeting_for,
    say,
    slot_offer_for,
)

UTC = dt.timezone.utc
V, B = Message.Sender.VISITOR, Message.Sender.BOT
GOOGLE = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"}
LINKEDIN = {"utm_source": "linkedin", "utm_medium": "paid_social", "utm_campaign": "abm"}
PRICING = "https://shop.example/pricing"
DEMO = "https://shop.example/demo"


def _welcome(c):
    say(c, 0, B, "Hi! What brings you here?")


def _answer(c, seconds, slot, value):
    return say(
        c, seconds, V, value, intent=f"inform_{slot}", confidence=0.9, entities=[{"entity": slot, "value": value}]
    )


@pytest.fixture(autouse=True)
def own_snapshot_cache(monkeypatch):
    """Each test its own dashboard snapshots: the shared Redis cache outlives a test's database rows."""
    from django.core.cache.backends.locmem import LocMemCache

    from analytics import snapshots

    monkeypatch.setattr(snapshots, "cache", LocMemCache(f"analytics-test-{id(monkeypatch)}", {}))


@pytest.fixture
def known(db):
    site_a, site_b = SiteFactory(name="Site A"), SiteFactory(name="Site B")
    alice, bob = SalesRepFactory(name="Alice"), SalesRepFactory(name="Bob")
    nov2 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    nov3 = dt.datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    decided = dt.datetime(2026, 11, 3, 16, 0, tzinfo=UTC)

    c1 = conversation_at(
        site=site_a,
        started=nov2,
        utm=GOOGLE,
        referrer="https://www.google.com/search?q=x",
        page_url=f"{PRICING}?utm_source=google",
    )
    _welcome(c1)
    say(c1, 10, V, "hi", intent="greet", confidence=0.95)
    say(c1, 12, B, "What would you use it for?", asked_slot="use_case")
    _answer(c1, 30, "use_case", "lead routing")
    say(c1, 32, B, "How many people work there?", asked_slot="company_size")
    _answer(c1, 50, "company_size", "200")
    lead1 = LeadFactory(
        conversation=c1,
        outcome=Lead.Outcome.QUALIFIED,
        decided_at=decided,
        score=80,
        email="ana@acme.example",
        company_name="Acme",
        reasons=[{"rule": 1, "text": "company size ≥ 20", "points": 20, "knockout": False}],
    )
    slot_offer_for(c1)
    meeting_for(c1, rep=alice, lead=lead1, booked_after_seconds=600, status=Meeting.Status.HELD)

    c2 = conversation_at(
        site=site_a,
        started=nov2 + dt.timedelta(hours=1),
        utm=GOOGLE,
        referrer="https://www.google.com/",
        page_url=f"{PRICING}?x=1",
    )
    _welcome(c2)
    say(c2, 10, V, "hello", intent="greet", confidence=0.9)
    say(c2, 12, B, "What would you use it for?", asked_slot="use_case")
    say(c2, 30, V, "asdf 123 ??", intent="nlu_fallback", confidence=0.3)
    say(c2, 32, B, "Sorry, what would you use it for?", asked_slot="use_case")
    _answer(c2, 50, "use_case", "reporting")
    say(c2, 52, B, "How many people work there?", asked_slot="company_size")
    LeadFactory(conversation=c2, outcome=Lead.Outcome.INCOMPLETE, email="bo@globex.example", company_name="Globex")

    c3 = conversation_at(
        site=site_a, started=nov3, utm=LINKEDIN, referrer="https://www.linkedin.com/feed", page_url=DEMO
    )
    _welcome(c3)
    say(c3, 10, V, "Is there a FREE trial?", intent="out_of_scope", confidence=0.8)
    say(c3, 12, B, "What would you use it for?", asked_slot="use_case")

    c4 = conversation_at(site=site_a, started=nov3 + dt.timedelta(minutes=5), page_url=DEMO)
    _welcome(c4)

    c5 = conversation_at(
        site=site_a,
        started=nov3 + dt.timedelta(minutes=10),
        referrer="https://news.ycombinator.com/item?id=1",
        page_url=PRICING,
    )
    _welcome(c5)
    say(c5, 10, V, "we need better lead routing", intent="describe_need", confidence=0.7)
    say(c5, 12, B, "What would you use it for?", asked_slot="use_case")
    _answer(c5, 30, "use_case", "routing")
    say(c5, 32, B, "How many people work there?", asked_slot="company_size")
    _answer(c5, 50, "company_size", "3")
    LeadFactory(
        conversation=c5, outcome=Lead.Outcome.DISQUALIFIED, decided_at=decided, score=10, email="cy@tiny.example"
    )

    c6 = conversation_at(
        site=site_a,
        started=nov3 + dt.timedelta(minutes=20),
        utm=GOOGLE,
        referrer="https://www.google.com/",
        page_url=PRICING,
    )
    _welcome(c6)
    say(c6, 5, V, "is there a free trial", intent="nlu_fallback", confidence=0.35)
    say(c6, 7, B, "What would you use it for?", asked_slot="use_case")
    _answer(c6, 20, "use_case", "inbound")
    lead6 = LeadFactory(
        conversation=c6,
        outcome=Lead.Outcome.QUALIFIED,
        decided_at=decided,
        score=70,
        email="di@hooli.example",
        company_name="Hooli",
    )
    slot_offer_for(c6)
    meeting_for(c6, rep=bob, lead=lead6, booked_after_seconds=305, day=1)

    # Noise outside the scope.
    c7 = conversation_at(site=site_a, started=dt.datetime(2026, 10, 20, 9, 0, tzinfo=UTC), utm=GOOGLE, page_url=PRICING)
    say(c7, 10, V, "is there a free trial", intent="nlu_fallback", confidence=0.3)
    lead7 = LeadFactory(conversation=c7, outcome=Lead.Outcome.QUALIFIED, decided_at=decided)
    meeting_for(c7, rep=alice, lead=lead7, booked_after_seconds=100, day=2)
    c8 = conversation_at(site=site_b, started=nov3, utm=LINKEDIN, page_url=DEMO)
    say(c8, 10, V, "hi", intent="greet", confidence=0.9)
    LeadFactory(conversation=c8, outcome=Lead.Outcome.QUALIFIED, decided_at=decided)

    rollups.refresh()
    return SimpleNamespace(
        site_a=site_a, site_b=site_b, alice=alice, bob=bob, c1=c1, c2=c2, c3=c3, c4=c4, c5=c5, c6=c6, c7=c7, c8=c8
    )


@pytest.fixture
def scope_a(known):
    from analytics.selectors import Scope

    return Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 7), known.site_a.pk)
