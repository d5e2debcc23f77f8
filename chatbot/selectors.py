import datetime as dt
import uuid

from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone

from chatbot.models import Conversation, Message, Site, Takeover

HISTORY_LIMIT = 200
# Visitor messages the bot has still to answer: just sent, or queued for later.
WAITING = (Message.Delivery.PENDING, Message.Delivery.QUEUED)


def message_frame(message: Message) -> dict:
    """A stored message as the widget protocol shows it."""
    frame = {
        "id": message.pk,
        "sender": message.sender,
        "text": message.text,
        "buttons": message.buttons,
        "created_at": message.created_at.isoformat(),
    }
    if message.sender == Message.Sender.REP:
        frame["name"] = message.author_name
    return frame


def conversation_holder(*, conversation_id: int) -> str | None:
    """The name of the rep holding the conversation (the bot is paused), or None when the bot answers."""
    row = Conversation.objects.filter(pk=conversation_id).values_list("held_by_id", "held_by_name").first()
    return row[1] if row and row[0] else None


def conversation_history(*, conversation: Conversation, limit: int = HISTORY_LIMIT) -> list[dict]:
    recent = list(conversation.messages.order_by("-created_at", "-id")[:limit])
    return [message_frame(m) for m in reversed(recent)]


def conversation_by_public_id(public_id: str) -> Conversation | None:
    """The conversation a bot sender id names; None for anything else (a shell's sender id, a bad id)."""
    try:
        wanted = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Conversation.objects.filter(public_id=wanted).first()


def widget_config(*, site: Site) -> dict:
    """What the widget needs before the chat starts: the site's privacy notice and policy link."""
    return {
        "privacy": {
            "notice": site.privacy_notice,
            "policy_url": site.privacy_policy_url,
            "policy_label": site.privacy_policy_label,
        }
    }


def session_resumable(*, site: Site, visitor_token: str | None) -> bool:
    """Would a `start` with this token resume a conversation (rather than open a new one)?"""
    if not visitor_token:
        return False
    return Conversation.objects.filter(
        site=site, visitor__token=visitor_token, visitor__site=site, status=Conversation.Status.ACTIVE
    ).exists()


def utc_day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    return now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def site_conversations_today(*, site: Site) -> int:
    """New conversations of the site since 00:00 UTC: what its daily cap counts."""
    return Conversation.objects.filter(site=site, started_at__gte=utc_day_start()).count()


def handoff_wait_remaining(*, conversation_id: int) -> float | None:
    """Seconds until the bot should say nobody came for the visitor's request for a person (0 when
    overdue); None when there is nothing to wait for (no request, a rep holds it, or it was said)."""
    row = (
        Conversation.objects.filter(
            pk=conversation_id,
            handoff_requested_at__isnull=False,
            handoff_unanswered_at__isnull=True,
            held_by__isnull=True,
        )
        .values_list("handoff_requested_at", "site__handoff_wait_seconds")
        .first()
    )
    if row is None:
        return None
    due = row[0] + dt.timedelta(seconds=row[1])
    return max(0.0, (due - timezone.now()).total_seconds())


def handoffs_overdue(*, now: dt.datetime | None = None, within: dt.timedelta = dt.timedelta(days=1)) -> list[int]:
    """Requests for a person (asked within ``within``) whose site's wait is over with no rep, and not
    yet told so: what the sweep says "nobody came" for when its timer was lost."""
    now = now or timezone.now()
    due = ExpressionWrapper(
        F("handoff_requested_at") + F("site__handoff_wait_seconds") * dt.timedelta(seconds=1),
        output_field=DateTimeField(),
    )
    return list(
        Conversation.objects.filter(
            handoff_requested_at__gte=now - within,
            handoff_unanswered_at__isnull=True,
            held_by__isnull=True,
            status=Conversation.Status.ACTIVE,
        )
        .annotate(due=due)
        .filter(due__lte=now)
        .exclude(takeovers__taken_at__gte=F("handoff_requested_at"))
        .values_list("pk", flat=True)[:500]
    )


def message_next_pending(*, conversation_id: int) -> Message | None:
    """The conversation's oldest visitor message still waiting for the bot."""
    return (
        Message.objects.filter(conversation_id=conversation_id, delivery__in=WAITING)
        .order_by("created_at", "id")
        .first()
    )


def conversations_waiting(*, since: dt.datetime, limit: int = 500) -> list[int]:
    """Conversations with a message pending since before ``since`` that nobody is sending (no live lease)."""
    now = timezone.now()
    return list(
        Conversation.objects.filter(
            messages__delivery__in=WAITING,
            messages__created_at__lt=since,
        )
        .exclude(bot_lease_until__gte=now)
        .values_list("pk", flat=True)
        .distinct()[:limit]
    )


def takeover_visitor_messages(*, public_id: str) -> list[Message]:
    """The visitor's messages of the latest takeover, in order: a rep read them, the bot never did.

    Bounded by the previous takeover's end rather than by this one's start, so a message stored just
    before the take and marked for the rep under it (``message_mark_for_rep``) is one of them.
    """
    takeovers = list(
        Takeover.objects.filter(conversation__public_id=public_id)
        .order_by("-taken_at")
        .values_list("released_at", flat=True)[:2]
    )
    if not takeovers:
        return []
    held = Message.objects.filter(
        conversation__public_id=public_id, sender=Message.Sender.VISITOR, delivery=Message.Delivery.TO_REP
    )
    if len(takeovers) == 2 and takeovers[1] is not None:
        held = held.filter(created_at__gt=takeovers[1])
    return list(held.order_by("created_at", "id"))


def bot_metadata(*, conversation: Conversation) -> dict:
    """What a turn tells Rasa about the visitor when no open tab says it (a queued turn)."""
    return {"timezone": conversation.timezone, "page": conversation.page_url, "utm": conversation.utm}
