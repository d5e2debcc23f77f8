"""Data and Rasa tracker-store helpers shared by the privacy tests (retention, erasure, subject access).

The tracker store is the real one Rasa uses in the tests (RASA_TRACKER_DATABASE_URL, PostgreSQL):
events are written by Rasa's own store class, as the Rasa server writes them, and read back by it,
in a process of the Rasa environment (tests/rasa_side.py), since the web environment has no Rasa.
"""

import datetime as dt
from contextlib import contextmanager
from types import SimpleNamespace

from analytics import rollups
from analytics.selectors import Scope, dashboard
from chatbot.management.commands.bot_endpoints import endpoints_config
from chatbot.models import Conversation, Message
from qualification.models import Lead, LeadDecision
from scheduling.models import Meeting
from tests.analytics.factories import SalesRepFactory, SiteFactory, conversation_at, say, slot_offer_for
from tests.rasa_side import RasaTrackerStore

UTC = dt.timezone.utc
V, B = Message.Sender.VISITOR, Message.Sender.BOT
GOOGLE = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand", "utm_term": "ada lovelace crm"}


# --- Rasa's tracker store ---------------------------------------------------------------------------------


@contextmanager
def tracker_store():
    """Rasa's SQL tracker store exactly as bot_endpoints configures it for the Rasa server."""
    config = endpoints_config(action_url="http://127.0.0.1:1/bot/actions/")["tracker_store"]
    assert config["type"] == "chatbot.rasa_plugins.tracker_store.LeadbotTrackerStore"
    assert config["dialect"] == "postgresql", "the tests run with a PostgreSQL RASA_TRACKER_DATABASE_URL"
    with RasaTrackerStore(config) as store:
        yield store


def tracker_write(store: RasaTrackerStore, sender: str, *, at: dt.datetime, email: str = "someone@example.com") -> None:
    """One turn of the bot's memory: what the visitor said and the slot it filled, stamped ``at``."""
    store.write_turn(sender, at=at.timestamp(), email=email)


def tracker_has(store: RasaTrackerStore, sender: str) -> bool:
    """Whether Rasa finds anything stored for this conversation."""
    return store.has(sender)


# --- A small chat history whose dashboard has every kind of figure ----------------------------------------


def chat_history(*, started: dt.datetime) -> SimpleNamespace:
    """Two sites' conversations on one day, with every kind of figure the dashboard shows.

    ada: qualified, offered slots, held meeting; bo: fallback, left at a question; cy: disqualified,
    decided; dee: welcome only; eve (site B): booked meeting. Each gave personal data.
    """
    site_a, site_b = SiteFactory(name="Site A"), SiteFactory(name="Site B")
    alice = SalesRepFactory(name="Alice")
    referrer = "https://mail.example/inbox?to=ada@analytical.example"
    ada = conversation_at(
        site=site_a, started=started, utm=GOOGLE, referrer=referrer, page_url="https://shop.example/pricing?email=ada"
    )
    say(ada, 0, B, "Hi! What brings you here?")
    say(ada, 10, V, "I'm Ada Lovelace from Analytical Engines", intent="greet", confidence=0.95)
    say(ada, 12, B, "How many people work there?", asked_slot="company_size")
    say(
        ada,
        30,
        V,
        "about 200, reach me at ada@analytical.example",
        intent="inform_company_size",
        confidence=0.9,
        entities=[{"entity": "email", "value": "ada@analytical.example"}],
    )
    ada_lead = Lead.objects.create(
        conversation=ada,
        name="Ada Lovelace",
        email="ada@analytical.example",
        company_name="Analytical Engines",
        company_size=200,
        role="CTO",
        need_text="Our contact form leads go cold",
        raw={"company_size": "about 200"},
        outcome=Lead.Outcome.QUALIFIED,
        score=80,
        decided_at=started + dt.timedelta(minutes=1),
        reasons=[{"rule": 1, "text": "company size ≥ 20", "points": 80, "knockout": False}],
        rule_set_version="v1",
    )
    LeadDecision.objects.create(
        lead=ada_lead,
        score=80,
        outcome=Lead.Outcome.QUALIFIED,
        reasons=ada_lead.reasons,
        rule_set_version="v1",
        decided_at=started + dt.timedelta(minutes=1),
        trigger="bot",
    )
    offer = slot_offer_for(ada)
    offer.preference_text = "Tuesday afternoon, Ada"
    offer.save()
    meeting_start = started + dt.timedelta(days=3)
    ada_meeting = Meeting.objects.create(
        rep=alice,
        lead=ada_lead,
        conversation=ada,
        start=meeting_start,
        end=meeting_start + dt.timedelta(minutes=30),
        status=Meeting.Status.HELD,
        visitor_name="Ada Lovelace",
        visitor_email="ada@analytical.example",
        visitor_email_domain="analytical.example",
        visitor_timezone="Europe/London",
        sync_state=Meeting.SyncState.NOT_CONNECTED,
    )
    Meeting.objects.filter(pk=ada_meeting.pk).update(created_at=started + dt.timedelta(minutes=2))

    bo = conversation_at(
        site=site_a, started=started + dt.timedelta(hours=1), utm=GOOGLE, page_url="https://shop.example/pricing"
    )
    say(bo, 0, B, "Hi! What brings you here?")
    say(bo, 10, V, "asdf qwerty, I'm Bo", intent="nlu_fallback", confidence=0.3)
    say(bo, 12, B, "What would you use it for?", asked_slot="use_case")
    Lead.objects.create(conversation=bo, email="bo@globex.example", company_name="Globex")

    cy = conversation_at(
        site=site_a, started=started + dt.timedelta(hours=2), referrer="https://news.example/item?id=7"
    )
    say(cy, 0, B, "Hi! What brings you here?")
    say(cy, 10, V, "we are 3 people, Cy here", intent="inform_company_size", confidence=0.8)
    Lead.objects.create(
        conversation=cy,
        email="cy@tiny.example",
        company_size=3,
        outcome=Lead.Outcome.DISQUALIFIED,
        score=5,
        decided_at=started + dt.timedelta(hours=2, minutes=1),
    )

    dee = conversation_at(site=site_a, started=started + dt.timedelta(hours=3))
    say(dee, 0, B, "Hi! What brings you here?")

    eve = conversation_at(site=site_b, started=started + dt.timedelta(hours=4), utm={"utm_source": "linkedin"})
    say(eve, 0, B, "Hi! What brings you here?")
    say(eve, 10, V, "Eve from Initech, book me", intent="request_meeting", confidence=0.9)
    eve_lead = Lead.objects.create(
        conversation=eve,
        name="Eve",
        email="eve@initech.example",
        outcome=Lead.Outcome.QUALIFIED,
        score=70,
        decided_at=started + dt.timedelta(hours=4, minutes=1),
    )
    slot_offer_for(eve)
    Meeting.objects.create(
        rep=alice,
        lead=eve_lead,
        conversation=eve,
        start=meeting_start + dt.timedelta(hours=2),
        end=meeting_start + dt.timedelta(hours=2, minutes=30),
        visitor_name="Eve",
        visitor_email="eve@initech.example",
        sync_state=Meeting.SyncState.NOT_CONNECTED,
    )
    # The conversations' last activity is their last message (what the consumer records).
    for conversation in (ada, bo, cy, dee, eve):
        last = conversation.messages.order_by("-created_at").values_list("created_at", flat=True).first()
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=last)
    rollups.refresh()
    return SimpleNamespace(
        site_a=site_a, site_b=site_b, alice=alice, ada=ada, bo=bo, cy=cy, dee=dee, eve=eve, ada_meeting=ada_meeting
    )


def dashboard_of(day: dt.date, site=None) -> dict:
    """Every table of marketing's dashboard for one day (after bringing the rollups up to date)."""
    return dashboard(Scope(day, day, site.pk if site else None))


def another_visit(visitor, *, at: dt.datetime) -> Conversation:
    """A later conversation of the same browser (same visitor token)."""
    conversation = Conversation.objects.create(site=visitor.site, visitor=visitor)
    Conversation.objects.filter(pk=conversation.pk).update(started_at=at, last_activity_at=at)
    conversation.refresh_from_db()
    return conversation
