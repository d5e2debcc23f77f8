"""What a rep's inbox shows: the live conversations of their sites, newest activity first.

Who sees which sites: superusers and the Marketing group see every active site (as everywhere,
access/selectors.py); a rep sees the sites listed on their rep profile (``SalesRep.sites``); any
other staff user sees none. Taking over a conversation needs a site the user sees.
"""

import contextlib
import uuid
from datetime import timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from access.selectors import sees_everything, user_rep
from chatbot import presence
from chatbot.models import Conversation, Message, Site
from chatbot.selectors import conversation_by_public_id, conversation_history
from qualification.fact_fields import FACT_FIELDS
from qualification.models import Lead

# "Current" conversations: active, with something said in the last day.
RECENT = timedelta(hours=24)
LIST_LIMIT = 100


def inbox_site_ids(*, user) -> list[int]:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return []
    if sees_everything(user):
        return list(Site.objects.filter(is_active=True).values_list("pk", flat=True))
    rep = user_rep(user)
    if rep is None or not rep.is_active:
        return []
    return list(rep.sites.filter(is_active=True).values_list("pk", flat=True))


def rep_display_name(*, user) -> str:
    """The name a visitor sees for this rep: their rep profile's, else their login's full name."""
    rep = user_rep(user)
    if rep is not None and rep.name:
        return rep.name
    return user.get_full_name() or user.get_username()


def _rows(queryset, *, user_id: int) -> list[dict]:
    # The last message's text as a column: one query (a sliced prefetch was a second one, with a window
    # function over every message of the conversations, and a tenth of the web process's time in a burst).
    last_text = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .exclude(sender=Message.Sender.SYSTEM)
        .order_by("-created_at", "-id")
        .values("text")[:1]
    )
    conversations = list(queryset.select_related("site", "lead").annotate(last_text=Subquery(last_text)))
    here = presence.visitors_on_site(conversation_ids=[c.pk for c in conversations])
    return [conversation_row(c, user_id=user_id, on_site=c.pk in here) for c in conversations]


def conversation_row(conversation: Conversation, *, user_id: int, on_site: bool = False) -> dict:
    """One conversation as the inbox shows it. ``needs_person``: it belongs in the queue on top: the
    visitor asked for a person, or qualified and is on the site right now (the widget open); no rep has it."""
    try:
        lead = conversation.lead
    except Lead.DoesNotExist:
        lead = None
    facts = {}
    if lead is not None:
        facts = {f: getattr(lead, f) for f in FACT_FIELDS if getattr(lead, f) not in ("", None)}
    return {
        "conversation": str(conversation.public_id),
        "site": conversation.site.name,
        "page": conversation.page_url,
        "started_at": conversation.started_at.isoformat(),
        "last_activity_at": conversation.last_activity_at.isoformat(),
        "handoff_requested_at": (
            conversation.handoff_requested_at.isoformat() if conversation.handoff_requested_at else None
        ),
        "held_by": conversation.held_by_name or None,
        "mine": conversation.held_by_id == user_id,
        "facts": facts,
        "score": lead.score if lead is not None else None,
        "outcome": lead.outcome if lead is not None else None,
        "last_message": (conversation.last_text or "")[:200],
        "on_site": on_site,
        "needs_person": conversation.held_by_id is None
        and (
            conversation.handoff_requested_at is not None
            or (on_site and lead is not None and lead.outcome == Lead.Outcome.QUALIFIED)
        ),
    }


def inbox_conversations(*, user, site_ids: list[int]) -> list[dict]:
    """The live list: active conversations with activity in the last day, newest activity first."""
    since = timezone.now() - RECENT
    queryset = Conversation.objects.filter(
        site_id__in=site_ids, status=Conversation.Status.ACTIVE, last_activity_at__gte=since
    ).order_by("-last_activity_at")[:LIST_LIMIT]
    return _rows(queryset, user_id=user.pk)


def inbox_conversation(*, user, site_ids: list[int], public_id: str) -> dict | None:
    """One row of the list, or None when the conversation is not on the user's sites (or the id is bad)."""
    rows = inbox_conversation_rows(user_id=user.pk, site_ids=site_ids, public_ids=[public_id])
    return rows[0] if rows else None


def inbox_conversation_rows(*, user_id: int, site_ids: list[int], public_ids: list[str]) -> list[dict]:
    """The rows of several conversations at once as this user sees them (those on the given sites; a bad id
    names none), newest activity first."""
    wanted = []
    for public_id in public_ids:
        with contextlib.suppress(ValueError):
            wanted.append(uuid.UUID(str(public_id)))
    queryset = Conversation.objects.filter(public_id__in=wanted, site_id__in=site_ids).order_by("-last_activity_at")
    return _rows(queryset, user_id=user_id)


def inbox_transcript(*, public_id: str) -> list[dict]:
    conversation = conversation_by_public_id(public_id)
    return conversation_history(conversation=conversation) if conversation is not None else []
