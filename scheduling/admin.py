"""Admin of scheduling: reps with their hours, routing rules, and meetings.

Meetings are changed only through the services (the actions below), so the calendar,
the emails and the no-double-booking checks always run. Which reps and meetings a user sees,
and who may change a rep's routing, is decided by ``access.selectors``: a Sales user sees only
their own profile and meetings, and cannot change their routing weight, activity, email or login.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

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
from scheduling.calendar_sync import calendar_follow_changes, rep_refresh_busy_horizon
from scheduling.calendars import CalendarUnavailable, connection_list_calendars
from scheduling.errors import SchedulingError
from scheduling.models import CalendarConnection, Meeting, RoutingRule, SalesRep, TimeOff, WorkingHours
from scheduling.notifications import public_url

SALES_GROUP = SALES
# What only whoever may change routing rules changes on a rep (access.selectors.may_change_routing).
# The sites are among them: a rep cannot add a site whose visitors they would then see in the inbox.
ROUTING_FIELDS = ("user", "email", "is_active", "weight", "sites")


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


# OAuth connections in progress (state -> rep, provider, PKCE verifier or msal's flow), in the staff user's session.
OAUTH_SESSION_KEY = "scheduling_calendar_oauth"
OAUTH_KINDS = (CalendarConnection.Kind.GOOGLE, CalendarConnection.Kind.MICROSOFT)


class CalendarConnectionForm(forms.ModelForm):
    """A rep's calendar. Once a Google or Microsoft account is connected and has listed its calendars,
    "busy calendars" and "target calendar" are chosen from that list (several count as busy, one
    receives meetings) instead of typed."""

    password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave empty to keep the stored password."
    )

    class Meta:
        model = CalendarConnection
        fields = (
            "kind",
            "url",
            "username",
            "password",
            "busy_calendars",
            "target_calendar",
            "video_meetings",
            "is_active",
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        listed = self.instance.account_calendars if self.instance.pk else []
        if not listed:
            return
        names = {entry["id"]: entry.get("name") or entry["id"] for entry in listed}
        chosen = [item for item in self.instance.busy_calendars or [] if item not in names]
        self.fields["busy_calendars"] = forms.MultipleChoiceField(
            required=False,
            widget=forms.CheckboxSelectMultiple,
            choices=[(entry["id"], _calendar_label(entry)) for entry in listed]
            + [(item, f"{item} (not in the account's list)") for item in chosen],
            label="Calendars that count as busy",
            help_text="Times taken on any of these are not offered. None ticked: the account's own calendar.",
        )
        target = self.instance.target_calendar
        self.fields["target_calendar"] = forms.ChoiceField(
            required=False,
            choices=[("", "The primary calendar")]
            + [(entry["id"], _calendar_label(entry)) for entry in listed if entry.get("can_write")]
            + ([(target, f"{target} (not in the account's list)")] if target and target not in names else []),
            label="Calendar that receives meetings",
        )

    def clean_password(self) -> str:
        return self.cleaned_data["password"] or (self.instance.password if self.instance.pk else "")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("video_meetings") and self.instance.pk and self.instance.account_calendars:
            entry = self.instance.account_calendar(cleaned.get("target_calendar") or "")
            if entry is not None and not entry.get("video"):
                self.add_error(
                    "video_meetings", "The calendar that receives meetings offers no video meetings (Meet or Teams)."
                )
        return cleaned


def _calendar_label(entry: dict) -> str:
    notes = [note for note, on in (("primary", entry.get("primary")), ("read only", not entry.get("can_write"))) if on]
    notes += ["video meetings"] if entry.get("video") else []
    return f"{entry.get('name') or entry['id']}" + (f" ({', '.join(notes)})" if notes else "")


class CalendarConnectionInline(admin.StackedInline):
    model = CalendarConnection
    form = CalendarConnectionForm
    extra = 0
    # The OAuth tokens are never shown (not even encrypted): only whose grant it is and its state.
    readonly_fields = ("account_email", "grant_state", "last_synced_at", "changes_read_at", "last_error")


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
        ("Live chat", {"fields": ("sites",)}),
    ]
    filter_horizontal = ("sites",)

    actions = ["rotate_feed_token", "read_calendars"]

    def get_fieldsets(self, request: HttpRequest, obj: SalesRep | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and may_see_feed_link(user=request.user, rep=obj):
            fieldsets.append(("Calendar feed", {"fields": ("calendar_feed",)}))
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets.append(("Google or Microsoft 365 calendar", {"fields": ("calendar_account",)}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: SalesRep | None = None):
        readonly = [*super().get_readonly_fields(request, obj), "calendar_feed", "calendar_account"]
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

    @admin.display(description="Google or Microsoft 365 account")
    def calendar_account(self, rep: SalesRep) -> str:
        links = format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            [
                (reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, provider]), label)
                for provider, label in (("google", "Connect Google Calendar"), ("microsoft", "Connect Microsoft 365"))
            ],
        )
        connection = CalendarConnection.objects.filter(rep=rep, kind__in=OAUTH_KINDS).first()
        if connection is None:
            return format_html("{} (busy times are read from it, meetings written to it)", links)
        reload = format_html(
            '<a href="{}">Reload the account\'s calendars</a> ({} listed: choose below which count as busy and '
            "which receives meetings)",
            reverse("admin:scheduling_salesrep_calendar_list", args=[rep.pk]),
            len(connection.account_calendars or []),
        )
        links = format_html("{} · {}", links, reload)
        account = connection.account_email or connection.get_kind_display()
        if connection.grant_state == CalendarConnection.GrantState.REVOKED:
            return format_html(
                "<strong>Access to {} ({}) was revoked or has expired</strong>: meetings wait until the "
                "account is connected again. {}",
                account,
                connection.get_kind_display(),
                links,
            )
        return format_html("Connected to {} ({}). {}", account, connection.get_kind_display(), links)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:rep_id>/calendar/<str:provider>/connect/",
                view(self.calendar_connect),
                name="scheduling_salesrep_calendar_connect",
            ),
            path(
                "calendar/<str:provider>/callback/",
                view(self.calendar_callback),
                name="scheduling_salesrep_calendar_callback",
            ),
            path(
                "<int:rep_id>/calendar/calendars/",
                view(self.calendar_list),
                name="scheduling_salesrep_calendar_list",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def _redirect_uri(provider: str) -> str:
        return public_url(reverse("admin:scheduling_salesrep_calendar_callback", args=[provider]))

    def _changeable_rep(self, request: HttpRequest, rep_id: int) -> SalesRep:
        rep = get_object_or_404(self.get_queryset(request), pk=rep_id)
        if not self.has_change_permission(request, rep):
            raise PermissionDenied
        return rep

    def calendar_connect(self, request: HttpRequest, rep_id: int, provider: str) -> HttpResponse:
        """Step 1 of OAuth (authorization code with PKCE): off to the provider's consent screen."""
        from scheduling.calendars.oauth import PROVIDERS, oauth_start

        if provider not in PROVIDERS:
            raise Http404
        rep = self._changeable_rep(request, rep_id)
        change_page = reverse("admin:scheduling_salesrep_change", args=[rep.pk])
        try:
            start = oauth_start(provider=provider, redirect_uri=self._redirect_uri(provider))
        except CalendarUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return redirect(change_page)
        pending = request.session.get(OAUTH_SESSION_KEY, {})
        pending[start.state] = {"rep": rep.pk, "provider": provider, **start.pending}
        request.session[OAUTH_SESSION_KEY] = pending
        return redirect(start.url)

    def calendar_callback(self, request: HttpRequest, provider: str) -> HttpResponse:
        """Step 2: the provider sent the browser back with a code (or an error) and our state."""
        from scheduling.calendars.oauth import oauth_finish

        state = request.GET.get("state", "")
        pending = request.session.get(OAUTH_SESSION_KEY, {})
        started = pending.pop(state, None)
        request.session[OAUTH_SESSION_KEY] = pending
        if started is None or started["provider"] != provider:
            return HttpResponseBadRequest("This sign-in was not started here, or was already used.")
        rep = self._changeable_rep(request, started["rep"])
        change_page = reverse("admin:scheduling_salesrep_change", args=[rep.pk])
        if "code" not in request.GET:
            self.message_user(request, "Access to the calendar was not granted; nothing changed.", messages.WARNING)
            return redirect(change_page)
        try:
            connection = oauth_finish(
                provider=provider,
                rep=rep,
                redirect_uri=self._redirect_uri(provider),
                pending=started,
                params=request.GET.dict(),
            )
        except CalendarUnavailable as exc:
            self.message_user(request, f"The calendar could not be connected: {exc}", messages.ERROR)
            return redirect(change_page)
        self.message_user(
            request,
            f"{rep}'s calendar is now {connection.get_kind_display()} ({connection.account_email}).",
            messages.SUCCESS,
        )
        return redirect(change_page)

    def calendar_list(self, request: HttpRequest, rep_id: int) -> HttpResponse:
        """Fetch the connected account's calendars again (offered for busy and receiving meetings)."""
        rep = self._changeable_rep(request, rep_id)
        change_page = reverse("admin:scheduling_salesrep_change", args=[rep.pk])
        connection = CalendarConnection.objects.filter(rep=rep, kind__in=OAUTH_KINDS).first()
        if connection is None:
            raise Http404
        try:
            calendars = connection_list_calendars(connection=connection)
        except CalendarUnavailable as exc:
            self.message_user(request, f"The account's calendars could not be read: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"{len(calendars)} calendar(s) listed for {rep}.", messages.SUCCESS)
        return redirect(change_page)

    @admin.action(
        description="Read their calendars now (busy times, moved or deleted meetings)", permissions=["change"]
    )
    def read_calendars(self, request: HttpRequest, queryset: QuerySet[SalesRep]) -> None:
        for rep in queryset.filter(calendar__is_active=True):
            if not may_change_rep(user=request.user, rep=rep):
                continue
            try:
                busy = rep_refresh_busy_horizon(rep=rep)
                followed = calendar_follow_changes(rep=rep)
            except CalendarUnavailable as exc:
                self.message_user(request, f"{rep}'s calendar could not be read: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{rep}: {busy} busy time(s); {len(followed.moved)} meeting(s) moved and "
                f"{len(followed.cancelled)} cancelled as on the calendar.",
                messages.SUCCESS,
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
