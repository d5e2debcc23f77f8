"""The dashboard's live-handoff figures: requests, taken, within the site's wait, told nobody came, median wait,
and meetings booked after a live chat."""

import datetime as dt
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from analytics import selectors
from analytics.selectors import Scope
from chatbot.models import Conversation, Takeover
from scheduling.models import Meeting
from tests.factories import ConversationFactory, SiteFactory
from tests.scheduling.factories import MeetingFactory

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


def booked(conversation, *, minutes_ago: int):
    meeting = MeetingFactory(conversation=conversation)
    Meeting.objects.filter(pk=meeting.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))


def test_handoff_figures():
    site = SiteFactory(handoff_wait_seconds=60)
    other = SiteFactory(handoff_wait_seconds=60)
    booked(asked(site, waited=20), minutes_ago=0)  # taken over now, booked after: counts
    booked(asked(site, waited=50), minutes_ago=30)  # booked before the live chat: does not
    asked(site, waited=300, unanswered=True)  # came late: the bot had said nobody was free
    asked(site, unanswered=True)
    never_asked = ConversationFactory(site=site)
    booked(never_asked, minutes_ago=0)  # a meeting with no live chat: does not count
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
        "booked_after_live_chat": 1,
    }
    everywhere = selectors.handoffs(Scope(today - dt.timedelta(days=1), today))
    assert (everywhere["requests"], everywhere["median_wait_seconds"]) == (5, 35.0)


def test_a_live_chat_without_a_request_counts_too():
    """A rep took over a qualified visitor from the queue (no request for a person), then the visitor booked."""
    conversation = ConversationFactory()
    now = timezone.now()
    Takeover.objects.create(conversation=conversation, rep=None, rep_name="Ana", taken_at=now - timedelta(minutes=5))
    booked(conversation, minutes_ago=1)
    today = now.date()
    assert selectors.handoffs(Scope(today - dt.timedelta(days=1), today))["booked_after_live_chat"] == 1


def test_the_dashboard_shows_them(client):
    site = SiteFactory()
    booked(asked(site, waited=42), minutes_ago=0)
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    page = client.get("/admin/analytics/dashboard/?fresh=1").content.decode()
    assert "Asked for a person: <strong>1</strong>" in page
    assert "median wait for a rep: <strong>42 s</strong>" in page
    assert "meetings booked after a live chat: <strong>1</strong>" in page
