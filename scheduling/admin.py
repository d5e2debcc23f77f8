"""Admin of scheduling: reps with their hours, routing rules, and meetings.

Meetings are changed only through the services (the actions below), so the calendar,
the emails and the no-double-booking checks always run. Users in the "Sales" group who
are not superusers see only their own rep profile and their own meetings.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from analytics.csv_export import CSVExportMixin
from scheduling import services, tasks, zones
from scheduling.errors import SchedulingError
from scheduling.models import CalendarConnection, Meeting, RoutingRule, SalesRep, TimeOff, WorkingHours

SALES_GROUP = "Sales"


def is_sales_only(request: HttpRequest) -> bool:
    user = request.user
    return not user.is_superuser and user.groups.filter(name=SALES_GROUP).exists()


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
class SalesRepAdmin(admin.ModelAdmin):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[SalesRep]:
        queryset = super().get_queryset(request)
        return queryset.filter(user=request.user) if is_sales_only(request) else queryset


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "field", "operator", "value", "is_default", "is_active", "pool")
    list_editable = ("priority", "is_active")
    list_filter = ("is_default", "is_active")
    filter_horizontal = ("reps",)
    fields = ("name", "priority", ("field", "operator", "value"), "is_default", "is_active", "reps")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoutingRule]:
        return super().get_queryset(request).prefetch_related("reps")

    @admin.display(description="Reps")
    def pool(self, rule: RoutingRule) -> str:
        return ", ".join(rep.name for rep in rule.reps.all())


@admin.register(Meeting)
class MeetingAdmin(CSVExportMixin, admin.ModelAdmin):
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
    list_filter = ("status", "sync_state", "rep", "start")
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
        queryset = super().get_queryset(request).select_related("rep", "lead")
        if is_sales_only(request):
            rep = getattr(request.user, "sales_rep", None)
            return queryset.filter(rep=rep) if rep is not None else queryset.none()
        return queryset

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
