"""Admin of scheduling: reps with their hours, routing rules, and meetings.

Meetings are changed only through the services (the actions below), so the calendar,
the emails and the no-double-booking checks always run. Which reps and meetings a user sees,
and who may change a rep's routing, is decided by ``access.selectors``: a Sales user sees only
their own profile and meetings, and cannot change their routing weight, activity, email or login.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from access.admin import VisibleRepListFilter, VisibleRowsAdminMixin
from access.groups import SALES
from access.selectors import (
    may_change_rep,
    may_change_routing,
    may_see_feed_link,
    visible_meetings,
    visible_reps,
)
from config import zones
from config.csv_export import CSVExportMixin
from qualification.rules import condition_help
from scheduling import services, tasks
from scheduling.errors import SchedulingError
from scheduling.models import CalendarConnection, Meeting, RoutingRule, SalesRep, TimeOff, WorkingHours
from scheduling.notifications import public_url

SALES_GROUP = SALES
# What only whoever may change routing rules changes on a rep (access.selectors.may_change_routing).
ROUTING_FIELDS = ("user", "email", "is_active", "weight")


def feed_url(rep: SalesRep) -> str:
    return public_url(reverse("scheduling:rep_feed", args=[rep.feed_token]))


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0
    fields = ("weekday", "start", "end")


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0
    fields = ("start", "end", "reason")


class CalendarConnectionForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave empty to keep the stored password."
    )

    class Meta:
        model = CalendarConnection
        fields = ("kind", "url", "username", "password", "is_active")

    def clean_password(self) -> str:
        return self.cleaned_data["password"] or (self.instance.password if self.instance.pk else "")


class CalendarConnectionInline(admin.StackedInline):
    model = CalendarConnection
    form = CalendarConnectionForm
    extra = 0
    readonly_fields = ("last_synced_at", "last_error")


@admin.register(SalesRep)
class SalesRepAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    visible_rows = staticmethod(visible_reps)
    list_display = ("name", "email", "timezone", "meeting_minutes", "max_meetings_per_day", "weight", "is_active")
    list_filter = ("is_active", "timezone")
    search_fields = ("name", "email")
    inlines = [WorkingHoursInline, TimeOffInline, CalendarConnectionInline]
    fieldsets = [
        (None, {"fields": ("user", "name", "email", "timezone", "is_active", "video_link")}),
        (
            "Booking rules",
            {
                "fields": (
                    "meeting_minutes",
                    ("buffer_before_minutes", "buffer_after_minutes"),
                    "min_notice_minutes",
                    "max_meetings_per_day",
                    "horizon_days",
                    "weight",
                )
            },
        ),
    ]

    actions = ["rotate_feed_token"]

    def get_fieldsets(self, request: HttpRequest, obj: SalesRep | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and may_see_feed_link(user=request.user, rep=obj):
            fieldsets.append(("Calendar feed", {"fields": ("calendar_feed",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: SalesRep | None = None):
        readonly = [*super().get_readonly_fields(request, obj), "calendar_feed"]
        if not may_change_routing(user=request.user):
            readonly += ROUTING_FIELDS
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: SalesRep | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_change_rep(user=request.user, rep=obj))

    @admin.display(description="ICS feed link")
    def calendar_feed(self, rep: SalesRep) -> str:
        return format_html(
            '<a href="{0}">{0}</a><br>Private: anyone with this link reads the meetings. If it leaked, use the '
            "action “Rotate calendar feed link” on the reps list; this link then stops working at once.",
            feed_url(rep),
        )

    @admin.action(description="Rotate calendar feed link (the old link stops working)", permissions=["change"])
    def rotate_feed_token(self, request: HttpRequest, queryset: QuerySet[SalesRep]) -> None:
        for rep in queryset:
            if not may_change_rep(user=request.user, rep=rep):
                self.message_user(request, f"You may not change {rep}'s feed link.", messages.ERROR)
                continue
            rep = services.rep_feed_token_rotate(rep=rep)
            if may_see_feed_link(user=request.user, rep=rep):
                text = format_html("New calendar feed link of {}: {}", rep, feed_url(rep))
            else:
                text = f"{rep}'s calendar feed link was replaced; the old one no longer works."
            self.message_user(request, text, messages.SUCCESS)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "field", "operator", "value", "is_default", "is_active", "pool")
    list_editable = ("priority", "is_active")
    list_filter = ("is_default", "is_active")
    filter_horizontal = ("reps",)

    def get_fieldsets(self, request, obj=None):
        return (
            (None, {"fields": ("name", "priority")}),
            (
                "Condition (empty field: every lead)",
                {"fields": ("field", "operator", "value"), "description": condition_help()},
            ),
            (None, {"fields": ("is_default", "is_active", "reps")}),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoutingRule]:
        return super().get_queryset(request).prefetch_related("reps")

    @admin.display(description="Reps")
    def pool(self, rule: RoutingRule) -> str:
        return ", ".join(rep.name for rep in rule.reps.all())


class MeetingRepFilter(VisibleRepListFilter):
    parameter_name = "rep__id__exact"  # the name Django's own related-field filter used

    def rep_filter(self, rep_id: str) -> Q:
        return Q(rep_id=rep_id)


@admin.register(Meeting)
class MeetingAdmin(CSVExportMixin, VisibleRowsAdminMixin, admin.ModelAdmin):
    visible_rows = staticmethod(visible_meetings)
    list_display = (
        "visitor",
        "rep",
        "company",
        "start_utc",
        "start_rep_time",
        "status",
        "sync_state",
        "short_sync_error",
    )
    list_filter = ("status", "sync_state", MeetingRepFilter, "start")
    list_select_related = ("rep", "lead")
    search_fields = ("visitor_name", "visitor_email", "lead__company_name", "rep__name")
    date_hierarchy = "start"
    actions = ["mark_held", "mark_no_show", "cancel", "retry_sync"]
    fields = (
        "rep",
        "visitor_name",
        "visitor_email",
        "visitor_timezone",
        "company",
        "start_utc",
        "start_rep_time",
        "start_visitor_time",
        "status",
        "cancel_reason",
        "lead",
        "conversation",
        "sync_state",
        "sync_error",
        "synced_at",
        "calendar_uid",
        "sequence",
        "created_at",
        "cancelled_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Meeting]:
        return super().get_queryset(request).select_related("rep", "lead")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # meetings are booked through the chat or the services, never typed in

    def has_delete_permission(self, request: HttpRequest, obj: Meeting | None = None) -> bool:
        return False  # cancel instead: it tells the calendar and the visitor

    @admin.display(description="Visitor", ordering="visitor_name")
    def visitor(self, meeting: Meeting) -> str:
        return meeting.visitor_name or meeting.visitor_email or "-"

    @admin.display(description="Company", ordering="lead__company_name")
    def company(self, meeting: Meeting) -> str:
        return (meeting.lead.company_name if meeting.lead else "") or meeting.visitor_email_domain or "-"

    @admin.display(description="Start (UTC)", ordering="start")
    def start_utc(self, meeting: Meeting) -> str:
        return _shown(meeting, "UTC")

    @admin.display(description="Start (rep's time)", ordering="start")
    def start_rep_time(self, meeting: Meeting) -> str:
        return _shown(meeting, meeting.rep.timezone)

    @admin.display(description="Start (visitor's time)")
    def start_visitor_time(self, meeting: Meeting) -> str:
        return _shown(meeting, meeting.visitor_timezone)

    @admin.display(description="Sync error")
    def short_sync_error(self, meeting: Meeting) -> str:
        return (meeting.sync_error[:80] + "…") if len(meeting.sync_error) > 80 else meeting.sync_error

    def _apply(self, request: HttpRequest, queryset: QuerySet[Meeting], status: str, done: str) -> None:
        changed, failed = 0, []
        for meeting in queryset:
            try:
                services.meeting_set_status(meeting=meeting, status=status)
                changed += 1
            except SchedulingError as exc:
                failed.append(f"{meeting}: {exc.message}")
        if changed:
            self.message_user(request, f"{changed} meeting(s) {done}.", messages.SUCCESS)
        for text in failed:
            self.message_user(request, text, messages.ERROR)

    @admin.action(description="Mark as held", permissions=["change"])
    def mark_held(self, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        self._apply(request, queryset, Meeting.Status.HELD, "marked held")

    @admin.action(description="Mark as no-show", permissions=["change"])
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        self._apply(request, queryset, Meeting.Status.NO_SHOW, "marked no-show")

    @admin.action(description="Cancel (tells the calendar and the visitor)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        self._apply(request, queryset, Meeting.Status.CANCELLED, "cancelled")

    @admin.action(description="Retry calendar sync", permissions=["change"])
    def retry_sync(self, request: HttpRequest, queryset: QuerySet[Meeting]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        for meeting_id in ids:
            tasks.meeting_changed.delay(meeting_id, "sync")
        self.message_user(request, f"Calendar sync queued for {len(ids)} meeting(s).", messages.SUCCESS)


def _shown(meeting: Meeting, zone: str) -> str:
    return zones.moment_text(meeting.start, zone)
