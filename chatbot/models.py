import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


def new_embed_key() -> str:
    return "site_" + secrets.token_urlsafe(16)


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def webhook_url_validate(value: str) -> None:
    """An outgoing webhook goes over https; plain http only to this machine, and only while DEBUG is on
    (or in the tests, WEBHOOK_ALLOW_LOCAL_HTTP): a local receiver while developing."""
    from urllib.parse import urlsplit

    from django.conf import settings

    parts = urlsplit(value.strip())
    if parts.scheme == "https" and parts.hostname:
        return
    local_ok = settings.DEBUG or getattr(settings, "WEBHOOK_ALLOW_LOCAL_HTTP", False)
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and local_ok:
        return
    raise ValidationError(
        "Enter an https:// address (http:// only for localhost while DEBUG is on).", code="webhook_not_https"
    )


def default_daily_conversation_limit() -> int:
    from django.conf import settings

    return settings.CHAT_SITE_DAILY_CONVERSATION_LIMIT


class Site(models.Model):
    """A customer website that embeds the widget."""

    name = models.CharField(max_length=200)
    embed_key = models.CharField(max_length=64, unique=True, default=new_embed_key)
    allowed_origins = models.TextField(
        blank=True,
        help_text="One origin per line, exactly scheme://host[:port], e.g. https://www.example.com",
    )
    welcome_message = models.CharField(
        max_length=500,
        default="Hi! I'm the assistant here. What brings you to us today?",
    )
    is_active = models.BooleanField(default=True)
    daily_conversation_limit = models.PositiveIntegerField(
        "new conversations per day",
        default=default_daily_conversation_limit,
        help_text=(
            "At most this many new conversations per UTC day; after that the widget tells new visitors "
            "the chat is not taking new conversations today (visitors already chatting carry on). 0 = no cap."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Privacy (privacy/): what the widget tells visitors before they write, and how long chats are kept.
    privacy_notice = models.TextField(
        max_length=1000,
        default=(
            "We keep this chat and what you tell us in it (such as your name, email and company) so that our "
            "team can answer you and, if you ask, book a meeting with you. You can ask us to show you or delete "
            "this data at any time."
        ),
        help_text="Shown at the top of the chat before the visitor writes anything.",
    )
    privacy_policy_url = models.URLField(
        max_length=500, blank=True, help_text="Your privacy policy, linked under the notice (none when empty)."
    )
    privacy_policy_label = models.CharField(
        max_length=100, default="Privacy policy", help_text="The text of the privacy policy link."
    )
    retention_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1)],
        help_text=(
            "A conversation is anonymised this many days after its last message: its messages' text, the lead's "
            "facts, the visitor's details on its meetings and the bot's memory of it are removed; the dashboard's "
            "counts stay. A meeting still to come waits until it is over."
        ),
    )

    handoff_wait_seconds = models.PositiveIntegerField(
        "seconds to wait for a rep",
        default=60,
        validators=[MinValueValidator(1)],
        help_text=(
            "When a visitor asks for a person and no rep takes the chat in the inbox within this many seconds, "
            "the bot says so and offers a meeting or an email follow-up (the request stays in the queue)."
        ),
    )

    offer_talk_now = models.BooleanField(
        'offer "Talk now"',
        default=True,
        help_text=(
            'Beside the meeting times offered to a qualified visitor, a "Talk now" button while a rep of the '
            "visitor's routing pool has the inbox open; it asks that rep to join the chat."
        ),
    )
    offer_person_button = models.BooleanField(
        'offer "Talk to a person" in the widget',
        default=True,
        help_text=(
            'A "Talk to a person" button in the chat window, there all the time while the bot answers (hidden '
            "while a rep is chatting with the visitor); it asks for a person as if the visitor had typed it."
        ),
    )
    handoff_webhook_url = models.URLField(
        "Slack webhook for requests for a person",
        max_length=500,
        blank=True,
        validators=[webhook_url_validate],
        help_text=(
            "When a visitor asks for a person and none of the reps it is routed to has the inbox open, a message "
            "with the visitor's facts, score and a link to the conversation is posted here (Slack's incoming "
            "webhooks, or anything that takes the same JSON). https:// only. Empty: no post."
        ),
    )

    # What the bot's parsers know of this customer (qualification/parsing/site.py).
    product_name = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            'The name visitors call you or your product by: "a job at <name>" marks a job seeker, '
            '"we already use <name>" an existing customer.'
        ),
    )
    competitors = models.TextField(
        blank=True,
        help_text=(
            "Your competitors' names, one per line: a visitor who names one as their company is marked as a "
            "competitor (for the qualification rules to act on)."
        ),
    )

    # What the booking writes on the rep's calendar (scheduling/ics.py, scheduling/calendars/).
    calendar_invites_visitor = models.BooleanField(
        "visitor on the rep's calendar event",
        default=False,
        help_text=(
            "Name the visitor as an attendee of the meeting on the rep's own calendar (Google, Microsoft 365, "
            "CalDAV). The visitor always gets our invitation by email; Microsoft 365 also sends its own."
        ),
    )

    def __str__(self) -> str:
        return self.name

    def origin_list(self) -> list[str]:
        return [line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines() if line.strip()]

    def competitor_list(self) -> list[str]:
        return [line.strip() for line in self.competitors.splitlines() if line.strip()]


class Visitor(models.Model):
    """A browser, identified by an opaque token the widget keeps in localStorage."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="visitors")
    token = models.CharField(max_length=64, unique=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.masked_token

    @property
    def masked_token(self) -> str:
        """The token is a bearer secret (it resumes the chat): anything shown carries only its first 4 characters."""
        return f"{self.token[:4]}…"


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="conversations")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)
    page_url = models.URLField(max_length=2000, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    handoff_requested = models.BooleanField(default=False)
    # Live handoff (inbox/): when the visitor first asked for a person, and the rep holding the chat now.
    # While a rep holds it the bot is paused: visitor messages go to the rep, not to Rasa. One holder at a
    # time: a takeover is a conditional update on ``held_by IS NULL`` (chatbot.services.conversation_take_over).
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="held_conversations"
    )
    held_by_name = models.CharField(max_length=200, blank=True, help_text="The name the visitor sees")
    held_since = models.DateTimeField(null=True, blank=True)
    # The rep whose inbox was alerted to the waiting request (inbox/notify.py: the least busy of the routed
    # reps online), so requests that arrive together are dealt out instead of piling on one rep.
    handoff_alerted_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoff_alerts",
        editable=False,
    )
    # Never stranded: when the bot told the visitor nobody came within the site's wait (the request stays queued).
    handoff_unanswered_at = models.DateTimeField(null=True, blank=True)
    # When the request was posted to the site's webhook (once per request; inbox/webhook.py).
    handoff_webhook_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by retention (privacy.services.retention_apply): what is left is what the dashboard counts.
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who is sending this conversation's pending messages to the bot, until when (chatbot/turns.py):
    # one sender at a time, across web processes and workers, so turns reach Rasa in the order sent.
    bot_lease_owner = models.CharField(max_length=36, blank=True, editable=False)
    bot_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["visitor", "-started_at"]),
            # Retention's "due" query reads only conversations not anonymised yet.
            models.Index(
                fields=["site", "last_activity_at"],
                condition=Q(anonymised_at__isnull=True),
                name="conversation_retention_due",
            ),
            # The worker's sweep for requests for a person nobody has answered yet (chatbot.tasks).
            models.Index(
                fields=["handoff_requested_at"],
                condition=Q(handoff_requested_at__isnull=False, handoff_unanswered_at__isnull=True),
                name="conversation_handoff_waiting",
            ),
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Conversation {self.public_id}"


class Message(models.Model):
    class Sender(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        BOT = "bot", "Bot"
        REP = "rep", "Rep"
        SYSTEM = "system", "System"

    class Delivery(models.TextChoices):
        NOT_APPLICABLE = "", "-"
        PENDING = "pending", "Waiting for the bot"
        DELIVERED = "delivered", "Answered by the bot"
        QUEUED = "queued", "Waiting for the bot (queued)"
        FAILED = "failed", "Bot unavailable"  # before messages were queued; no new ones
        TO_REP = "rep", "Read by a rep (bot paused)"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    text = models.TextField()
    buttons = models.JSONField(default=list, blank=True)
    # Visitor messages: what the bot received when it differs from `text` (what people
    # read): a pressed button's payload, or typed text that looked like one.
    payload = models.CharField(max_length=500, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    # Visitor messages: the entities Rasa extracted. Bot messages: the form slot the
    # bot was asking for when it sent this (for drop-off analytics), else ''.
    entities = models.JSONField(default=list, blank=True)
    asked_slot = models.CharField(max_length=64, blank=True, db_index=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    # Rep messages: who wrote it, and the name the visitor saw.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_messages"
    )
    author_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Analytics: "did the visitor write (after this)?" per conversation, read from the index alone.
            models.Index(
                fields=["conversation", "sender", "created_at"],
                include=["asked_slot", "intent", "confidence"],
                name="message_conv_sender_time",
            ),
            # Visitor messages still waiting for the bot, oldest first (chatbot/turns.py, the sweep).
            models.Index(
                fields=["conversation", "created_at", "id"],
                condition=Q(delivery__in=["pending", "queued"]),
                name="message_pending",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=~Q(client_id=""),
                name="message_unique_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


class Takeover(models.Model):
    """One stretch of a rep holding a conversation: who, from when to when, and how long the visitor waited."""

    class Ended(models.TextChoices):
        OPEN = "", "Still held"
        HANDED_BACK = "handed_back", "Handed back to the bot"
        ABANDONED = "abandoned", "Released: the rep's inbox closed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="takeovers")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="takeovers")
    rep_name = models.CharField(max_length=200)
    taken_at = models.DateTimeField(db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    ended = models.CharField(max_length=20, choices=Ended.choices, blank=True, default="")
    # From the visitor's first request for a person to this takeover; None when nobody had asked.
    waited_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            # At most one open takeover per conversation, whatever the code does.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(released_at__isnull=True), name="takeover_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rep_name} took {self.conversation_id} at {self.taken_at:%Y-%m-%d %H:%M}"
