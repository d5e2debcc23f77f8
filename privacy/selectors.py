"""Reads of privacy: who one person is in our tables, everything stored about them, what retention is due.

A person is found by their email address, the one thing a visitor who asks for their data (or
for its erasure) can give us. From it:

1. the conversations where they gave it: their lead has it, a meeting was booked with it, or they
   typed it into a visitor message (PostgreSQL answers that from the message text's trigram index);
2. the browsers (``Visitor``) those conversations came from, and every other conversation of those
   browsers: the same token means the same person, even in a chat where they gave no email;
3. every meeting of those conversations, and every meeting booked with the address (also one whose
   conversation is already gone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from analytics.expressions import has_meeting
from chatbot.models import Conversation, Message, Site, Visitor
from privacy.errors import PrivacyError
from qualification.fact_fields import FACT_FIELDS
from qualification.models import Lead
from qualification.parsing import email_normalized
from scheduling.models import Meeting

EMAIL_HASH_SALT = "leadbot.privacy.email"


def email_normalize(email: str) -> str:
    """The address as we compare it (trimmed, lower case); PrivacyError("invalid_email") when it is none."""
    normalized = email_normalized(email or "")  # the one validator (qualification/parsing/contact.py)
    if normalized is None:
        raise PrivacyError("invalid_email", email=(email or "").strip()[:200])
    return normalized.lower()


def email_hash(email: str, *, secret: str | None = None) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of the normalized address.

    Keyed, not a plain SHA-256: anyone can hash a list of known addresses and compare; without
    the server's key they cannot.
    """
    return salted_hmac(EMAIL_HASH_SALT, email_normalize(email), secret=secret, algorithm="sha256").hexdigest()


def email_hashes(email: str) -> list[str]:
    """The address's hash under the current key and every fallback key (records made before a key rotation)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [email_hash(email, secret=secret) for secret in secrets]


@dataclass(frozen=True)
class Subject:
    """Everything stored about one person, as primary keys (see the module text for how it is found)."""

    email: str
    visitor_ids: frozenset[int] = field(default_factory=frozenset)
    conversation_ids: frozenset[int] = field(default_factory=frozenset)
    meeting_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.visitor_ids or self.conversation_ids or self.meeting_ids)

    def conversations(self) -> QuerySet[Conversation]:
        return Conversation.objects.filter(pk__in=self.conversation_ids)

    def meetings(self) -> QuerySet[Meeting]:
        return Meeting.objects.filter(pk__in=self.meeting_ids)

    def sender_ids(self) -> list[str]:
        """The conversations' ids in Rasa's tracker store."""
        return [str(public_id) for public_id in self.conversations().values_list("public_id", flat=True)]


def subject_find(*, email: str) -> Subject:
    email = email_normalize(email)
    meetings_with_email = Meeting.objects.filter(visitor_email__iexact=email)
    given_in = (
        set(Lead.objects.filter(email__iexact=email).values_list("conversation_id", flat=True))
        | set(meetings_with_email.exclude(conversation=None).values_list("conversation_id", flat=True))
        | set(
            Message.objects.filter(sender=Message.Sender.VISITOR, text__icontains=email).values_list(
                "conversation_id", flat=True
            )
        )
    )
    visitor_ids = set(Conversation.objects.filter(pk__in=given_in).values_list("visitor_id", flat=True))
    conversation_ids = given_in | set(
        Conversation.objects.filter(visitor_id__in=visitor_ids).values_list("pk", flat=True)
    )
    meeting_ids = set(
        Meeting.objects.filter(Q(conversation_id__in=conversation_ids) | Q(visitor_email__iexact=email)).values_list(
            "pk", flat=True
        )
    )
    return Subject(
        email=email,
        visitor_ids=frozenset(visitor_ids),
        conversation_ids=frozenset(conversation_ids),
        meeting_ids=frozenset(meeting_ids),
    )


def subject_counts(subject: Subject, *, now: dt.datetime | None = None) -> dict[str, int]:
    """How much is stored about the person (the erasure confirmation and the privacy log show this)."""
    now = now or timezone.now()
    return {
        "visitors": len(subject.visitor_ids),
        "conversations": len(subject.conversation_ids),
        "messages": Message.objects.filter(conversation_id__in=subject.conversation_ids).count(),
        "leads": Lead.objects.filter(conversation_id__in=subject.conversation_ids).count(),
        "meetings": len(subject.meeting_ids),
        "future_meetings": meetings_to_cancel(subject, now=now).count(),
    }


def meetings_to_cancel(subject: Subject, *, now: dt.datetime) -> QuerySet[Meeting]:
    """The person's meetings still to come: erasure cancels them (see privacy.services.visitor_erase)."""
    return subject.meetings().filter(status=Meeting.Status.BOOKED, end__gt=now).order_by("start")


def emails_of_conversations(conversation_ids) -> set[str]:
    """The addresses the people of these conversations gave (their leads' and meetings'), normalized.

    Also in their browsers' other conversations: a visit where someone gave no email is theirs too.
    """
    visitors = Conversation.objects.filter(pk__in=list(conversation_ids)).values("visitor_id")
    conversations = Conversation.objects.filter(visitor_id__in=visitors).values("pk")
    emails = set(Lead.objects.filter(conversation_id__in=conversations).values_list("email", flat=True))
    emails |= set(Meeting.objects.filter(conversation_id__in=conversations).values_list("visitor_email", flat=True))
    return {e.strip().lower() for e in emails if e and e.strip()}


def subject_email_of_conversations(conversation_ids) -> str:
    """The one person's address behind the selected conversations; PrivacyError when there are none or several."""
    emails = sorted(emails_of_conversations(conversation_ids))
    if not emails:
        raise PrivacyError("no_email")
    if len(emails) > 1:
        raise PrivacyError("several_people", count=len(emails), emails=", ".join(emails))
    return emails[0]


# --- Subject access: everything about the person, as a JSON document ---------------------------------------


def _time(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value else None


def _lead_document(lead: Lead) -> dict:
    facts = {name: getattr(lead, name) for name in FACT_FIELDS}
    return {
        "facts": facts,
        "in_your_words": lead.raw,
        "outcome": lead.outcome,
        "score": lead.score,
        "reasons": lead.reasons,
        "rule_set_version": lead.rule_set_version,
        "decided_at": _time(lead.decided_at),
        "consent_email_followup": lead.consent_email_followup,
        "consent_marketing": lead.consent_marketing,
        "created_at": _time(lead.created_at),
        "updated_at": _time(lead.updated_at),
        "decisions": [
            {
                "decided_at": _time(decision.decided_at),
                "outcome": decision.outcome,
                "score": decision.score,
                "reasons": decision.reasons,
                "rule_set_version": decision.rule_set_version,
                "trigger": decision.trigger,
            }
            for decision in lead.decisions.all()
        ],
    }


def _meeting_document(meeting: Meeting) -> dict:
    return {
        "id": str(meeting.public_id),
        "conversation": str(meeting.conversation.public_id) if meeting.conversation_id else None,
        "with": meeting.rep.name,
        "start": _time(meeting.start),
        "end": _time(meeting.end),
        "status": meeting.status,
        "visitor_name": meeting.visitor_name,
        "visitor_email": meeting.visitor_email,
        "visitor_timezone": meeting.visitor_timezone,
        "booked_at": _time(meeting.created_at),
        "cancelled_at": _time(meeting.cancelled_at),
        "cancel_reason": meeting.cancel_reason,
    }


def subject_export(subject: Subject, *, now: dt.datetime | None = None) -> dict:
    """Everything stored about the person, in a fixed number of queries.

    Visitor tokens are left out on purpose: a token is a key to the chat, not information about
    the person, and the export may travel by email.
    """
    now = now or timezone.now()
    conversations = (
        subject.conversations()
        .select_related("site", "lead")
        .prefetch_related(
            "messages",
            "slot_offers",
            # Django's default ordering on LeadDecision is newest first; the export keeps it.
            "lead__decisions",
        )
        .order_by("started_at", "pk")
    )
    meetings = subject.meetings().select_related("rep", "conversation").order_by("start", "pk")
    visitors = Visitor.objects.filter(pk__in=subject.visitor_ids).select_related("site").order_by("first_seen")
    return {
        "email": subject.email,
        "exported_at": _time(now),
        "browsers": [
            {"site": visitor.site.name, "first_seen": _time(visitor.first_seen), "last_seen": _time(visitor.last_seen)}
            for visitor in visitors
        ],
        "conversations": [_conversation_document(conversation) for conversation in conversations],
        "meetings": [_meeting_document(meeting) for meeting in meetings],
    }


def _conversation_document(conversation: Conversation) -> dict:
    try:
        lead = conversation.lead
    except Lead.DoesNotExist:
        lead = None
    return {
        "id": str(conversation.public_id),
        "site": conversation.site.name,
        "started_at": _time(conversation.started_at),
        "last_activity_at": _time(conversation.last_activity_at),
        "page_url": conversation.page_url,
        "referrer": conversation.referrer,
        "utm": conversation.utm,
        "timezone": conversation.timezone,
        "handoff_requested": conversation.handoff_requested,
        "messages": [
            {
                "at": _time(message.created_at),
                "from": message.sender,
                "text": message.text,
                "understood_as": message.intent,
                "facts": message.entities,
            }
            for message in sorted(conversation.messages.all(), key=lambda m: (m.created_at, m.pk))
        ],
        "lead": _lead_document(lead) if lead else None,
        "slots_offered": [
            {"at": _time(offer.created_at), "slots": offer.slots, "what_you_asked_for": offer.preference_text}
            for offer in conversation.slot_offers.all()
        ],
    }


# --- Retention ------------------------------------------------------------------------------------------------


def conversations_due(*, site: Site, now: dt.datetime) -> QuerySet[Conversation]:
    """The site's conversations past its retention period, oldest first.

    A conversation's period runs from its last message. One with a meeting still to come waits
    until the meeting is over: the rep needs to know whom they meet.
    """
    cutoff = now - dt.timedelta(days=site.retention_days)
    return (
        Conversation.objects.filter(site=site, anonymised_at__isnull=True, last_activity_at__lt=cutoff)
        .exclude(has_meeting(status=Meeting.Status.BOOKED, end__gt=now))
        .order_by("last_activity_at", "pk")
    )


def strictest_retention_days() -> int:
    """The shortest retention of any site (what a tracker conversation of no known site is held to)."""
    days = Site.objects.order_by("retention_days").values_list("retention_days", flat=True).first()
    return days or Site._meta.get_field("retention_days").default
