import secrets
import uuid

from django.db import models
from django.db.models import Q


def new_embed_key() -> str:
    return "site_" + secrets.token_urlsafe(16)


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
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def origin_list(self) -> list[str]:
        return [line.strip().rstrip("/").lower() for line in self.allowed_origins.splitlines() if line.strip()]


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

    class Meta:
        indexes = [models.Index(fields=["visitor", "-started_at"])]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Conversation {self.public_id}"


class Message(models.Model):
    class Sender(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        BOT = "bot", "Bot"
        SYSTEM = "system", "System"

    class Delivery(models.TextChoices):
        NOT_APPLICABLE = "", "-"
        PENDING = "pending", "Waiting for the bot"
        DELIVERED = "delivered", "Answered by the bot"
        FAILED = "failed", "Bot unavailable"

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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Analytics: "did the visitor write (after this)?" per conversation, read from the index alone.
            models.Index(
                fields=["conversation", "sender", "created_at"],
                include=["asked_slot", "intent", "confidence"],
                name="message_conv_sender_time",
            )
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
