"""Daily rollups: the dashboard's counts per bucket, kept up to date from the chats.

A bucket is the conversations that started on one UTC day on one site. Computing the dashboard
straight from the chats reads every conversation and message in the range (about 2 s for 90 days
of 100,000 conversations and a million messages); summing the rollups' rows for the same range
reads a few thousand rows.

How the rollups stay right:
- A bucket is always recomputed whole, from the chats, with the definitions in
  analytics/expressions.py; no row is ever patched with a +1, so a missed or repeated refresh
  cannot leave a wrong count behind.
- ``refresh()`` recomputes the buckets of the conversations that changed since the previous
  refresh: a message (Conversation.last_activity_at), a lead (updated_at), a slot offer
  (created_at), a meeting (updated_at). It looks REFRESH_OVERLAP further back than the previous
  refresh, so a change whose transaction committed a little late is still seen.
- Deleting a conversation, lead, meeting or slot offer marks its bucket stale in the same
  transaction (analytics/signals.py), and so does anonymising a conversation (its texts leave
  the not-understood rollup); the next refresh takes the marks in.
- Writers that set old timestamps on purpose (the demo data generator) pass what they wrote.

Who refreshes: the worker every minute (CELERY_BEAT_SCHEDULE) and the dashboard before it reads,
so the page is current even without a worker (the embedded default); a refresh usually finds only
the last minute's conversations. The RollupState row is locked while a refresh runs, so refreshes
take turns. The number of queries of a refresh does not depend on the amount of data.
"""

import datetime as dt

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from analytics.expressions import FALLBACK_INTENTS, conversation_flags, source_fields
from analytics.models import (
    DailyConversationStat,
    DailyFallbackText,
    DailyIntentStat,
    DailyMeetingStat,
    DailyQuestionStat,
    RollupState,
    StaleBucket,
)
from chatbot.models import Conversation, Message
from scheduling.models import Meeting

UTC = dt.timezone.utc
REFRESH_OVERLAP = dt.timedelta(minutes=5)
ROLLUP_MODELS = (DailyConversationStat, DailyQuestionStat, DailyIntentStat, DailyMeetingStat, DailyFallbackText)

Bucket = tuple[int, dt.date]  # (site id, UTC day the conversations started)


def start_day(prefix: str = "") -> TruncDate:
    return TruncDate(f"{prefix}started_at", tzinfo=UTC)


def refresh(*, conversations: QuerySet[Conversation] | None = None, full: bool = False) -> int | None:
    """Bring the rollups up to date; returns how many buckets were recomputed (None: all of them).

    ``conversations``: recompute their buckets too, whatever their timestamps say.
    ``full``: recompute everything (also what happens the first time).
    """
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        stale = _take_stale_buckets()  # taken in either case: a full rebuild covers them too
        buckets = None
        if not full and state.refreshed_up_to is not None:
            buckets = _changed_buckets(state.refreshed_up_to - REFRESH_OVERLAP) | stale
            if conversations is not None:
                buckets |= _buckets_of(conversations)
        if buckets is None or buckets:
            _recompute(buckets)
        state.refreshed_up_to = now
        state.save(update_fields=["refreshed_up_to"])
    return None if buckets is None else len(buckets)


def mark_stale(buckets: set[Bucket]) -> None:
    """Have the next refresh recompute these buckets (part of the caller's transaction)."""
    StaleBucket.objects.bulk_create([StaleBucket(site_id=site_id, day=day) for site_id, day in buckets])


def mark_conversations_stale(conversations: QuerySet[Conversation]) -> None:
    """Have the next refresh recompute these conversations' buckets (a change no watched timestamp shows)."""
    mark_stale(_buckets_of(conversations))


def bucket_of(conversation: Conversation) -> Bucket:
    return conversation.site_id, conversation.started_at.astimezone(UTC).date()


# --- Which buckets changed -------------------------------------------------------------------------


def _bucket_keys(conversations: QuerySet[Conversation]) -> QuerySet:
    return conversations.order_by().annotate(bucket_day=start_day()).values_list("site_id", "bucket_day")


def _buckets_of(conversations: QuerySet[Conversation]) -> set[Bucket]:
    return set(_bucket_keys(conversations))


def _changed_buckets(since: dt.datetime) -> set[Bucket]:
    """Buckets of the conversations that changed since ``since``, in one query (each part uses an index)."""
    changed = [
        Q(last_activity_at__gte=since),
        Q(lead__updated_at__gte=since),
        Q(meetings__updated_at__gte=since),
        Q(slot_offers__created_at__gte=since),
    ]
    parts = [_bucket_keys(Conversation.objects.filter(q)) for q in changed]
    return set(parts[0].union(*parts[1:]))


def _take_stale_buckets() -> set[Bucket]:
    table = connection.ops.quote_name(StaleBucket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} RETURNING site_id, day")
        return {(site_id, _as_date(day)) for site_id, day in cursor.fetchall()}


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)  # SQLite returns text


def _bucket_q(buckets: set[Bucket], *, prefix: str = "") -> Q:
    """Conversations (at ``prefix``) in these buckets: per day, a started_at range and the sites."""
    sites_by_day: dict[dt.date, list[int]] = {}
    for site_id, day in sorted(buckets):
        sites_by_day.setdefault(day, []).append(site_id)
    q = Q()
    for day, sites in sites_by_day.items():
        begins = dt.datetime.combine(day, dt.time.min, tzinfo=UTC)
        q |= Q(
            **{
                f"{prefix}started_at__gte": begins,
                f"{prefix}started_at__lt": begins + dt.timedelta(days=1),
                f"{prefix}site_id__in": sites,
            }
        )
    return q


def _rollup_q(buckets: set[Bucket]) -> Q:
    q = Q()
    for site_id, day in buckets:
        q |= Q(site_id=site_id, day=day)
    return q


# --- Recomputing buckets ------------------------------------------------------------------------------


def _recompute(buckets: set[Bucket] | None) -> None:
    """Replace the rows of these buckets (None: of all buckets) with counts from the chats."""
    conversations = Conversation.objects.order_by()
    messages = Message.objects.order_by()
    meetings = Meeting.objects.filter(conversation__isnull=False).order_by()  # erasure keeps meetings, not chats
    if buckets is not None:
        conversations = conversations.filter(_bucket_q(buckets))
        messages = messages.filter(_bucket_q(buckets, prefix="conversation__"))
        meetings = meetings.filter(_bucket_q(buckets, prefix="conversation__"))
    for model in ROLLUP_MODELS:
        model.objects.filter(_rollup_q(buckets) if buckets is not None else Q()).delete()
    _insert(DailyConversationStat, *_conversation_stats(conversations).query.sql_with_params())
    _insert(DailyQuestionStat, *_question_stats_sql(conversations))
    _insert(DailyIntentStat, *_intent_stats(messages).query.sql_with_params())
    _insert(DailyMeetingStat, *_meeting_stats(meetings).query.sql_with_params())
    _insert(DailyFallbackText, *_fallback_texts(messages).query.sql_with_params())


def _insert(model, select_sql: str, params) -> None:
    """INSERT the rows of a SELECT whose columns are named ``r_<field>`` into the model's table."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    aliases = ", ".join(quote(f"r_{f.attname}") for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT {aliases} FROM ({select_sql}) AS rollup",
            params,
        )


def _conversation_stats(conversations: QuerySet[Conversation]) -> QuerySet:
    """Per bucket and source: conversations, and how many reached each step (expressions.conversation_flags)."""
    groups = {
        "r_site_id": F("site_id"),
        "r_day": start_day(),
        **{f"r_{name}": expression for name, expression in source_fields().items()},
    }
    counts = {"r_conversations": Count("pk")}
    counts.update({f"r_{flag}": Count("pk", filter=condition) for flag, condition in conversation_flags().items()})
    return conversations.annotate(**groups).values(*groups).annotate(**counts)


def _intent_stats(messages: QuerySet[Message]) -> QuerySet:
    """Per bucket, day sent and intent: visitor messages, fallbacks, and their confidences' sum and count."""
    groups = {
        "r_site_id": F("conversation__site_id"),
        "r_day": start_day("conversation__"),
        "r_message_day": TruncDate("created_at", tzinfo=UTC),
        "r_intent": F("intent"),
    }
    return (
        messages.filter(sender=Message.Sender.VISITOR)
        .annotate(**groups)
        .values(*groups)
        .annotate(
            r_messages=Count("pk"),
            r_fallbacks=Count("pk", filter=Q(intent__in=FALLBACK_INTENTS)),
            r_confidence_sum=Coalesce(Sum("confidence"), Value(0.0), output_field=FloatField()),
            r_confidence_count=Count("confidence"),
        )
    )


def _fallback_texts(messages: QuerySet[Message]) -> QuerySet:
    """Per bucket and exact text: the visitor messages the bot did not understand, and the last one's time."""
    groups = {"r_site_id": F("conversation__site_id"), "r_day": start_day("conversation__"), "r_text": F("text")}
    return (
        messages.filter(sender=Message.Sender.VISITOR, intent__in=FALLBACK_INTENTS)
        .annotate(**groups)
        .values(*groups)
        .annotate(r_messages=Count("pk"), r_last_seen=Max("created_at"))
    )


class _Seconds(Func):
    """An interval in seconds (PostgreSQL; the median it feeds exists only there)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, **extra)


def _meeting_stats(meetings: QuerySet[Meeting]) -> QuerySet:
    """One row per meeting: bucket, rep, status, and seconds from the visitor's first message to the booking."""
    first_visitor_message = (
        Message.objects.filter(conversation=OuterRef("conversation"), sender=Message.Sender.VISITOR)
        .order_by("created_at")  # read off the (conversation, sender, created_at) index, no sort
        .values("created_at")[:1]
    )
    return meetings.values(
        r_site_id=F("conversation__site_id"),
        r_day=start_day("conversation__"),
        r_rep_id=F("rep_id"),
        r_status=F("status"),
        r_seconds_to_book=_Seconds(F("created_at") - Subquery(first_visitor_message)),
    )


_QUESTION_STATS_SQL = """
WITH per_slot AS (
    -- One row per conversation and question asked (first and last time asked), plus one row
    -- per conversation with slot '' for the visitor's messages (first and last).
    SELECT m.conversation_id, c.r_site_id AS site_id, c.r_day AS day,
           CASE WHEN m.sender = 'visitor' THEN '' ELSE m.asked_slot END AS slot,
           min(m.created_at) AS first_at,
           max(m.created_at) AS last_at
    FROM chatbot_message m
    JOIN ({conversations}) AS c ON c.r_id = m.conversation_id
    WHERE m.sender = 'visitor' OR (m.sender = 'bot' AND m.asked_slot <> '')
    GROUP BY 1, 2, 3, 4
),
marked AS (
    -- The conversation's last visitor message and last question, beside each row (no re-grouping).
    SELECT site_id, day, slot, first_at, last_at,
           max(last_at) FILTER (WHERE slot = '') OVER conversation AS last_visitor,
           max(last_at) FILTER (WHERE slot <> '') OVER conversation AS last_ask
    FROM per_slot
    WINDOW conversation AS (PARTITION BY conversation_id)
)
SELECT site_id AS r_site_id, day AS r_day, slot AS r_question,
       count(*) AS r_asked,
       count(*) FILTER (WHERE last_visitor > first_at) AS r_answered,
       count(*) FILTER (WHERE last_at = last_ask AND (last_visitor IS NULL OR last_visitor < last_ask)) AS r_left_there
FROM marked
WHERE slot <> ''
GROUP BY site_id, day, slot
"""


def _question_stats_sql(conversations: QuerySet[Conversation]) -> tuple[str, tuple]:
    """Per bucket and form question the bot asked (Message.asked_slot): conversations asked, answered, left there.

    - asked: the bot asked it at least once;
    - answered: a visitor message came after (the first time) it was asked;
    - left there: it was the last question asked and the visitor never wrote after it.

    One pass over the conversations' messages (PostgreSQL and SQLite ≥ 3.30).
    """
    keys = conversations.annotate(r_id=F("pk"), r_site_id=F("site_id"), r_day=start_day())
    sql, params = keys.values("r_id", "r_site_id", "r_day").query.sql_with_params()
    return _QUESTION_STATS_SQL.format(conversations=sql), params
