"""Reads behind the marketing dashboard: every figure is an aggregate query in the database.

Each selector takes a ``Scope`` (a date range of conversation start dates, in UTC, and
optionally one site) and runs one query, whatever the amount of data. Every figure
is about the conversations that *started* in the range (a cohort), so the funnel's
steps, the drop-offs and the sources add up with each other.

The funnel, drop-offs, sources, intents and the per-rep meetings read the daily rollups
(analytics/rollups.py, which holds how each figure is defined); ``dashboard`` refreshes them
first. The live-handoff figures read the conversations and takeovers directly.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from analytics import rollups
from analytics.expressions import FUNNEL_STEPS, SOURCE_DIMENSIONS, SOURCE_FIELDS, MedianOf
from analytics.models import DailyConversationStat, DailyIntentStat, DailyMeetingStat, DailyQuestionStat
from chatbot.models import Conversation, Takeover
from scheduling.models import Meeting


@dataclass(frozen=True)
class Scope:
    """Conversations started on ``start``..``end`` (inclusive UTC dates), optionally on one site."""

    start: dt.date
    end: dt.date
    site_id: int | None = None

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.timezone.utc)

    @property
    def end_before(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone.utc)

    def conversation_q(self, prefix: str = "") -> Q:
        q = Q(**{f"{prefix}started_at__gte": self.start_at, f"{prefix}started_at__lt": self.end_before})
        if self.site_id:
            q &= Q(**{f"{prefix}site_id": self.site_id})
        return q


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _buckets_in(model, scope: Scope) -> QuerySet:
    """A rollup's rows for the scope's buckets (conversations started on those days, on that site)."""
    rows = model.objects.filter(day__gte=scope.start, day__lte=scope.end).order_by()
    return rows.filter(site_id=scope.site_id) if scope.site_id else rows


def median_supported() -> bool:
    return connection.vendor == "postgresql"


# --- The funnel ------------------------------------------------------------------


def funnel(scope: Scope) -> list[dict]:
    """One row per step: count, % of the previous step, % of conversations started."""
    steps = {"started": "conversations", **{key: key for key, _ in FUNNEL_STEPS[1:]}}
    counts = _buckets_in(DailyConversationStat, scope).aggregate(
        **{key: Coalesce(Sum(column), 0) for key, column in steps.items()}
    )
    rows, previous = [], None
    for key, label in FUNNEL_STEPS:
        count = counts[key]
        rows.append(
            {
                "step": key,
                "label": label,
                "count": count,
                "rate_from_previous": None if previous is None else _rate(count, previous),
                "rate_from_start": _rate(count, counts["started"]),
            }
        )
        previous = count
    return rows


# --- Drop-off per qualification question --------------------------------------------


def drop_off(scope: Scope) -> list[dict]:
    """For each form question the bot asked: conversations asked, answered, left there (see rollups)."""
    rows = (
        _buckets_in(DailyQuestionStat, scope)
        .values("question")
        .annotate(n_asked=Sum("asked"), n_answered=Sum("answered"), n_left=Sum("left_there"))
        .order_by("-n_asked", "question")
    )
    return [
        {
            "question": row["question"],
            "asked": row["n_asked"],
            "answered": row["n_answered"],
            "left": row["n_left"],
            "left_rate": _rate(row["n_left"], row["n_asked"]),
        }
        for row in rows
    ]


# --- Sources ------------------------------------------------------------------------------

SOURCE_ROW_LIMIT = 50
_SOURCE_COUNTS = ["conversations", "qualified", "nurture", "disqualified", "booked", "held"]


def by_source(scope: Scope, dimension: str) -> list[dict]:
    """Outcomes and meetings per source, the biggest sources first (at most SOURCE_ROW_LIMIT rows)."""
    if dimension not in SOURCE_FIELDS:
        raise ValueError(f"unknown source dimension {dimension!r}")
    fields = SOURCE_FIELDS[dimension]
    rows = (
        _buckets_in(DailyConversationStat, scope)
        .values(*fields)
        .annotate(**{f"n_{count}": Sum(count) for count in _SOURCE_COUNTS})
        .order_by("-n_conversations", *fields)[:SOURCE_ROW_LIMIT]
    )
    return [
        _source_row({**{f: row[f] for f in fields}, **{count: row[f"n_{count}"] for count in _SOURCE_COUNTS}})
        for row in rows
    ]


def _source_row(row: dict) -> dict:
    row["qualified_rate"] = _rate(row["qualified"], row["conversations"])
    row["booked_rate"] = _rate(row["booked"], row["conversations"])
    return row


# --- Reps and time to meeting --------------------------------------------------------------


_MEETING_COUNTS = {
    "booked": "",
    "held": Meeting.Status.HELD,
    "no_show": Meeting.Status.NO_SHOW,
    "cancelled": Meeting.Status.CANCELLED,
    "upcoming": Meeting.Status.BOOKED,
}

# Per rep and for all meetings together in one pass over the scope's rows of the meetings' rollup
# (GROUPING SETS: the reps' rows, then one row for all).
_MEETINGS_SQL = """
SELECT rep_id, rep_name, GROUPING(rep_id, rep_name) AS is_total, {counts},
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_book) AS median_seconds
FROM ({meetings}) AS meetings
GROUP BY GROUPING SETS ((rep_id, rep_name), ())
ORDER BY is_total, booked DESC, rep_name
"""


def meetings_and_median(scope: Scope) -> tuple[list[dict], float | None]:
    """Meetings booked per rep (any status now), by status, with the median time to book; and the median
    time to book of all of them: seconds from a visitor's first message to the meeting being booked
    (PostgreSQL; None elsewhere and when unknown). Read from the meetings' rollup (DailyMeetingStat)."""
    if not median_supported():
        return _meetings_by_rep_counts(scope), None
    meetings = _buckets_in(DailyMeetingStat, scope).values(
        "rep_id", "status", "seconds_to_book", rep_name=F("rep__name")
    )
    sql, params = meetings.query.sql_with_params()
    counts = ", ".join(
        f"count(*) FILTER (WHERE status = %s) AS {name}" if status else f"count(*) AS {name}"
        for name, status in _MEETING_COUNTS.items()
    )
    status_params = [status for status in _MEETING_COUNTS.values() if status]
    with connection.cursor() as cursor:
        cursor.execute(_MEETINGS_SQL.format(counts=counts, meetings=sql), (*status_params, *params))
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    total = next((row for row in rows if row["is_total"]), None)
    reps = [
        {
            "rep": row["rep_name"],
            **{name: row[name] for name in _MEETING_COUNTS},
            "median_seconds": row["median_seconds"],
        }
        for row in rows
        if not row["is_total"]
    ]
    return reps, total["median_seconds"] if total else None


def _meetings_by_rep_counts(scope: Scope) -> list[dict]:
    """meetings_by_rep without the medians (databases without percentile_cont)."""
    aggregates = {
        name: Count("pk", filter=Q(status=status)) if status else Count("pk")
        for name, status in _MEETING_COUNTS.items()
    }
    rows = (
        _buckets_in(DailyMeetingStat, scope)
        .values("rep_id", "rep__name")
        .annotate(**aggregates)
        .order_by("-booked", "rep__name")
    )
    return [
        {"rep": row["rep__name"], **{name: row[name] for name in _MEETING_COUNTS}, "median_seconds": None}
        for row in rows
    ]


def meetings_by_rep(scope: Scope) -> list[dict]:
    """Meetings booked per rep (any status now), by status, with the median time to book (PostgreSQL)."""
    return meetings_and_median(scope)[0]


def median_time_to_booking(scope: Scope) -> float | None:
    """Median seconds from a visitor's first message to the meeting being booked; None if unknown."""
    return meetings_and_median(scope)[1]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# --- Live handoff ---------------------------------------------------------------------------------


def handoffs(scope: Scope) -> dict:
    """Visitors who asked for a person (in conversations of the scope): how many, how many a rep took,
    how many within the site's wait (``Site.handoff_wait_seconds``), how many the bot had to tell nobody
    came, and the median wait until a rep took the chat (first takeover after the request; PostgreSQL)."""
    first_wait = Subquery(
        Takeover.objects.filter(conversation=OuterRef("pk"), waited_seconds__isnull=False)
        .order_by("taken_at")
        .values("waited_seconds")[:1]
    )
    asked = (
        Conversation.objects.filter(scope.conversation_q(), handoff_requested_at__isnull=False)
        .order_by()
        .annotate(wait=first_wait, target=F("site__handoff_wait_seconds"))
    )
    aggregates = {
        "requests": Count("pk"),
        "taken": Count("pk", filter=Q(wait__isnull=False)),
        "within_target": Count("pk", filter=Q(wait__lte=F("target"))),
        "unanswered": Count("pk", filter=Q(handoff_unanswered_at__isnull=False)),
    }
    if median_supported():
        aggregates["median_wait_seconds"] = MedianOf("wait")
    figures = asked.aggregate(**aggregates)
    figures.setdefault("median_wait_seconds", None)
    figures["within_target_rate"] = _rate(figures["within_target"], figures["requests"])
    figures["booked_after_live_chat"] = booked_after_live_chat(scope)
    return figures


def booked_after_live_chat(scope: Scope) -> int:
    """Conversations of the scope with a meeting booked after a rep had taken the chat over (asked for or
    not; any status now, as the funnel's "booked" counts)."""
    taken_before = Takeover.objects.filter(conversation=OuterRef("conversation"), taken_at__lt=OuterRef("created_at"))
    booked_after = Meeting.objects.filter(conversation=OuterRef("pk")).filter(Exists(taken_before))
    return Conversation.objects.filter(scope.conversation_q()).filter(Exists(booked_after)).count()


# --- Intents and fallback rate ---------------------------------------------------------------------


def intents(scope: Scope) -> list[dict]:
    """Intents of visitor messages, most frequent first, with their mean confidence."""
    rows = list(
        _buckets_in(DailyIntentStat, scope)
        .values("intent")
        .annotate(n=Sum("messages"), confidence_sum=Sum("confidence_sum"), confidence_count=Sum("confidence_count"))
        .order_by("-n", "intent")
    )
    total = sum(row["n"] for row in rows)
    return [
        {
            "intent": row["intent"] or "(none)",
            "messages": row["n"],
            "share": _rate(row["n"], total),
            "mean_confidence": (
                round(row["confidence_sum"] / row["confidence_count"], 3) if row["confidence_count"] else None
            ),
        }
        for row in rows
    ]


def fallback_rate_by_day(scope: Scope) -> list[dict]:
    """Per UTC day the messages were sent: visitor messages, those the bot did not understand, their share."""
    rows = (
        _buckets_in(DailyIntentStat, scope)
        .values("message_day")
        .annotate(n=Sum("messages"), n_fallbacks=Sum("fallbacks"))
        .order_by("message_day")
    )
    return [
        {
            "day": row["message_day"],
            "messages": row["n"],
            "fallbacks": row["n_fallbacks"],
            "fallback_rate": _rate(row["n_fallbacks"], row["n"]),
        }
        for row in rows
    ]


def dashboard(scope: Scope) -> dict:
    """Every table of the dashboard, after bringing the rollups up to date (a fixed number of queries)."""
    rollups.refresh()
    reps, median_seconds = meetings_and_median(scope)
    return {
        "funnel": funnel(scope),
        "drop_off": drop_off(scope),
        "sources": {dimension: by_source(scope, dimension) for dimension in SOURCE_DIMENSIONS},
        "reps": reps,
        "median_seconds": median_seconds,
        "median_supported": median_supported(),
        "handoffs": handoffs(scope),
        "intents": intents(scope),
        "fallback_days": fallback_rate_by_day(scope),
    }
