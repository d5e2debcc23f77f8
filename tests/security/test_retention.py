"""Retention: what visitors said is kept a site's number of days after their last message, then anonymised.

The dashboard's figures for those old days must not move, not even after a full rebuild of the
rollups from the rows left behind; the bot's memory of those conversations (Rasa's tracker store,
the real PostgreSQL one) goes too.
"""

import datetime as dt
import uuid

import pytest
from django.core import serializers

from analytics import rollups
from chatbot.models import Conversation, Message, Visitor
from privacy.services import retention_apply
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer
from scheduling.services import meeting_book
from tests.analytics.factories import SalesRepFactory, SiteFactory, conversation_at, say
from tests.rasa_side import RasaTrackerStore
from tests.security.privacy_support import (
    another_visit,
    chat_history,
    dashboard_of,
    tracker_has,
    tracker_store,
    tracker_write,
)

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc
STARTED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NOW = STARTED + dt.timedelta(days=400)
PERSONAL = ["lovelace", "analytical", "ada@", "globex", "tiny.example", "initech", "i'm bo", "cy here", "tuesday"]


def stored_text(conversations) -> str:
    """Every stored row of these conversations (and their messages, leads, offers, meetings, visitors), as text."""
    ids = [c.pk for c in conversations]
    rows = [
        *Conversation.objects.filter(pk__in=ids),
        *Message.objects.filter(conversation_id__in=ids),
        *Lead.objects.filter(conversation_id__in=ids),
        *SlotOffer.objects.filter(conversation_id__in=ids),
        *Meeting.objects.filter(conversation_id__in=ids),
    ]
    return serializers.serialize("json", rows).lower()


def test_old_chats_are_anonymised_and_marketings_figures_for_those_days_do_not_change(
    django_capture_on_commit_callbacks,
):
    chats = chat_history(started=STARTED)
    old = [chats.ada, chats.bo, chats.cy, chats.dee, chats.eve]
    recent = conversation_at(site=chats.site_a, started=NOW - dt.timedelta(days=10))
    say(recent, 5, Message.Sender.VISITOR, "I'm Grace Hopper, still talking to you")
    Lead.objects.create(conversation=recent, name="Grace Hopper", email="grace@navy.example")
    tokens = {c.pk: c.visitor.token for c in old}
    day = STARTED.date()
    before = {"all": dashboard_of(day), "site a": dashboard_of(day, chats.site_a)}
    assert before["all"]["funnel"][0]["count"] == 5 and before["all"]["reps"][0]["booked"] == 2
    assert all(word in stored_text(old) for word in PERSONAL)

    with tracker_store() as store:
        for conversation in [*old, recent]:
            conversation.refresh_from_db()
            tracker_write(store, str(conversation.public_id), at=conversation.last_activity_at)

        with django_capture_on_commit_callbacks(execute=True):
            run = retention_apply(now=NOW)

        assert (run.conversations, run.meetings, run.visitors) == (5, 2, 5) and run.tracker_events >= 10
        assert not any(tracker_has(store, str(c.public_id)) for c in old)
        assert tracker_has(store, str(recent.public_id))

    # Nothing that identifies anyone is left in the old conversations...
    text = stored_text(old)
    assert not [word for word in PERSONAL if word in text]
    ada = Conversation.objects.get(pk=chats.ada.pk)
    assert ada.anonymised_at == NOW and ada.status == Conversation.Status.CLOSED and ada.timezone == ""
    assert ada.page_url == "https://shop.example/pricing" and ada.referrer == "https://mail.example/"
    assert ada.utm == {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"}
    assert set(Message.objects.filter(conversation__in=old).values_list("text", flat=True)) == {""}
    lead = Lead.objects.get(conversation=chats.ada)
    assert (lead.name, lead.email, lead.company_name, lead.company_size, lead.raw) == ("", "", "", None, {})
    assert (lead.outcome, lead.score, lead.decisions.count()) == (Lead.Outcome.QUALIFIED, 80, 1)
    meeting = Meeting.objects.get(pk=chats.ada_meeting.pk)
    assert (meeting.visitor_name, meeting.visitor_email, meeting.visitor_email_domain) == ("", "", "")
    assert (meeting.status, meeting.rep, meeting.conversation_id) == (Meeting.Status.HELD, chats.alice, chats.ada.pk)
    # ...and a browser that kept one of those tokens starts afresh instead of being linked back.
    assert not Visitor.objects.filter(token__in=tokens.values()).exists()

    # ...while the dashboard's figures for that day are what they were, even rebuilt from scratch.
    assert {"all": dashboard_of(day), "site a": dashboard_of(day, chats.site_a)} == before
    rollups.refresh(full=True)
    assert {"all": dashboard_of(day), "site a": dashboard_of(day, chats.site_a)} == before

    # The recent conversation is untouched, and a second run finds nothing more to do.
    recent.refresh_from_db()
    assert recent.anonymised_at is None
    assert Lead.objects.get(conversation=recent).email == "grace@navy.example"
    assert recent.messages.get(sender=Message.Sender.VISITOR).text == "I'm Grace Hopper, still talking to you"
    assert retention_apply(now=NOW).conversations == 0


def test_each_site_keeps_chats_its_own_number_of_days_and_a_meeting_to_come_waits():
    now = dt.datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
    month, year = SiteFactory(retention_days=30), SiteFactory()
    assert year.retention_days == 365
    forty_days_ago = now - dt.timedelta(days=40)
    on_month = conversation_at(site=month, started=forty_days_ago)
    on_year = conversation_at(site=year, started=forty_days_ago)
    say(on_month, 1, Message.Sender.VISITOR, "call me Ada")
    say(on_year, 1, Message.Sender.VISITOR, "call me Ada")
    # A conversation idle for 40 days whose meeting is still to come: the rep needs to know whom they meet.
    waiting = conversation_at(site=month, started=forty_days_ago)
    start = now + dt.timedelta(days=2)
    Meeting.objects.create(
        rep=SalesRepFactory(),
        conversation=waiting,
        start=start,
        end=start + dt.timedelta(minutes=30),
        visitor_name="Ada",
        visitor_email="ada@example.com",
    )
    # One browser: an old conversation and a recent one. Only the old one is anonymised,
    # and the browser keeps its token while it has a live conversation.
    returning = conversation_at(site=month, started=forty_days_ago)
    say(returning, 1, Message.Sender.VISITOR, "hello again, Ada here")
    token = returning.visitor.token
    another_visit(returning.visitor, at=now - dt.timedelta(days=2))

    run = retention_apply(now=now)
    assert (run.conversations, run.visitors) == (2, 1)  # the returning browser keeps its token for now

    anonymised = set(Conversation.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True))
    assert anonymised == {on_month.pk, returning.pk}
    assert on_year.messages.get().text == "call me Ada"
    assert Meeting.objects.get(conversation=waiting).visitor_email == "ada@example.com"
    assert Visitor.objects.filter(token=token).exists()

    # Once the meeting is over, its conversation goes too.
    assert retention_apply(now=start + dt.timedelta(days=1)).conversations == 1
    assert Meeting.objects.get(conversation=waiting).visitor_email == ""


def test_retention_runs_daily_as_a_celery_beat_task(settings):
    from config.celery import app
    from privacy.tasks import retention_run

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "privacy.tasks.retention_run"]
    assert len(entries) == 1 and entries[0]["schedule"] <= 24 * 3600
    app.loader.import_default_modules()
    assert "privacy.tasks.retention_run" in app.tasks

    site = SiteFactory(retention_days=30)
    old = conversation_at(site=site, started=dt.datetime.now(UTC) - dt.timedelta(days=31))
    say(old, 1, Message.Sender.VISITOR, "my name is Ada")

    result = retention_run.delay().get()

    assert result["conversations"] == 1
    assert old.messages.get().text == ""


def test_the_bots_memory_of_conversations_gone_elsewhere_is_pruned_too():
    """Events of a conversation deleted in admin, or of a sender we never knew, do not outlive retention."""
    site = SiteFactory(retention_days=30)
    now = dt.datetime(2027, 6, 1, tzinfo=UTC)
    long_ago = now - dt.timedelta(days=45)
    deleted = conversation_at(site=site, started=long_ago)
    deleted_sender = str(deleted.public_id)
    deleted.delete()
    stranger = f"not-a-conversation-{uuid.uuid4()}"
    # Idle as long, but its meeting is still to come: the conversation and its memory stay.
    waiting = conversation_at(site=site, started=long_ago)
    Meeting.objects.create(
        rep=SalesRepFactory(),
        conversation=waiting,
        start=now + dt.timedelta(days=1),
        end=now + dt.timedelta(days=1, hours=1),
    )
    fresh = f"fresh-{uuid.uuid4()}"

    with tracker_store() as store:
        for sender in (deleted_sender, stranger, str(waiting.public_id)):
            tracker_write(store, sender, at=long_ago)
        tracker_write(store, fresh, at=now - dt.timedelta(days=1))

        run = retention_apply(now=now)

        assert run.tracker_events >= 4
        assert not tracker_has(store, deleted_sender) and not tracker_has(store, stranger)
        assert tracker_has(store, str(waiting.public_id)) and tracker_has(store, fresh)


def test_the_reps_calendar_event_forgets_the_visitor_too(radicale, django_capture_on_commit_callbacks):
    from tests.scheduling.conftest import connect_rep_calendar
    from tests.scheduling.factories import SalesRepFactory as RepWithHoursFactory

    site = SiteFactory(retention_days=30)
    monday = dt.datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
    conversation = conversation_at(site=site, started=monday - dt.timedelta(hours=1))
    say(conversation, 1, Message.Sender.VISITOR, "I'm Ada, our leads go cold")
    calendar = connect_rep_calendar(radicale, RepWithHoursFactory(timezone="UTC"))
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_book(
            rep_id=calendar.rep.pk,
            start=monday + dt.timedelta(hours=4),
            conversation=conversation,
            lead=None,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            now=monday,
        ).meeting
    (event,) = calendar.events()
    assert "Ada Lovelace" in str(event.component["summary"]) and "leads go cold" in str(event.component["description"])

    with django_capture_on_commit_callbacks(execute=True):
        retention_apply(now=monday + dt.timedelta(days=60))

    (event,) = calendar.events()
    component = event.component
    assert str(component["uid"]) == meeting.calendar_uid
    assert "Ada" not in str(component["summary"]) and "Ada" not in str(component["description"])
    assert "leads go cold" not in str(component["description"]) and "attendee" not in component
    meeting.refresh_from_db()
    assert meeting.sync_state == Meeting.SyncState.SYNCED


def test_the_embedded_defaults_sqlite_tracker_store_is_pruned_too(settings, tmp_path):
    """Without RASA_TRACKER_DATABASE_URL, Rasa keeps its tracker in a SQLite file (bot_endpoints); so does retention."""
    from chatbot.management.commands.bot_endpoints import endpoints_config
    from privacy import tracker

    settings.RASA_TRACKER_DATABASE_URL = ""
    settings.VAR_DIR = tmp_path
    assert tracker.events_delete(sender_ids=["anything"]) == 0  # Rasa never ran here: nothing to delete
    config = endpoints_config(action_url="http://127.0.0.1:1/bot/actions/")["tracker_store"]
    assert config["dialect"] == "sqlite" and config["db"] == str(tmp_path / "rasa-tracker.db")
    site = SiteFactory(retention_days=30)
    now = dt.datetime(2027, 6, 1, tzinfo=UTC)
    old = conversation_at(site=site, started=now - dt.timedelta(days=31))
    live = conversation_at(site=site, started=now - dt.timedelta(days=1))
    with RasaTrackerStore(config) as store:
        for conversation in (old, live):
            tracker_write(store, str(conversation.public_id), at=conversation.started_at)

        run = retention_apply(now=now)

        assert (run.conversations, run.tracker_events, run.tracker_failures) == (1, 2, 0)
        assert not tracker_has(store, str(old.public_id))
        assert tracker_has(store, str(live.public_id))
