"""Writes of privacy: erasing one person, exporting what we hold about them, and retention.

Why a separate app: a person's data spans every other app (chatbot's visitors, conversations and
messages, qualification's leads, scheduling's meetings and the reps' calendars, analytics' rollups)
and Rasa's tracker store. Here one module depends on all of them and none of them on it; in any of
those apps it would make that app import the others.

**Erasure** (``visitor_erase``) deletes: the person's browsers (Visitor), their conversations with
the messages, the lead and its decisions and the slot offers, and the bot's memory of those
conversations in Rasa's tracker store. Meetings stay as rows (the rep's history: a meeting took
place at that time) with the visitor's name, email and zone blanked, and their calendar events
are rewritten without them (the event's description carries the need and the transcript).
A meeting still to come is cancelled first, through ``meeting_cancel``: there is nobody left to
meet, so keeping it would hold the rep's slot for an empty name; the cancellation frees the slot,
removes the calendar event and tells the rep. The visitor is not emailed: their address is what
they asked us to forget. The rollups of the days those conversations started are recomputed
(deleting marks them stale, analytics/signals.py), so the dashboard loses them, their meetings
included (its meetings per rep go by the conversation's start day).

**Retention** (``retention_apply``) anonymises instead of deleting, so marketing's figures for old
days never change: every count the dashboard shows is recomputed from the rows left behind (the
rollups rebuild a day whole from the chats, analytics/rollups.py), so the rows stay and only what
identifies a person goes. What stays: when the conversation happened, its site, status flags, UTM
source/medium/campaign, the landing page without its query string and the referrer's host (the
dashboard's source columns); per message who sent it, when, the intent and the question asked;
the lead's decision (outcome, score, reasons); the meeting's rep, times and status. What goes:
every message text, payload and extracted fact, every lead fact and the visitor's own words,
the visitor's name, email and zone on meetings (and on the reps' calendars), the slot preferences
typed, the browser's time zone, the visitor's token, and the conversation's events in Rasa.
Nothing is deleted, but the not-understood rollup keeps message texts, so the anonymised
conversations' days are marked stale: the next refresh recomputes them without the texts.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from analytics import rollups
from analytics.expressions import UrlHost, UrlWithoutQuery
from chatbot.models import Conversation, Message, Site, Visitor
from chatbot.services import VISITOR_TOKEN_BYTES
from privacy import selectors, tracker
from privacy.errors import PrivacyError
from privacy.models import PrivacyRecord
from qualification.models import Lead
from scheduling import tasks as scheduling_tasks
from scheduling.models import Meeting, SlotOffer
from scheduling.services import meeting_cancel

logger = logging.getLogger(__name__)

RETENTION_BATCH = 500
# The UTM tags the dashboard reads (analytics.expressions.source_fields); term and content go.
UTM_KEPT = ("utm_source", "utm_medium", "utm_campaign")
# Everything a lead holds that the visitor told the bot; the decision (outcome, score, reasons) stays.
LEAD_BLANK = {
    "visitor_type": "",
    "need_text": "",
    "use_case": "",
    "company_name": "",
    "company_size": None,
    "industry": "",
    "country": "",
    "role": "",
    "authority": "",
    "timeline_months": None,
    "buying_stage": "",
    "budget": "",
    "budget_amount": None,
    "name": "",
    "email": "",
    "email_flag": "",
    "raw": {},
}
MEETING_VISITOR_BLANK = {
    "visitor_name": "",
    "visitor_email": "",
    "visitor_email_domain": "",
    "visitor_timezone": "UTC",
    "cancel_reason": "",
}


def _actor_name(actor) -> str:
    return getattr(actor, "get_username", lambda: "")() if actor is not None else ""


def _record(*, kind: str, email: str, actor, via: str, summary: dict) -> PrivacyRecord:
    return PrivacyRecord.objects.create(
        kind=kind,
        email_hash=selectors.email_hash(email),
        performed_by=actor if getattr(actor, "pk", None) else None,
        performed_by_name=_actor_name(actor)[:150],
        via=via,
        summary=summary,
    )


def _meetings_forget_visitor(meeting_ids) -> None:
    """Blank the visitor on these meetings and rewrite their events on the reps' calendars (part of a transaction).

    The event's description is the rep's briefing (name, company, need, transcript): the calendar
    sync rewrites it from the blanked meeting, or removes it for a cancelled one. Only meetings that
    were written to a calendar are written again.
    """
    meetings = Meeting.objects.filter(pk__in=list(meeting_ids))
    meetings.update(**MEETING_VISITOR_BLANK)
    rewrite = meetings.exclude(sync_state=Meeting.SyncState.NOT_CONNECTED).exclude(
        status=Meeting.Status.CANCELLED, sync_state=Meeting.SyncState.SYNCED
    )
    rewrite_ids = list(rewrite.values_list("pk", flat=True))
    Meeting.objects.filter(pk__in=rewrite_ids).update(sequence=F("sequence") + 1, sync_state=Meeting.SyncState.PENDING)
    for meeting_id in rewrite_ids:
        transaction.on_commit(lambda meeting_id=meeting_id: scheduling_tasks.meeting_calendar_write.delay(meeting_id))


# --- Subject access ------------------------------------------------------------------------------------------


def visitor_export(*, email: str, actor=None, via: str = PrivacyRecord.Via.ADMIN) -> dict:
    """Everything stored about the person with this email, as a JSON-ready document; logged.

    Raises PrivacyError("unknown_email") when nothing is stored about them (nothing is logged then).
    """
    subject = selectors.subject_find(email=email)
    if subject.is_empty:
        raise PrivacyError("unknown_email", email=subject.email)
    document = selectors.subject_export(subject)
    summary = {
        "conversations": len(document["conversations"]),
        "messages": sum(len(c["messages"]) for c in document["conversations"]),
        "meetings": len(document["meetings"]),
    }
    _record(kind=PrivacyRecord.Kind.ACCESS, email=subject.email, actor=actor, via=via, summary=summary)
    return document


# --- Erasure ---------------------------------------------------------------------------------------------------


def visitor_erase(
    *, email: str, actor=None, via: str = PrivacyRecord.Via.ADMIN, now: dt.datetime | None = None
) -> PrivacyRecord:
    """Remove the person with this email everywhere (see the module text); returns the log record.

    Raises PrivacyError: ``unknown_email`` (nothing stored: nothing changes, nothing is logged),
    ``invalid_email``, ``tracker_unavailable`` (Rasa's store is down: nothing changes; try again).
    Running it again after a success finds nothing and says so.
    """
    now = now or timezone.now()
    subject = selectors.subject_find(email=email)
    if subject.is_empty:
        raise PrivacyError("unknown_email", email=subject.email)
    senders = subject.sender_ids()
    # Rasa's store first: when it cannot be reached, nothing else has changed yet.
    try:
        tracker_events = tracker.events_delete(sender_ids=senders)
    except tracker.TrackerUnavailable as exc:
        raise PrivacyError("tracker_unavailable", error=str(exc)[:300]) from exc

    with transaction.atomic():
        summary = selectors.subject_counts(subject, now=now)
        cancelled = 0
        for meeting in selectors.meetings_to_cancel(subject, now=now):
            meeting_cancel(meeting=meeting)
            cancelled += 1
        summary["meetings_cancelled"] = cancelled
        summary.pop("future_meetings", None)
        _meetings_forget_visitor(subject.meeting_ids)
        # Cascades to messages, the lead and its decisions, slot offers; meetings keep their row (SET_NULL).
        Conversation.objects.filter(pk__in=subject.conversation_ids).delete()
        Visitor.objects.filter(pk__in=subject.visitor_ids).delete()
        record = _record(kind=PrivacyRecord.Kind.ERASURE, email=subject.email, actor=actor, via=via, summary=summary)

    # A turn Rasa was answering during the erasure may have saved its tracker again: delete once more.
    try:
        tracker_events += tracker.events_delete(sender_ids=senders)
    except tracker.TrackerUnavailable:
        logger.warning("Rasa's tracker store was unreachable on the second pass of erasure %s", record.pk)
    record.summary = {**record.summary, "tracker_events": tracker_events}
    record.save(update_fields=["summary"])
    rollups.refresh()  # the days of the deleted conversations were marked stale by their deletion
    return record


# --- Retention -------------------------------------------------------------------------------------------------


@dataclass
class RetentionRun:
    conversations: int = 0
    meetings: int = 0
    visitors: int = 0  # browsers whose every conversation is now anonymised (their token was replaced)
    tracker_events: int = 0
    tracker_failures: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Anonymised:
    sender_ids: list[str]  # the conversations' ids in Rasa's tracker store
    meetings: int
    visitors: int


def conversations_anonymise(*, conversation_ids, now: dt.datetime | None = None) -> Anonymised:
    """Anonymise these conversations (those not anonymised yet; see the module text).

    Only UPDATEs: the rows the dashboard counts stay, and no timestamp the rollups watch moves; their
    days are marked stale, so the rollup of not-understood texts drops the blanked texts at the next refresh.
    """
    now = now or timezone.now()
    with transaction.atomic():
        conversations = Conversation.objects.select_for_update().filter(
            pk__in=list(conversation_ids), anonymised_at__isnull=True
        )
        rows = list(conversations.values_list("pk", "public_id", "utm"))
        ids = [pk for pk, _, _ in rows]
        if not ids:
            return Anonymised(sender_ids=[], meetings=0, visitors=0)
        Message.objects.filter(conversation_id__in=ids).update(
            text="", payload="", buttons=[], entities=[], client_id=""
        )
        rollups.mark_conversations_stale(Conversation.objects.filter(pk__in=ids))
        Lead.objects.filter(conversation_id__in=ids).update(**LEAD_BLANK)
        SlotOffer.objects.filter(conversation_id__in=ids).update(preference_text="")
        meeting_ids = list(Meeting.objects.filter(conversation_id__in=ids).values_list("pk", flat=True))
        _meetings_forget_visitor(meeting_ids)
        trimmed = [
            Conversation(pk=pk, utm={k: utm[k] for k in UTM_KEPT if k in utm})
            for pk, _, utm in rows
            if set(utm or {}) - set(UTM_KEPT)
        ]
        Conversation.objects.bulk_update(trimmed, ["utm"])
        # The page and referrer become exactly what the dashboard reads of them (the same expressions).
        Conversation.objects.filter(pk__in=ids).update(
            page_url=UrlWithoutQuery("page_url"),
            referrer=Case(
                When(referrer="", then=Value("")),
                default=Concat(Value("https://"), UrlHost("referrer"), Value("/")),
            ),
            timezone="",
            status=Conversation.Status.CLOSED,
            anonymised_at=now,
        )
        # A browser whose every conversation is anonymised gets a token nobody holds: a later visit
        # from it starts afresh instead of being linked to what was anonymised.
        done = Visitor.objects.filter(conversations__pk__in=ids).exclude(conversations__anonymised_at__isnull=True)
        visitors = [
            Visitor(pk=pk, token=secrets.token_urlsafe(VISITOR_TOKEN_BYTES))
            for pk in set(done.values_list("pk", flat=True))
        ]
        Visitor.objects.bulk_update(visitors, ["token"])
    return Anonymised(
        sender_ids=[str(public_id) for _, public_id, _ in rows], meetings=len(meeting_ids), visitors=len(visitors)
    )


def retention_apply(*, now: dt.datetime | None = None, batch_size: int = RETENTION_BATCH) -> RetentionRun:
    """Anonymise every site's conversations past its retention period, and prune Rasa's store.

    Batches of ``batch_size`` conversations, each in its own transaction, so a large backlog
    (the first run) never holds one long transaction. Safe to run any number of times.
    """
    now = now or timezone.now()
    run = RetentionRun()
    for site in Site.objects.order_by("pk"):
        while True:
            batch = list(selectors.conversations_due(site=site, now=now).values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            done = conversations_anonymise(conversation_ids=batch, now=now)
            run.conversations += len(done.sender_ids)
            run.meetings += done.meetings
            run.visitors += done.visitors
            try:
                run.tracker_events += tracker.events_delete(sender_ids=done.sender_ids)
            except tracker.TrackerUnavailable as exc:
                # The sweep below deletes them on a later run (they belong to anonymised conversations).
                run.tracker_failures += 1
                logger.warning(
                    "Retention: Rasa's tracker store unavailable (%s); its events wait for the next run", exc
                )
    try:
        run.tracker_events += tracker_sweep(now=now)
    except tracker.TrackerUnavailable as exc:
        run.tracker_failures += 1
        logger.warning("Retention: Rasa's tracker store unavailable for the sweep (%s)", exc)
    return run


def tracker_sweep(*, now: dt.datetime) -> int:
    """Delete the tracker events no conversation of ours needs any more.

    Conversations idle longer than the strictest site's retention whose conversation is anonymised
    or gone (deleted in admin, erased while Rasa was down, a test sender): whatever happened on
    our side, the bot's memory of them does not outlive the retention period.
    """
    idle = tracker.senders_idle_since(before=now - dt.timedelta(days=selectors.strictest_retention_days()))
    if not idle:
        return 0
    keep = set()
    for chunk_start in range(0, len(idle), RETENTION_BATCH):
        chunk = idle[chunk_start : chunk_start + RETENTION_BATCH]
        ids = [sender for sender in chunk if _is_uuid(sender)]
        keep |= {
            str(public_id)
            for public_id in Conversation.objects.filter(public_id__in=ids, anonymised_at__isnull=True).values_list(
                "public_id", flat=True
            )
        }
    return tracker.events_delete(sender_ids=[sender for sender in idle if sender not in keep])


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
