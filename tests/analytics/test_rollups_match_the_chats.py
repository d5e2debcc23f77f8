"""What the pages read from the rollups equals the same figures computed from the chats themselves.

Issue 14 moved three more readings onto the rollups (the reps' meetings and medians, the not-understood
texts, the conversation list's filter choices); each is checked here against a plain computation over
the rows, on generated data.
"""

import datetime as dt
import statistics
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.db import connection

from analytics import not_understood, selectors
from analytics.admin.conversations import FILTER_CHOICES, frequent_values
from analytics.demo_data import generate
from analytics.expressions import FALLBACK_INTENTS, UrlWithoutQuery, utm_value
from analytics.models import RollupState
from analytics.selectors import Scope
from chatbot.models import Conversation, Message, Site
from privacy.services import conversations_anonymise
from scheduling.models import Meeting

END = dt.date(2026, 11, 20)


@pytest.fixture
def generated(db):
    generate(conversations=600, days=30, seed=5, end=END)


def _scopes() -> list[Scope]:
    site = Site.objects.order_by("pk").first()
    return [
        Scope(dt.date(2026, 10, 1), dt.date(2026, 11, 30)),
        Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 10)),
        Scope(dt.date(2026, 10, 1), dt.date(2026, 11, 30), site.pk),
    ]


def _first_visitor_message(conversation_id: int) -> dt.datetime | None:
    first = Message.objects.filter(conversation_id=conversation_id, sender=Message.Sender.VISITOR).order_by(
        "created_at"
    )
    return first.values_list("created_at", flat=True).first()


def _meetings_from_the_chats(scope: Scope) -> tuple[dict, float | None]:
    reps: dict[str, dict] = {}
    every = []
    for meeting in Meeting.objects.filter(scope.conversation_q("conversation__")).select_related("rep"):
        row = reps.setdefault(
            meeting.rep.name, {"booked": 0, "held": 0, "no_show": 0, "cancelled": 0, "upcoming": 0, "seconds": []}
        )
        row["booked"] += 1
        status = {"booked": "upcoming"}.get(meeting.status, meeting.status)
        row[status] += 1
        first = _first_visitor_message(meeting.conversation_id)
        if first is not None:
            row["seconds"].append((meeting.created_at - first).total_seconds())
            every.append(row["seconds"][-1])
    for row in reps.values():
        seconds = row.pop("seconds")
        row["median_seconds"] = statistics.median(seconds) if seconds else None
    return reps, statistics.median(every) if every else None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the medians need percentile_cont")
def test_meetings_per_rep_and_the_median_equal_the_chats(generated):
    assert Meeting.objects.exists()
    for scope in _scopes():
        rows, median = selectors.meetings_and_median(scope)
        expected_reps, expected_median = _meetings_from_the_chats(scope)
        assert [row["booked"] for row in rows] == sorted((r["booked"] for r in expected_reps.values()), reverse=True)
        got = {row.pop("rep"): row for row in rows}
        assert set(got) == set(expected_reps)
        for name, row in got.items():
            expected = expected_reps[name]
            assert {k: v for k, v in row.items() if k != "median_seconds"} == {
                k: v for k, v in expected.items() if k != "median_seconds"
            }
            assert row["median_seconds"] == pytest.approx(expected["median_seconds"])
        assert median == pytest.approx(expected_median)


def _groups_from_the_chats(scope: Scope) -> dict[str, dict]:
    messages = Message.objects.filter(
        scope.conversation_q("conversation__"), sender=Message.Sender.VISITOR, intent__in=FALLBACK_INTENTS
    )
    groups: dict[str, dict] = {}
    for text, created_at in messages.values_list("text", "created_at"):
        group = groups.setdefault(
            not_understood.normalise(text), {"messages": 0, "texts": set(), "last_seen": created_at}
        )
        group["messages"] += 1
        group["texts"].add(text)
        group["last_seen"] = max(group["last_seen"], created_at)
    return groups


def test_not_understood_groups_equal_the_chats(generated):
    for scope in _scopes():
        groups = not_understood.fallback_groups(scope)
        expected = _groups_from_the_chats(scope)
        assert groups and len(groups) == len(expected)
        assert [g["messages"] for g in groups] == sorted((g["messages"] for g in groups), reverse=True)
        for group in groups:
            want = expected[group["normalised"]]
            assert (group["messages"], group["variants"], group["last_seen"]) == (
                want["messages"],
                len(want["texts"]),
                want["last_seen"],
            )
            assert set(group["examples"]) <= want["texts"]
            assert len(group["examples"]) == min(len(want["texts"]), not_understood.EXAMPLES_PER_GROUP)


def test_an_anonymised_conversations_texts_leave_the_not_understood_page(generated):
    scope = _scopes()[0]
    message = Message.objects.filter(sender=Message.Sender.VISITOR, intent__in=FALLBACK_INTENTS).first()
    text = message.text
    holding = Message.objects.filter(sender=Message.Sender.VISITOR, intent__in=FALLBACK_INTENTS, text=text)
    conversations_anonymise(conversation_ids=set(holding.values_list("conversation_id", flat=True)))
    groups = not_understood.fallback_groups(scope)
    assert not any(text in group["examples"] for group in groups)
    assert sum(g["messages"] for g in groups) == sum(g["messages"] for g in _groups_from_the_chats(scope).values())


@pytest.mark.parametrize("rollups_built", [True, False])
def test_the_lists_filter_choices_for_marketing_equal_the_chats(generated, rollups_built):
    marketing = User.objects.create_superuser("boss", "boss@example.com", "pw")
    if not rollups_built:  # a fresh install before the first refresh: counted from the conversations
        RollupState.objects.all().delete()
    for expression, column in [
        (utm_value("utm_source"), "utm_source"),
        (utm_value("utm_campaign"), "utm_campaign"),
        (UrlWithoutQuery("page_url"), "landing_page"),
    ]:
        counts = Counter(
            Conversation.objects.annotate(choice=expression).exclude(choice="").values_list("choice", flat=True)
        )
        choices = frequent_values(user=marketing, expression=expression, rollup_column=column)
        assert choices
        # Most frequent first; ties may come in either order, so compare the counts and the set.
        assert [counts[value] for value, _ in choices] == sorted(counts.values(), reverse=True)[:FILTER_CHOICES]
        if len(counts) <= FILTER_CHOICES:
            assert {value for value, _ in choices} == set(counts)
