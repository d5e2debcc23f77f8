"""SQL expressions the analytics share: a conversation's source and how far it got.

They are the definitions of the dashboard's figures. The rollups (analytics/rollups.py)
evaluate them once per conversation when a day's figures are recomputed; the admin's
conversation filters use the same URL expressions, so a filter and a dashboard row agree.
"""

from django.db.models import CharField, Exists, FloatField, Func, OuterRef, Q, Value
from django.db.models.aggregates import Aggregate
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from chatbot.models import Message
from qualification.models import Lead
from scheduling.models import Meeting, SlotOffer

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")


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


class MedianOf(Aggregate):
    """Median of a number (PostgreSQL's percentile_cont)."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


# --- A conversation's source (on Conversation querysets) ---------------------------------------

SOURCE_DIMENSIONS = {
    "utm": "UTM source / medium / campaign",
    "referrer": "Referrer host",
    "landing": "Landing page",
}
SOURCE_FIELDS = {
    "utm": ["utm_source", "utm_medium", "utm_campaign"],
    "referrer": ["referrer_host"],
    "landing": ["landing_page"],
}


def utm_value(key: str) -> Coalesce:
    """One UTM tag of a conversation (``utm_source``, ...), '' when it has none."""
    return Coalesce(KT(f"utm__{key}"), Value(""), output_field=CharField())


def source_fields() -> dict:
    """Every source column of a conversation, by name."""
    return {
        "utm_source": utm_value("utm_source"),
        "utm_medium": utm_value("utm_medium"),
        "utm_campaign": utm_value("utm_campaign"),
        "referrer_host": UrlHost("referrer"),
        "landing_page": UrlWithoutQuery("page_url"),
    }


# --- How far a conversation got (conditions on Conversation querysets) ---------------------------

FUNNEL_STEPS = [
    ("started", "Conversations started"),
    ("engaged", "Visitor engaged (sent a message)"),
    ("finished", "Qualification finished"),
    ("qualified", "Qualified"),
    ("offered", "Slots offered"),
    ("booked", "Meeting booked"),
    ("held", "Meeting held"),
]


def has_meeting(**filters) -> Exists:
    """The conversation has a meeting (matching ``filters``, e.g. status or rep_id)."""
    return Exists(Meeting.objects.filter(conversation=OuterRef("pk"), **filters))


def conversation_flags() -> dict:
    """Each funnel step past "started", plus the decided outcomes, as a condition on a conversation.

    - engaged: the visitor sent at least one message;
    - finished: qualification came to a decision (a lead with a decision, or an outcome other
      than incomplete);
    - offered / booked / held: slots were offered, a meeting exists (any status now), one was held.
    """
    outcome = Lead.Outcome
    return {
        "engaged": Exists(Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.VISITOR)),
        "finished": Q(lead__isnull=False) & (Q(lead__decided_at__isnull=False) | ~Q(lead__outcome=outcome.INCOMPLETE)),
        "qualified": Q(lead__outcome=outcome.QUALIFIED),
        "nurture": Q(lead__outcome=outcome.NURTURE),
        "disqualified": Q(lead__outcome=outcome.DISQUALIFIED),
        "offered": Exists(SlotOffer.objects.filter(conversation=OuterRef("pk"))),
        "booked": has_meeting(),
        "held": has_meeting(status=Meeting.Status.HELD),
    }
