"""Reps, their hours, routing, and the meetings booked onto their calendars.

Every stored time is UTC. A rep's working hours are wall-clock times in the rep's
own zone (``SalesRep.timezone``), so they follow daylight-saving changes.

No double booking is enforced by PostgreSQL itself: migration 0002 adds an
exclusion constraint over each rep's non-cancelled meeting time ranges (see
``MEETING_NO_OVERLAP``). It lives in a migration, not in ``Meta.constraints``,
because the embedded SQLite default cannot express it; there, bookings are
serialised by SQLite's single writer and the service's overlap check.
"""

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from chatbot.models import Site
from config.zones import zone_or_utc
from qualification.models import RULE_FIELDS, RuleCondition

MEETING_NO_OVERLAP = "meeting_no_overlap_per_rep"


def validate_timezone(value: str) -> None:
    if zone_or_utc(value)[1]:
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin).")


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


def new_calendar_uid() -> str:
    return f"{uuid.uuid4()}@leadbot"


class SalesRep(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales_rep"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    meeting_minutes = models.PositiveSmallIntegerField(default=30)
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=10)
    min_notice_minutes = models.PositiveIntegerField(default=240, help_text="No meeting starts sooner than this")
    max_meetings_per_day = models.PositiveSmallIntegerField(default=6, help_text="In the rep's own calendar day")
    horizon_days = models.PositiveSmallIntegerField(default=14, help_text="How many days ahead visitors may book")
    weight = models.PositiveSmallIntegerField(default=1, help_text="Round-robin weight: 2 gets twice the meetings")
    video_link = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)
    sites = models.ManyToManyField(
        Site,
        blank=True,
        related_name="reps",
        help_text="The sites whose live chats this rep sees and may take over in the inbox (/inbox/).",
    )
    # Secret of the rep's read-only ICS subscription feed (any calendar app can subscribe).
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    rep = models.ForeignKey(SalesRep, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField(help_text="Wall-clock time in the rep's zone")
    end = models.TimeField(help_text="Wall-clock time in the rep's zone")

    class Meta:
        ordering = ["rep", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="working_hours_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class TimeOff(models.Model):
    rep = models.ForeignKey(SalesRep, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["rep", "start"]
        verbose_name_plural = "time off"
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="time_off_end_after_start")]

    def __str__(self) -> str:
        return f"{self.rep}: {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"


class CalendarConnection(models.Model):
    """A rep's real calendar: busy times are read from it, meetings written to it.

    CalDAV connections use ``url``/``username``/``password``. Google and Microsoft 365
    connections hold an OAuth grant: the tokens are stored encrypted
    (scheduling.calendars.token_crypto), never shown; ``busy_calendars`` lists what counts as
    busy (Google: calendar ids; Microsoft: addresses whose schedule is read; empty: the
    account's own calendar) and ``target_calendar`` the calendar id meetings are written to.
    """

    class Kind(models.TextChoices):
        CALDAV = "caldav", "CalDAV"
        GOOGLE = "google", "Google Calendar"
        MICROSOFT = "microsoft", "Microsoft 365"

    class GrantState(models.TextChoices):
        NONE = "", "Not an OAuth connection"
        VALID = "valid", "Valid"
        REVOKED = "revoked", "Revoked or expired: connect the account again"

    rep = models.OneToOneField(SalesRep, on_delete=models.CASCADE, related_name="calendar")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CALDAV)
    url = models.URLField(max_length=500, blank=True, help_text="The CalDAV calendar collection URL")
    username = models.CharField(max_length=200, blank=True)
    password = models.CharField(max_length=500, blank=True)
    account_email = models.EmailField(blank=True, help_text="The Google or Microsoft account the grant belongs to")
    access_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    grant_state = models.CharField(max_length=20, choices=GrantState.choices, blank=True, default=GrantState.NONE)
    busy_calendars = models.JSONField(
        default=list,
        blank=True,
        help_text="Google: calendar ids; Microsoft: addresses whose busy times count; empty: the account's own",
    )
    target_calendar = models.CharField(
        max_length=500, blank=True, help_text="The calendar id meetings are written to; empty: the primary calendar"
    )
    video_meetings = models.BooleanField(
        "add a video meeting",
        default=False,
        help_text=(
            "Google: a Google Meet link on each meeting; Microsoft 365: a Teams meeting. Only for a calendar that "
            "offers them (see the account's calendars); the link goes to the visitor and the rep."
        ),
    )
    # The account's calendars as it listed them (Google calendarList, Graph /me/calendars), offered in admin
    # for busy_calendars and target_calendar: [{"id", "name", "primary", "can_write", "video"}].
    account_calendars = models.JSONField(default=list, blank=True, editable=False)
    # Where reading the changes made on the calendar resumes (a Google sync token, a Graph delta link,
    # a CalDAV sync token), and "<kind>:<target calendar>" it belongs to: another one starts afresh.
    changes_cursor = models.TextField(blank=True, editable=False)
    changes_calendar = models.CharField(max_length=500, blank=True, editable=False)
    changes_read_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="When the busy times were last read")
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} calendar of {self.rep}"

    def account_calendar(self, calendar_id: str) -> dict | None:
        """The fetched entry of one of the account's calendars ("" : the primary one), if it was listed."""
        for entry in self.account_calendars or []:
            if entry.get("id") == calendar_id or (not calendar_id and entry.get("primary")):
                return entry
        return None

    def clean(self) -> None:
        if self.kind == self.Kind.CALDAV and not self.url:
            raise ValidationError({"url": "A CalDAV connection needs the calendar's URL."})
        if not isinstance(self.busy_calendars, list) or not all(
            isinstance(item, str) and item for item in self.busy_calendars
        ):
            raise ValidationError({"busy_calendars": 'A list of calendar ids, e.g. ["primary"].'})


class BusyBlock(models.Model):
    """A busy time read from the rep's real calendar (cached; refreshed by the worker)."""

    rep = models.ForeignKey(SalesRep, on_delete=models.CASCADE, related_name="busy_blocks")
    start = models.DateTimeField()
    end = models.DateTimeField()
    source_uid = models.CharField(max_length=500, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["rep", "start"])]

    def __str__(self) -> str:
        return f"{self.rep} busy {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M} UTC"


class RoutingRule(RuleCondition):
    """Sends leads that match a condition to a pool of reps; lowest priority number first.

    The condition is written in the same language as qualification rules (one set of fields and
    operators, one validation, one matcher: qualification.rules); a rule without a field matches
    every lead.
    """

    name = models.CharField(max_length=200)
    priority = models.PositiveIntegerField(default=100)
    field = models.CharField(
        max_length=50,
        blank=True,
        choices=RULE_FIELDS,
        help_text="The lead fact to look at; leave empty for a rule that takes every lead.",
    )
    is_default = models.BooleanField(default=False, help_text="The pool used when no other rule matches")
    is_active = models.BooleanField(default=True)
    reps = models.ManyToManyField(SalesRep, related_name="routing_rules")

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.field:
            if self.value.strip():
                raise ValidationError({"field": "Choose the fact this value is about, or clear the value."})
            return
        errors = self.condition_errors()
        if errors:
            raise ValidationError(errors)


class Meeting(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        HELD = "held", "Held"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"

    class SyncState(models.TextChoices):
        NOT_CONNECTED = "not_connected", "No calendar connected"
        PENDING = "pending", "Waiting to sync"
        SYNCED = "synced", "Synced"
        FAILED = "failed", "Failed (will retry)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rep = models.ForeignKey(SalesRep, on_delete=models.PROTECT, related_name="meetings")
    lead = models.ForeignKey(
        "qualification.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    conversation = models.ForeignKey(
        "chatbot.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED, db_index=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.EmailField(blank=True)
    visitor_email_domain = models.CharField(max_length=200, blank=True, db_index=True)
    visitor_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Stable across reschedules: the same event is updated on the rep's calendar and in the visitor's.
    calendar_uid = models.CharField(max_length=200, unique=True, default=new_calendar_uid, editable=False)
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE, bumped on every change")
    # The event's id on the rep's calendar, as the calendar named it when it was written (Google's is
    # derived from calendar_uid; Microsoft's is Graph's own), and the join link of the video meeting the
    # calendar created for it (Google Meet, Teams), if any.
    calendar_event_id = models.CharField(max_length=1024, blank=True, editable=False)
    video_join_url = models.URLField(max_length=2000, blank=True)
    sync_state = models.CharField(max_length=20, choices=SyncState.choices, default=SyncState.PENDING)
    sync_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    reminder_24h_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_1h_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["rep", "start"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="meeting_end_after_start"),
            # A conversation holds at most one live booking: a double click, a reload or a
            # retried message can never create a second meeting.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(status="booked"), name="meeting_one_booked_per_conversation"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.visitor_name or self.visitor_email or 'Visitor'} with {self.rep} at {self.start:%Y-%m-%d %H:%M} UTC"
        )

    @property
    def video_link(self) -> str:
        """Where to join: the video meeting the rep's calendar made for it, else the rep's own room."""
        return self.video_join_url or self.rep.video_link


class SlotOffer(models.Model):
    """Slots the bot showed a visitor (the funnel's 'slots offered' step)."""

    conversation = models.ForeignKey("chatbot.Conversation", on_delete=models.CASCADE, related_name="slot_offers")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # [{"rep": rep_id, "start": "2026-12-01T13:00:00+00:00"}, ...]
    slots = models.JSONField(default=list)
    preference_text = models.CharField(max_length=500, blank=True, help_text="What the visitor typed, if anything")

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{len(self.slots)} slots offered in {self.conversation_id}"
