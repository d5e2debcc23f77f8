"""The daily rollups follow the chats: what the product writes shows on the next refresh, and an
incremental refresh always equals a rebuild from scratch."""

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from analytics import rollups, selectors
from analytics.demo_data import generate
from analytics.models import DailyConversationStat, RollupState, StaleBucket
from analytics.selectors import Scope
from chatbot import services
from chatbot.models import Conversation
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer
from tests.analytics.factories import slot_offer_for

NOVEMBER = Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 7))
SCOPES = [Scope(dt.date(2026, 10, 1), dt.date(2026, 11, 30)), NOVEMBER]


def _figures(scope: Scope) -> dict:
    return {
        "funnel": selectors.funnel(scope),
        "drop_off": selectors.drop_off(scope),
        "sources": {d: selectors.by_source(scope, d) for d in selectors.SOURCE_DIMENSIONS},
        "intents": selectors.intents(scope),
        "fallback_days": selectors.fallback_rate_by_day(scope),
    }


@pytest.fixture
def settled(known):
    """The hand-built chats as if written an hour ago, rollups refreshed since: nothing is new."""
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Lead.objects.update(updated_at=hour_ago)
    Meeting.objects.update(updated_at=hour_ago)
    SlotOffer.objects.update(created_at=hour_ago)
    rollups.refresh(full=True)
    assert RollupState.objects.get().refreshed_up_to > hour_ago
    return known


def _steps(scope: Scope) -> dict:
    return {row["step"]: row["count"] for row in selectors.funnel(scope)}


def test_product_writes_show_on_the_next_refresh_and_equal_a_rebuild(settled):
    known = settled
    before = _steps(NOVEMBER)
    # What the product does after the rollups were computed, through its own code paths:
    services.message_record_visitor(conversation=known.c4, text="do you integrate with HubSpot?", client_id="x1")
    lead2 = Lead.objects.get(conversation=known.c2)
    lead2.outcome = Lead.Outcome.QUALIFIED
    lead2.save()
    slot_offer_for(known.c2)
    meeting6 = Meeting.objects.get(conversation=known.c6)
    meeting6.status = Meeting.Status.HELD
    meeting6.save()
    Lead.objects.get(conversation=known.c5).delete()  # disqualified lead removed
    known.c8.delete()  # site B's conversation

    assert rollups.refresh() == 3  # Nov 2 and Nov 3 on site A, Nov 3 on site B
    after = _steps(NOVEMBER)
    assert after["engaged"] == before["engaged"] + 1 - 1  # C4 wrote; C8 is gone
    assert after["started"] == before["started"] - 1
    assert after["qualified"] == before["qualified"] + 1 - 1  # C2 qualified; C8 gone
    assert after["finished"] == before["finished"] + 1 - 1 - 1  # C2 decided; C5's lead and C8 gone
    assert after["offered"] == before["offered"] + 1
    assert after["held"] == before["held"] + 1

    incremental = {scope: _figures(scope) for scope in SCOPES}
    assert rollups.refresh(full=True) is None
    assert {scope: _figures(scope) for scope in SCOPES} == incremental


def test_refresh_recomputes_only_what_changed(settled):
    known = settled
    assert rollups.refresh() == 0
    services.message_record_visitor(conversation=known.c1, text="one more thing", client_id="x2")
    assert rollups.refresh() == 1


def test_a_rolled_back_delete_leaves_the_figures_alone(settled):
    known = settled
    with pytest.raises(RuntimeError), transaction.atomic():
        known.c1.delete()
        assert StaleBucket.objects.filter(site=known.site_a, day=dt.date(2026, 11, 2)).exists()
        raise RuntimeError("changed my mind")
    assert StaleBucket.objects.count() == 0
    assert rollups.refresh() == 0
    assert _steps(NOVEMBER)["started"] == 7


def test_the_first_refresh_builds_everything_and_matches_the_demo_data(db):
    generate(conversations=400, days=20, seed=3, end=dt.date(2026, 11, 20))
    scope = Scope(dt.date(2026, 10, 1), dt.date(2026, 11, 30))
    from_generator = _figures(scope)
    assert _steps(scope)["started"] == 400
    DailyConversationStat.objects.all().delete()
    assert _steps(scope)["started"] == 0  # the page reads the rollups, nothing else
    rollups.refresh(full=True)
    assert _figures(scope) == from_generator


def test_the_dashboard_refreshes_before_it_reads(known):
    started = _steps(NOVEMBER)["started"]
    conversation = Conversation.objects.create(site=known.site_a, visitor=known.c1.visitor)
    today = Scope(conversation.started_at.date(), conversation.started_at.date())
    assert selectors.dashboard(today)["funnel"][0]["count"] == 1
    assert _steps(NOVEMBER)["started"] == started


def test_the_command_rebuilds_and_says_so(settled):
    DailyConversationStat.objects.all().delete()
    out = io.StringIO()
    call_command("refresh_analytics", "--full", stdout=out)
    assert "recomputed every day" in out.getvalue()
    assert _steps(NOVEMBER)["started"] == 7


def test_every_periodic_task_exists():
    """A misspelt task name in the beat schedule would never run, silently."""
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "analytics.tasks.rollups_refresh" in scheduled
    assert scheduled <= set(app.tasks)
