"""Reads behind the marketing dashboard: every figure is an aggregate query in the database.

Each selector takes a ``Scope`` (a date range of conversation start dates, in UTC, and
optionally one site) and runs one query, whatever the amount of data. Every figure
is about the conversations that *started* in the range (a cohort), so the funnel's
steps, the drop-offs and the sources add up with each other.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.aggregates import Aggregate
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncDate

from chatbot.models import Conversation, Message
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")


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


def conversations_in(scope: Scope) -> QuerySet[Conversation]:
    return Conversation.objects.filter(scope.conversation_q()).order_by()


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# --- SQL helpers ---------------------------------------------------------------


class UrlHost(Func):
    """The host of a URL ('' when there is none): https://www.google.com/search?q=x -> www.google.com."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"lower(coalesce(substring({sql} from '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)'), ''))", params

    def as_sql(self, compiler, connection, **extra):
        # Portable (SQLite): cut the scheme, then everything from the first '/', then the port.
        sql, params = compiler.compile(self.source_expressions[0])
        rest = f"(CASE WHEN instr({sql}, '://') > 0 THEN substr({sql}, instr({sql}, '://') + 3) ELSE '' END)"
        hostport = f"(CASE WHEN instr({rest}, '/') > 0 THEN substr({rest}, 1, instr({rest}, '/') - 1) ELSE {rest} END)"
        host = f"(CASE WHEN instr({hostport}, ':') > 0 THEN substr({hostport}, 1, instr({hostport}, ':') - 1) ELSE {hostport} END)"
        return f"lower({host})", params * 9


class UrlWithoutQuery(Func):
    """A URL without its query string or fragment (a landing page, whatever the UTM tags)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"split_part(split_part({sql}, '?', 1), '#', 1)", params

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        cut = f"(CASE WHEN instr({sql}, '?') > 0 THEN substr({sql}, 1, instr({sql}, '?') - 1) ELSE {sql} END)"
        return (
            f"(CASE WHEN instr({cut}, '#') > 0 THEN substr({cut}, 1, instr({cut}, '#') - 1) ELSE {cut} END)",
            params * 6,
        )


class Median(Aggregate):
    """Median of an interval, in seconds (PostgreSQL's percentile_cont)."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


def median_supported() -> bool:
    return connection.vendor == "postgresql"


def _has_visitor_message() -> Exists:
    return Exists(Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.VISITOR))


def _has_slot_offer() -> Exists:
    return Exists(SlotOffer.objects.filter(conversation=OuterRef("pk")))


def _has_meeting(**filters) -> Exists:
    return Exists(Meeting.objects.filter(conversation=OuterRef("pk"), **filters))


# --- The funnel ------------------------------------------------------------------

FUNNEL_STEPS = [
    ("started", "Conversations started"),
    ("engaged", "Visitor engaged (sent a message)"),
    ("finished", "Qualification finished"),
    ("qualified", "Qualified"),
    ("offered", "Slots offered"),
    ("booked", "Meeting booked"),
    ("held", "Meeting held"),
]


def _finished() -> Q:
    return Q(lead__isnull=False) & (Q(lead__decided_at__isnull=False) | ~Q(lead__outcome=Lead.Outcome.INCOMPLETE))


def funnel(scope: Scope) -> list[dict]:
    """One row per step: count, % of the previous step, % of conversations started."""
    counts = conversations_in(scope).aggregate(
        started=Count("pk"),
        engaged=Count("pk", filter=_has_visitor_message()),
        finished=Count("pk", filter=_finished()),
        qualified=Count("pk", filter=Q(lead__outcome=Lead.Outcome.QUALIFIED)),
        offered=Count("pk", filter=_has_slot_offer()),
        booked=Count("pk", filter=_has_meeting()),
        held=Count("pk", filter=_has_meeting(status=Meeting.Status.HELD)),
    )
    return _funnel_rows(counts)


def _funnel_rows(counts: dict) -> list[dict]:
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


_DROP_OFF_SQL = """
WITH per_slot AS (
    -- One row per conversation and question asked (first and last time asked), plus one row
    -- per conversation with slot '' for the visitor's messages (first and last).
    SELECT m.conversation_id,
           CASE WHEN m.sender = 'visitor' THEN '' ELSE m.asked_slot END AS slot,
           min(m.created_at) AS first_at,
           max(m.created_at) AS last_at
    FROM chatbot_message m
    WHERE m.conversation_id IN ({conversations})
      AND (m.sender = 'visitor' OR (m.sender = 'bot' AND m.asked_slot <> ''))
    GROUP BY 1, 2
),
marked AS (
    -- The conversation's last visitor message and last question, beside each row (no re-grouping).
    SELECT slot, first_at, last_at,
           max(last_at) FILTER (WHERE slot = '') OVER conversation AS last_visitor,
           max(last_at) FILTER (WHERE slot <> '') OVER conversation AS last_ask
    FROM per_slot
    WINDOW conversation AS (PARTITION BY conversation_id)
)
SELECT slot,
       count(*) AS asked,
       count(*) FILTER (WHERE last_visitor > first_at) AS answered,
       count(*) FILTER (WHERE last_at = last_ask AND (last_visitor IS NULL OR last_visitor < last_ask)) AS left_there
FROM marked
WHERE slot <> ''
GROUP BY slot
ORDER BY asked DESC, slot
"""


def drop_off(scope: Scope) -> list[dict]:
    """For each form question the bot asked (Message.asked_slot): conversations asked, answered, left there.

    - asked: the bot asked it at least once;
    - answered: a visitor message came after (the first time) it was asked;
    - left there: it was the last question asked and the visitor never wrote after it
      (the conversation ended on it).

    One pass over the conversations' messages (PostgreSQL and SQLite ≥ 3.30).
    """
    conversations_sql, params = conversations_in(scope).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_DROP_OFF_SQL.format(conversations=conversations_sql), params)
        rows = cursor.fetchall()
    return [
        {"question": slot, "asked": asked, "answered": answered, "left": left, "left_rate": _rate(left, asked)}
        for slot, asked, answered, left in rows
    ]


# --- Sources ------------------------------------------------------------------------------

SOURCE_DIMENSIONS = {
    "utm": "UTM source / medium / campaign",
    "referrer": "Referrer host",
    "landing": "Landing page",
}
SOURCE_ROW_LIMIT = 50


def _source_group_fields(dimension: str) -> dict:
    if dimension == "utm":
        return {
            "utm_source": Coalesce(KT("utm__utm_source"), Value(""), output_field=CharField()),
            "utm_medium": Coalesce(KT("utm__utm_medium"), Value(""), output_field=CharField()),
            "utm_campaign": Coalesce(KT("utm__utm_campaign"), Value(""), output_field=CharField()),
        }
    if dimension == "referrer":
        return {"referrer_host": UrlHost("referrer")}
    if dimension == "landing":
        return {"landing_page": UrlWithoutQuery("page_url")}
    raise ValueError(f"unknown source dimension {dimension!r}")


def by_source(scope: Scope, dimension: str) -> list[dict]:
    """Outcomes and meetings per source, the biggest sources first (at most SOURCE_ROW_LIMIT rows)."""
    groups = _source_group_fields(dimension)
    outcome = Lead.Outcome
    rows = (
        conversations_in(scope)
        .annotate(**groups)
        .values(*groups)
        .annotate(
            conversations=Count("pk"),
            qualified=Count("pk", filter=Q(lead__outcome=outcome.QUALIFIED)),
            nurture=Count("pk", filter=Q(lead__outcome=outcome.NURTURE)),
            disqualified=Count("pk", filter=Q(lead__outcome=outcome.DISQUALIFIED)),
            booked=Count("pk", filter=_has_meeting()),
            held=Count("pk", filter=_has_meeting(status=Meeting.Status.HELD)),
        )
        .order_by("-conversations", *groups)[:SOURCE_ROW_LIMIT]
    )
    return [_source_row(dict(row)) for row in rows]


def _source_row(row: dict) -> dict:
    row["qualified_rate"] = _rate(row["qualified"], row["conversations"])
    row["booked_rate"] = _rate(row["booked"], row["conversations"])
    return row


# --- Funnel and sources in one pass (PostgreSQL) -------------------------------------------------

_FUNNEL_FLAGS = ["engaged", "finished", "qualified", "nurture", "disqualified", "offered", "booked", "held"]
_SOURCE_FIELDS = {
    "utm": ["utm_source", "utm_medium", "utm_campaign"],
    "referrer": ["referrer_host"],
    "landing": ["landing_page"],
}

_FUNNEL_AND_SOURCES_SQL = """
SELECT GROUPING(utm_source) AS g_utm, GROUPING(referrer_host) AS g_referrer, GROUPING(landing_page) AS g_landing,
       utm_source, utm_medium, utm_campaign, referrer_host, landing_page,
       count(*) AS conversations,
       {flag_counts}
FROM ({facts}) AS facts
GROUP BY GROUPING SETS ((), (utm_source, utm_medium, utm_campaign), (referrer_host), (landing_page))
"""


def funnel_and_sources(scope: Scope) -> tuple[list[dict], dict[str, list[dict]]]:
    """``funnel`` and ``by_source`` for every dimension from one scan of the conversations.

    The per-conversation facts are the same ORM expressions as in ``funnel``/``by_source``;
    PostgreSQL's GROUPING SETS then counts them per step and per source at once.
    Other databases run the separate queries.
    """
    if connection.vendor != "postgresql":
        return funnel(scope), {d: by_source(scope, d) for d in SOURCE_DIMENSIONS}
    outcome = Lead.Outcome
    sources = {}
    for dimension in SOURCE_DIMENSIONS:
        sources.update(_source_group_fields(dimension))
    facts = (
        conversations_in(scope)
        .annotate(
            **sources,
            engaged=_has_visitor_message(),
            finished=Case(When(_finished(), then=Value(True)), default=Value(False), output_field=BooleanField()),
            qualified=Case(When(lead__outcome=outcome.QUALIFIED, then=Value(True)), default=Value(False)),
            nurture=Case(When(lead__outcome=outcome.NURTURE, then=Value(True)), default=Value(False)),
            disqualified=Case(When(lead__outcome=outcome.DISQUALIFIED, then=Value(True)), default=Value(False)),
            offered=_has_slot_offer(),
            booked=_has_meeting(),
            held=_has_meeting(status=Meeting.Status.HELD),
        )
        .values(*sources, *_FUNNEL_FLAGS)
    )
    facts_sql, params = facts.query.sql_with_params()
    flag_counts = ",\n       ".join(f"count(*) FILTER (WHERE {flag}) AS {flag}" for flag in _FUNNEL_FLAGS)
    with connection.cursor() as cursor:
        cursor.execute(_FUNNEL_AND_SOURCES_SQL.format(facts=facts_sql, flag_counts=flag_counts), params)
        columns = [c.name for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    grouped: dict[str, list[dict]] = {d: [] for d in SOURCE_DIMENSIONS}
    counts = {"started": 0, **{flag: 0 for flag in _FUNNEL_FLAGS}}
    for row in rows:
        sets = (row["g_utm"], row["g_referrer"], row["g_landing"])
        if sets == (1, 1, 1):
            counts = {"started": row["conversations"], **{flag: row[flag] for flag in _FUNNEL_FLAGS}}
            continue
        dimension = {(0, 1, 1): "utm", (1, 0, 1): "referrer", (1, 1, 0): "landing"}[sets]
        keep = ["conversations", "qualified", "nurture", "disqualified", "booked", "held"]
        grouped[dimension].append(
            _source_row({**{f: row[f] for f in _SOURCE_FIELDS[dimension]}, **{k: row[k] for k in keep}})
        )
    for dimension, items in grouped.items():
        fields = _SOURCE_FIELDS[dimension]
        items.sort(key=lambda r: (-r["conversations"], *[r[f] for f in fields]))
        grouped[dimension] = items[:SOURCE_ROW_LIMIT]
    return _funnel_rows(counts), grouped


# --- Reps and time to meeting --------------------------------------------------------------


def _meetings_in(scope: Scope) -> QuerySet[Meeting]:
    return Meeting.objects.filter(scope.conversation_q("conversation__")).order_by()


def _time_to_booking():
    first_visitor_message = (
        Message.objects.filter(conversation=OuterRef("conversation"), sender=Message.Sender.VISITOR)
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    return F("created_at") - Subquery(first_visitor_message)


def meetings_by_rep(scope: Scope) -> list[dict]:
    """Meetings booked per rep (any status now), by status, with the median time to book (PostgreSQL)."""
    status = Meeting.Status
    aggregates = {
        "booked": Count("pk"),
        "held": Count("pk", filter=Q(status=status.HELD)),
        "no_show": Count("pk", filter=Q(status=status.NO_SHOW)),
        "cancelled": Count("pk", filter=Q(status=status.CANCELLED)),
        "upcoming": Count("pk", filter=Q(status=status.BOOKED)),
    }
    if median_supported():
        aggregates["median_seconds"] = Median(_time_to_booking())
    rows = _meetings_in(scope).values("rep_id", "rep__name").annotate(**aggregates).order_by("-booked", "rep__name")
    return [
        {
            "rep": row["rep__name"],
            "booked": row["booked"],
            "held": row["held"],
            "no_show": row["no_show"],
            "cancelled": row["cancelled"],
            "upcoming": row["upcoming"],
            "median_seconds": row.get("median_seconds"),
        }
        for row in rows
    ]


def median_time_to_booking(scope: Scope) -> float | None:
    """Median seconds from a visitor's first message to the meeting being booked; None if unknown."""
    if not median_supported():
        return None
    return _meetings_in(scope).aggregate(median=Median(_time_to_booking()))["median"]


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


# --- Intents and fallback rate ---------------------------------------------------------------------


def _visitor_messages_in(scope: Scope) -> QuerySet[Message]:
    return Message.objects.filter(scope.conversation_q("conversation__"), sender=Message.Sender.VISITOR).order_by()


def intents(scope: Scope) -> list[dict]:
    """Intents of visitor messages, most frequent first, with their mean confidence."""
    rows = (
        _visitor_messages_in(scope)
        .values("intent")
        .annotate(messages=Count("pk"), mean_confidence=Avg("confidence"))
        .order_by("-messages", "intent")
    )
    total = sum(row["messages"] for row in rows)
    return [
        {
            "intent": row["intent"] or "(none)",
            "messages": row["messages"],
            "share": _rate(row["messages"], total),
            "mean_confidence": None if row["mean_confidence"] is None else round(row["mean_confidence"], 3),
        }
        for row in rows
    ]


def fallback_rate_by_day(scope: Scope) -> list[dict]:
    """Per UTC day: visitor messages, those the bot did not understand, and their share."""
    rows = (
        _visitor_messages_in(scope)
        .annotate(day=TruncDate("created_at", tzinfo=dt.timezone.utc))
        .values("day")
        .annotate(messages=Count("pk"), fallbacks=Count("pk", filter=Q(intent__in=FALLBACK_INTENTS)))
        .order_by("day")
    )
    return [
        {
            "day": row["day"],
            "messages": row["messages"],
            "fallbacks": row["fallbacks"],
            "fallback_rate": _rate(row["fallbacks"], row["messages"]),
        }
        for row in rows
    ]


_INTENTS_AND_DAYS_SQL = """
SELECT GROUPING(intent) AS g_intent, intent, day,
       count(*) AS messages, avg(confidence) AS mean_confidence, count(*) FILTER (WHERE is_fallback) AS fallbacks
FROM ({messages}) AS visitor_messages
GROUP BY GROUPING SETS ((intent), (day))
"""


def intents_and_fallback_days(scope: Scope) -> tuple[list[dict], list[dict]]:
    """``intents`` and ``fallback_rate_by_day`` from one scan of the visitor messages (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return intents(scope), fallback_rate_by_day(scope)
    messages = (
        _visitor_messages_in(scope)
        .annotate(
            day=TruncDate("created_at", tzinfo=dt.timezone.utc),
            is_fallback=Case(When(intent__in=FALLBACK_INTENTS, then=Value(True)), default=Value(False)),
        )
        .values("intent", "confidence", "day", "is_fallback")
    )
    sql, params = messages.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_INTENTS_AND_DAYS_SQL.format(messages=sql), params)
        rows = cursor.fetchall()
    intent_rows = [r for r in rows if r[0] == 0]
    day_rows = sorted((r for r in rows if r[0] == 1), key=lambda r: r[2])
    intent_rows.sort(key=lambda r: (-r[3], r[1]))
    total = sum(r[3] for r in intent_rows)
    return (
        [
            {
                "intent": intent or "(none)",
                "messages": n,
                "share": _rate(n, total),
                "mean_confidence": None if mean is None else round(float(mean), 3),
            }
            for _, intent, _, n, mean, _ in intent_rows
        ],
        [
            {"day": day, "messages": n, "fallbacks": fallbacks, "fallback_rate": _rate(fallbacks, n)}
            for _, _, day, n, _, fallbacks in day_rows
        ],
    )


def dashboard(scope: Scope) -> dict:
    """Every table of the dashboard (a fixed number of queries: five on PostgreSQL)."""
    funnel_rows, sources = funnel_and_sources(scope)
    intent_rows, fallback_days = intents_and_fallback_days(scope)
    return {
        "funnel": funnel_rows,
        "drop_off": drop_off(scope),
        "sources": sources,
        "reps": meetings_by_rep(scope),
        "median_seconds": median_time_to_booking(scope),
        "median_supported": median_supported(),
        "intents": intent_rows,
        "fallback_days": fallback_days,
    }
