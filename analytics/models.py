"""Admin entry points for the analytics pages; no tables of their own.

The dashboard reads conversations, leads, meetings and slot offers. These two
unmanaged models exist only so the pages appear on the admin index and carry the
``analytics.view_dashboard`` permission that the Marketing group holds.
"""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the marketing dashboard")]
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"

    def __str__(self) -> str:
        return "Dashboard"


class NotUnderstood(models.Model):
    """Visitor messages the bot did not understand (nlu_fallback / out_of_scope), grouped."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "what the bot didn't understand"
        verbose_name_plural = "what the bot didn't understand"

    def __str__(self) -> str:
        return "What the bot didn't understand"


# --- Daily rollups -----------------------------------------------------------------------------
# The dashboard reads these instead of every conversation and message. Each row belongs to a
# bucket: the conversations that started on one UTC day on one site. A bucket is recomputed
# whole from the chats (analytics/rollups.py), so a row is never patched by hand.


class DailyConversationStat(models.Model):
    """Conversations of a bucket from one source, and how many of them reached each funnel step."""

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    utm_source = models.TextField(blank=True)
    utm_medium = models.TextField(blank=True)
    utm_campaign = models.TextField(blank=True)
    referrer_host = models.TextField(blank=True)
    landing_page = models.TextField(blank=True)
    conversations = models.PositiveIntegerField()
    engaged = models.PositiveIntegerField()
    finished = models.PositiveIntegerField()
    qualified = models.PositiveIntegerField()
    nurture = models.PositiveIntegerField()
    disqualified = models.PositiveIntegerField()
    offered = models.PositiveIntegerField()
    booked = models.PositiveIntegerField()
    held = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="daily_conversation_bucket")]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}: {self.conversations} conversations"


class DailyQuestionStat(models.Model):
    """For one qualification question, the conversations of a bucket that were asked, answered, left there."""

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    question = models.CharField(max_length=64)
    asked = models.PositiveIntegerField()
    answered = models.PositiveIntegerField()
    left_there = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="daily_question_bucket")]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}: {self.question} asked {self.asked}"


class DailyIntentStat(models.Model):
    """Visitor messages of a bucket's conversations, per intent and per (UTC) day they were sent."""

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    message_day = models.DateField()
    intent = models.CharField(max_length=100, blank=True)
    messages = models.PositiveIntegerField()
    fallbacks = models.PositiveIntegerField()
    # Mean confidence = confidence_sum / confidence_count (messages without a confidence don't count).
    confidence_sum = models.FloatField()
    confidence_count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="daily_intent_bucket")]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}: {self.intent or '(none)'} × {self.messages}"


class DailyMeetingStat(models.Model):
    """One meeting of a bucket's conversations: its rep, its status now, and its time to book.

    The dashboard's medians (per rep and overall) do not add up from counts, so each meeting keeps its
    own row; reading these is still far cheaper than finding every meeting's first visitor message.
    """

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    rep = models.ForeignKey("scheduling.SalesRep", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10)
    # From the visitor's first message to the booking; None without a visitor message (or off PostgreSQL).
    seconds_to_book = models.FloatField(null=True)

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="daily_meeting_bucket")]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}: meeting with rep {self.rep_id}, {self.status}"


class DailyFallbackText(models.Model):
    """Visitor messages of a bucket's conversations that the bot did not understand, per exact text.

    Retention blanks message text without moving a timestamp, so it marks the buckets it anonymised
    stale (privacy.services.conversations_anonymise): the texts leave the rollup at the next refresh.
    """

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    text = models.TextField()
    messages = models.PositiveIntegerField()
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="daily_fallback_text_bucket")]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}: {self.text[:40]!r} × {self.messages}"


class RollupState(models.Model):
    """One row: up to when the rollups have taken changes in (its lock serializes refreshes)."""

    refreshed_up_to = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"Rollups refreshed up to {self.refreshed_up_to}"


class StaleBucket(models.Model):
    """A bucket to recompute at the next refresh: something in it was deleted (see analytics/signals.py).

    Written in the deleting transaction, so a rolled-back delete leaves no mark; consumed by the
    refresh with DELETE ... RETURNING, so a mark committed meanwhile waits for the next one.
    """

    site = models.ForeignKey("chatbot.Site", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    def __str__(self) -> str:
        return f"Stale: {self.day} site {self.site_id}"
