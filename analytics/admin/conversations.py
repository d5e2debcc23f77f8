"""Conversation review in admin: conversations with their transcripts, visitors and messages.

The models are chatbot's (so the pages stay at /admin/chatbot/... with chatbot's permissions),
but the pages are marketing's and sales' reading of them: they filter by lead outcome, rep and
meeting, show only the rows `access.selectors` allows, export CSV and offer the privacy actions,
all of which sit above `chatbot`. Registering them here keeps `chatbot` free of those imports.
"""

import datetime as dt

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

from access.admin import VisibleRepListFilter, VisibleRowsAdminMixin
from access.selectors import (
    sees_everything,
    visible_conversations,
    visible_meetings,
    visible_messages,
    visible_visitors,
)
from analytics.admin.reports import report_transaction
from analytics.expressions import FALLBACK_INTENTS, UrlWithoutQuery, has_meeting, utm_value
from analytics.models import DailyConversationStat, RollupState
from chatbot.models import Conversation, Message, Visitor
from config.csv_export import CSVExportMixin
from privacy.admin_actions import PrivacyActionsMixin
from qualification.models import Lead
from scheduling.models import Meeting
from scheduling.tokens import meeting_links_redact


@admin.register(Visitor)
class VisitorAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    """The token is a bearer secret (it resumes the visitor's chat), so only its first characters are shown."""

    visible_rows = staticmethod(visible_visitors)
    list_display = ("masked_token", "site", "first_seen", "last_seen")
    list_filter = ("site",)
    fields = ("site", "masked_token", "first_seen", "last_seen")
    readonly_fields = fields

    @admin.display(description="token")
    def masked_token(self, visitor: Visitor) -> str:
        return visitor.masked_token


# --- Conversation filters --------------------------------------------------------------------------


class StartedRangeFilter(admin.ListFilter):
    """Date range on started_at (UTC days, inclusive), typed into two date fields."""

    title = "started (UTC)"
    template = "admin/chatbot/conversation/date_range_filter.html"
    parameters = ("started_from", "started_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.values[name] = value[-1] if isinstance(value, list) else value

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        try:
            if self.values.get("started_from"):
                start = dt.date.fromisoformat(self.values["started_from"])
                queryset = queryset.filter(started_at__gte=dt.datetime.combine(start, dt.time.min, dt.timezone.utc))
            if self.values.get("started_to"):
                end = dt.date.fromisoformat(self.values["started_to"]) + dt.timedelta(days=1)
                queryset = queryset.filter(started_at__lt=dt.datetime.combine(end, dt.time.min, dt.timezone.utc))
        except ValueError as exc:
            raise admin.options.IncorrectLookupParameters(exc) from exc
        return queryset

    def choices(self, changelist):
        # The template renders a small GET form; other active filters are kept as hidden fields.
        yield {
            "values": self.values,
            "keep": [
                (k, v)
                for k, v in changelist.get_filters_params().items()
                if k not in self.parameters
                for v in (v if isinstance(v, list) else [v])
            ],
            "query_string": changelist.get_query_string(remove=list(self.parameters)),
        }


FILTER_CHOICES = 30


def frequent_values(*, user, expression, rollup_column: str) -> list[tuple[str, str]]:
    """A filter's choices: the most frequent non-empty values of `expression` among the user's conversations.

    Someone who sees every conversation (marketing) gets them from the daily rollups, whose
    ``rollup_column`` holds the same expression per bucket (analytics/expressions.py): summing a few
    thousand rows instead of grouping every conversation (a second each at a million). They are as of
    the rollups' last refresh (every minute with the worker). Someone who sees only some conversations
    gets them from those conversations, and so does everyone before the rollups' first refresh.
    """
    if sees_everything(user) and RollupState.objects.filter(refreshed_up_to__isnull=False).exists():
        rows = (
            DailyConversationStat.objects.exclude(**{rollup_column: ""})
            .values(choice=F(rollup_column))
            .annotate(n=Sum("conversations"))
            .order_by("-n", "choice")[:FILTER_CHOICES]
        )
        return [(row["choice"], row["choice"]) for row in rows]
    rows = (
        visible_conversations(user=user)
        .annotate(choice=expression)
        .exclude(choice="")
        .values("choice")
        .annotate(n=Count("pk"))
        .order_by("-n", "choice")[:FILTER_CHOICES]
    )
    return [(row["choice"], row["choice"]) for row in rows]


class _JsonKeyFilter(admin.SimpleListFilter):
    """Filter on one key of Conversation.utm; lookups are the 30 most frequent values."""

    key = ""

    def lookups(self, request, model_admin):
        return frequent_values(user=request.user, expression=utm_value(self.key), rollup_column=self.key)

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"utm__{self.key}": self.value()})
        return queryset


class UtmSourceFilter(_JsonKeyFilter):
    title = "UTM source"
    parameter_name = "utm_source"
    key = "utm_source"


class UtmCampaignFilter(_JsonKeyFilter):
    title = "UTM campaign"
    parameter_name = "utm_campaign"
    key = "utm_campaign"


class LandingPageFilter(admin.SimpleListFilter):
    """The landing page without its query string; lookups are the 30 most frequent pages."""

    title = "landing page"
    parameter_name = "landing"

    def lookups(self, request, model_admin):
        return frequent_values(user=request.user, expression=UrlWithoutQuery("page_url"), rollup_column="landing_page")

    def queryset(self, request, queryset):
        if self.value():
            return queryset.alias(landing=UrlWithoutQuery("page_url")).filter(landing=self.value())
        return queryset


class RepFilter(VisibleRepListFilter):
    """Conversations with a meeting (any status) with the rep."""

    def rep_filter(self, rep_id: str) -> Exists:
        return has_meeting(rep_id=rep_id)


class HasMeetingFilter(admin.SimpleListFilter):
    title = "has meeting"
    parameter_name = "has_meeting"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        meeting = has_meeting()
        if self.value() == "yes":
            return queryset.filter(meeting)
        if self.value() == "no":
            return queryset.filter(~meeting)
        return queryset


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [*Lead.Outcome.choices, ("none", "No lead")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(lead__isnull=True)
        if self.value():
            return queryset.filter(lead__outcome=self.value())
        return queryset


def _matching_messages(term: str):
    return Message.objects.filter(text__icontains=term).order_by().values("conversation_id")


def _matching_leads(term: str):
    return (
        Lead.objects.filter(Q(email__icontains=term) | Q(company_name__icontains=term))
        .order_by()
        .values("conversation_id")
    )


def _each_conversation_matches(term: str) -> Q:
    """The conversation has a message or a lead matching ``term``, checked for each conversation read.

    The conversation is matched as a range of one id (>= and <=, the same as =): with a plain = the
    planner turns the check into one hashed set of every match (what a common word must not cost)
    whenever it expects to read many conversations, although the page stops after fifty.
    """
    one = {"conversation_id__gte": OuterRef("pk"), "conversation_id__lte": OuterRef("pk")}
    return Q(Exists(Message.objects.filter(text__icontains=term, **one))) | Q(
        Exists(Lead.objects.filter(Q(email__icontains=term) | Q(company_name__icontains=term), **one))
    )


class AtLeast(int):
    """A count that stopped counting: more than ``limit`` rows. Compares as limit + 1 (more than a page,
    more than "show all" allows); reads "500+" wherever admin prints the count."""

    def __new__(cls, limit: int):
        value = super().__new__(cls, limit + 1)
        value.limit = limit
        return value

    def __str__(self) -> str:
        return f"{self.limit:,}+"


class CountLimitedPaginator(Paginator):
    """Counts at most ``limit`` + 1 rows (a LIMIT inside the COUNT); beyond that the count is AtLeast(limit)."""

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    @cached_property
    def count(self) -> int:
        counted = self.object_list.values("pk")[: self.limit + 1].count()  # the ids only: no column subqueries
        return counted if counted <= self.limit else AtLeast(self.limit)


@admin.register(Conversation)
class ConversationAdmin(PrivacyActionsMixin, CSVExportMixin, VisibleRowsAdminMixin, admin.ModelAdmin):
    visible_rows = staticmethod(visible_conversations)
    list_display = (
        "started",
        "site",
        "lead_email",
        "lead_company",
        "outcome",
        "score",
        "source",
        "landing_page",
        "visitor_messages",
        "rep",
        "meeting_status",
        "handoff_requested",
    )
    list_display_links = ("started",)
    list_filter = (
        StartedRangeFilter,
        "site",
        OutcomeFilter,
        UtmSourceFilter,
        UtmCampaignFilter,
        LandingPageFilter,
        RepFilter,
        HasMeetingFilter,
        "handoff_requested",
    )
    list_select_related = ("site", "lead")
    search_fields = ("lead__email", "lead__company_name", "messages__text")
    search_help_text = "Search by lead email, company or any message text."
    list_per_page = 50
    show_full_result_count = False
    change_form_template = "admin/chatbot/conversation/transcript.html"
    readonly_fields = (
        "public_id",
        "site",
        "visitor",
        "started_at",
        "last_activity_at",
        "page_url",
        "referrer",
        "utm",
        "timezone",
        "status",
        "handoff_requested",
    )

    def get_queryset(self, request):
        # The rep and meeting columns read the latest meeting the user may see.
        latest_meeting = visible_meetings(
            user=request.user, queryset=Meeting.objects.filter(conversation=OuterRef("pk"))
        ).order_by("-created_at", "-pk")
        visitor_messages = (
            Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.VISITOR)
            .order_by()
            .values("conversation")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                rep_name=Subquery(latest_meeting.values("rep__name")[:1]),
                meeting_state=Subquery(latest_meeting.values("status")[:1]),
                visitor_message_count=Coalesce(Subquery(visitor_messages), Value(0)),
                utm_source_value=utm_value("utm_source"),
                utm_campaign_value=utm_value("utm_campaign"),
            )
        )

    def changelist_view(self, request, extra_context=None):
        """The list is read (counted and rendered) under the reports' query settings (no JIT compiling,
        which cost seconds on a search at a million conversations)."""
        if request.method != "GET":
            return super().changelist_view(request, extra_context)
        with report_transaction():
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()  # the page's rows are read while rendering: inside, too
        return response

    # Search (issue 14). A word found in at most SEARCH_RARE_ROWS messages and leads is "rare": its
    # conversations are taken as one set off the trigram indexes, and the count is exact. A common word
    # ("free": 135,000 messages at a million conversations) would make that set cost seconds, since
    # the index cannot hand over a message's conversation without visiting the message. So a common
    # word is checked conversation by conversation instead: with a rare word beside it, only on the
    # rare word's conversations; with common words only, newest first until the page is full, and
    # the count stops at SEARCH_COUNT_LIMIT ("500+").
    SEARCH_RARE_ROWS = 2000
    SEARCH_COUNT_LIMIT = 500

    def get_search_results(self, request, queryset, search_term):
        """Each word (or "quoted phrase") in the lead's email or company, or in any message."""
        terms = [unescape_string_literal(t) if t[0] in "\"'" else t for t in smart_split(search_term) if t]
        common = [term for term in terms if not self._is_rare(term)]
        for term in terms:
            if term in common:
                queryset = queryset.filter(_each_conversation_matches(term))
            else:
                queryset = queryset.filter(pk__in=_matching_messages(term).union(_matching_leads(term)))
        request.conversation_search_count_limited = bool(terms) and len(common) == len(terms)
        return queryset, False

    def _is_rare(self, term: str) -> bool:
        """At most SEARCH_RARE_ROWS matching messages and leads (a query that stops reading there)."""
        rows = _matching_messages(term).union(_matching_leads(term), all=True)[: self.SEARCH_RARE_ROWS + 1]
        return len(rows) <= self.SEARCH_RARE_ROWS

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if getattr(request, "conversation_search_count_limited", False):
            return CountLimitedPaginator(
                queryset, per_page, orphans, allow_empty_first_page, limit=self.SEARCH_COUNT_LIMIT
            )
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _lead(self, obj):
        try:
            return obj.lead
        except Conversation.lead.RelatedObjectDoesNotExist:
            return None

    @admin.display(description="started (UTC)", ordering="started_at")
    def started(self, obj):
        return obj.started_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    @admin.display(description="email", ordering="lead__email")
    def lead_email(self, obj):
        lead = self._lead(obj)
        return lead.email if lead else ""

    @admin.display(description="company", ordering="lead__company_name")
    def lead_company(self, obj):
        lead = self._lead(obj)
        return lead.company_name if lead else ""

    @admin.display(description="outcome", ordering="lead__outcome")
    def outcome(self, obj):
        lead = self._lead(obj)
        return lead.get_outcome_display() if lead else "No lead"

    @admin.display(description="score", ordering="lead__score")
    def score(self, obj):
        lead = self._lead(obj)
        return lead.score if lead else None

    @admin.display(description="source (UTM source / campaign)")
    def source(self, obj):
        return " / ".join(v for v in (obj.utm_source_value, obj.utm_campaign_value) if v)

    @admin.display(description="landing page")
    def landing_page(self, obj):
        return obj.page_url.split("?", 1)[0]

    @admin.display(description="visitor messages", ordering="visitor_message_count")
    def visitor_messages(self, obj):
        return obj.visitor_message_count

    @admin.display(description="rep", ordering="rep_name")
    def rep(self, obj):
        return obj.rep_name or ""

    @admin.display(description="meeting", ordering="meeting_state")
    def meeting_status(self, obj):
        return dict(Meeting.Status.choices).get(obj.meeting_state, "") if obj.meeting_state else ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        conversation = self.get_object(request, object_id)
        if conversation is not None:
            extra_context["turns"] = transcript_turns(conversation)
            extra_context["reader_timezone"] = timezone.get_current_timezone_name()
            extra_context["lead"] = self._lead(conversation)
            meetings = visible_meetings(user=request.user, queryset=conversation.meetings.select_related("rep"))
            extra_context["meetings"] = list(meetings.order_by("created_at"))
            # Live handoff: who took the chat over, when, after how long a wait, and how it ended.
            extra_context["takeovers"] = list(conversation.takeovers.order_by("taken_at"))
        return super().change_view(request, object_id, form_url, extra_context)


def transcript_turns(conversation: Conversation) -> list[dict]:
    """The conversation's messages in order, with what the visitor said and the facts captured (one query)."""
    turns = []
    for message in conversation.messages.order_by("created_at", "id"):
        entities = message.entities if message.sender == Message.Sender.VISITOR and message.entities else []
        turns.append(
            {
                "message": message,
                # The visitor's reschedule/cancel link stays in their own chat, not in what staff read.
                "text": meeting_links_redact(message.text),
                "is_visitor": message.sender == Message.Sender.VISITOR,
                "not_understood": message.intent in FALLBACK_INTENTS,
                "facts": [
                    {"name": e.get("entity", "?"), "value": e.get("value", "")} for e in entities if isinstance(e, dict)
                ],
            }
        )
    return turns


@admin.register(Message)
class MessageAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    visible_rows = staticmethod(visible_messages)
    list_display = ("created_at", "conversation", "sender", "text", "intent", "confidence", "delivery")
    list_filter = ("sender", "delivery", "intent")
    list_select_related = ("conversation",)
    search_fields = ("text",)
    readonly_fields = (
        "conversation",
        "sender",
        "text",
        "buttons",
        "client_id",
        "intent",
        "confidence",
        "entities",
        "asked_slot",
        "delivery",
        "created_at",
    )
