"""The dashboard's live-handoff figures: requests, taken, within the site's wait, told nobody came, median wait."""

import datetime as dt
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from analytics import selectors
from analytics.selectors import Scope
from chatbot.models import Conversation, Takeover
from tests.factories import ConversationFactory, SiteFactory

pytestmark = pytest.mark.django_db


def asked(site, *, waited=None, unanswered=False):
    conversation = ConversationFactory(site=site)
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        handoff_requested=True,
        handoff_requested_at=now - timedelta(minutes=10),
        handoff_unanswered_at=now if unanswered else None,
    )
    if waited is not None:
        Takeover.objects.create(
            conversation=conversation, rep=None, rep_name="Ana", taken_at=now, released_at=now, waited_seconds=waited
        )
    return conversation


def test_handoff_figures():
    site = SiteFactory(handoff_wait_seconds=60)
    other = SiteFactory(handoff_wait_seconds=60)
    asked(site, waited=20)
    asked(site, waited=50)
    asked(site, waited=300, unanswered=True)  # came late: the bot had said nobody was free
    asked(site, unanswered=True)
    ConversationFactory(site=site)  # never asked
    asked(other, waited=10)
    today = timezone.now().date()
    figures = selectors.handoffs(Scope(today - dt.timedelta(days=1), today, site_id=site.pk))
    assert figures == {
        "requests": 4,
        "taken": 3,
        "within_target": 2,
        "unanswered": 2,
        "median_wait_seconds": 50.0,
        "within_target_rate": 50.0,
    }
    everywhere = selectors.handoffs(Scope(today - dt.timedelta(days=1), today))
    assert (everywhere["requests"], everywhere["median_wait_seconds"]) == (5, 35.0)


def test_the_dashboard_shows_them(client):
    site = SiteFactory()
    asked(site, waited=42)
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    page = client.get("/admin/analytics/dashboard/?fresh=1").content.decode()
    assert "Asked for a person: <strong>1</strong>" in page
    assert "median wait for a rep: <strong>42 s</strong>" in page
