"""Writes of scheduling: booking, rescheduling, cancelling meetings; recording offered slots.

No double booking, in three layers:
1. the rep's row is locked (``SELECT ... FOR UPDATE`` with ``lock_timeout``) so bookings of
   one rep run one after another, and the slot is re-checked against availability inside
   that transaction (never trust a button payload);
2. PostgreSQL's exclusion constraint ``meeting_no_overlap_per_rep`` refuses overlapping
   live meetings of a rep whatever wrote them; its violation becomes "slot_taken";
3. the partial unique constraint ``meeting_one_booked_per_conversation`` keeps one live
   booking per conversation.
On the embedded SQLite default (no row locks, no exclusion constraint) a process-wide lock
serialises bookings instead; SQLite has a single writer anyway.

Booking the same slot again from the same conversation (double click, reload, retried
message) returns the existing meeting with ``created=False``. Booking a *different* slot
while the conversation already has a live meeting raises ``SchedulingError("already_booked")``
carrying that meeting: moving it is an explicit ``meeting_reschedule`` (the bot asks first),
never a side effect of a stray second click.
"""

import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from chatbot.models import Conversation
from qualification.models import Lead
from scheduling import tasks
from scheduling.availability import Slot, free_slots, load_schedules
from scheduling.errors import SchedulingError
from scheduling.models import (
    MEETING_NO_OVERLAP,
    CalendarConnection,
    Meeting,
    SalesRep,
    SlotOffer,
    new_feed_token,
    validate_timezone,
)
from scheduling.routing import email_domain

UTC = dt_timezone.utc
ONE_BOOKED_PER_CONVERSATION = "meeting_one_booked_per_conversation"
_local_booking_lock = threading.Lock()


@dataclass(frozen=True)
class Booking:
    meeting: Meeting
    created: bool  # False when the conversation already had this booking (double click, retry, reload)


def _lock_timeout_ms() -> int:
    return int(getattr(settings, "SCHEDULING_LOCK_TIMEOUT_MS", 5000))


@contextmanager
def _rep_transaction(rep_id: int):
    """A transaction holding the rep's row lock; yields the fresh rep."""
    postgres = connection.vendor == "postgresql"
    try:
        with nullcontext() if postgres else _local_booking_lock, transaction.atomic():
            if postgres:
                # SET LOCAL lock_timeout, as a function so the value is a bound parameter.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{_lock_timeout_ms()}ms"])
            try:
                rep = SalesRep.objects.select_for_update(nowait=False).get(pk=rep_id)
            except SalesRep.DoesNotExist as exc:
                raise SchedulingError("slot_unavailable") from exc
            yield rep
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise SchedulingError("try_again") from exc
        raise


def _is_lock_timeout(exc: Exception) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "55P03" or "lock timeout" in str(exc)


def _violated_constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    if name:
        return name
    text = str(exc)
    if MEETING_NO_OVERLAP in text:
        return MEETING_NO_OVERLAP
    if ONE_BOOKED_PER_CONVERSATION in text or "scheduling_meeting.conversation_id" in text:
        return ONE_BOOKED_PER_CONVERSATION
    return ""


def _as_utc(value: datetime) -> datetime:
    if timezone.is_naive(value):
        raise SchedulingError("slot_unavailable")
    return value.astimezone(UTC)


def _check_bookable(*, rep: SalesRep, start: datetime, now: datetime, exclude_meeting_id: int | None = None) -> None:
    """Raise unless [start, start + meeting length) is one of the rep's free slots right now."""
    end = start + timedelta(minutes=rep.meeting_minutes)
    schedule = load_schedules([rep], start, end, exclude_meeting_id=exclude_meeting_id)[rep.pk]
    if any(s.start == start for s in free_slots(schedule, start=start, end=end, now=now)):
        return
    if any(s.start == start for s in free_slots(schedule, start=start, end=end, now=now, ignore_meetings=True)):
        raise SchedulingError("slot_taken")
    raise SchedulingError("slot_unavailable")


def _initial_sync_state(rep_id: int) -> str:
    if CalendarConnection.objects.filter(rep_id=rep_id, is_active=True).exists():
        return Meeting.SyncState.PENDING
    return Meeting.SyncState.NOT_CONNECTED


def _queue_change(meeting: Meeting, change: str) -> None:
    meeting_id = meeting.pk
    transaction.on_commit(lambda: tasks.meeting_changed.delay(meeting_id, change))


def _existing_booking(conversation: Conversation) -> Meeting | None:
    return Meeting.objects.filter(conversation=conversation, status=Meeting.Status.BOOKED).first()


def _same_or_already_booked(existing: Meeting, *, rep_id: int, start: datetime) -> Booking:
    if existing.rep_id == rep_id and existing.start == start:
        return Booking(meeting=existing, created=False)
    raise SchedulingError("already_booked", meeting=existing)


def meeting_book(
    *,
    rep_id: int,
    start: datetime,
    conversation: Conversation,
    lead: Lead | None,
    visitor_email: str,
    visitor_name: str = "",
    visitor_timezone: str = "UTC",
    now: datetime | None = None,
) -> Booking:
    """Book the visitor onto the rep's slot starting at ``start``; see the module text for the guarantees.

    Raises SchedulingError: slot_taken, slot_unavailable, already_booked, invalid_email, try_again.
    """
    now = now or timezone.now()
    start = _as_utc(start)
    visitor_email = visitor_email.strip()
    try:
        validate_email(visitor_email)
    except ValidationError as exc:
        raise SchedulingError("invalid_email") from exc
    try:
        validate_timezone(visitor_timezone)
    except ValidationError:
        visitor_timezone = "UTC"

    sync_state = _initial_sync_state(rep_id)  # read before taking the lock: keep the locked part short
    # Fail fast without queueing for the lock when the answer is already clear (a retry of the
    # same booking, or a slot that is gone); the checks are repeated under the lock.
    existing = _existing_booking(conversation)
    if existing is not None:
        return _same_or_already_booked(existing, rep_id=rep_id, start=start)
    rep = SalesRep.objects.filter(pk=rep_id).first()
    if rep is None:
        raise SchedulingError("slot_unavailable")
    _check_bookable(rep=rep, start=start, now=now)
    try:
        with _rep_transaction(rep_id) as rep:
            existing = _existing_booking(conversation)
            if existing is not None:
                return _same_or_already_booked(existing, rep_id=rep.pk, start=start)
            _check_bookable(rep=rep, start=start, now=now)
            meeting = Meeting(
                rep=rep,
                lead=lead,
                conversation=conversation,
                start=start,
                end=start + timedelta(minutes=rep.meeting_minutes),
                visitor_name=visitor_name.strip()[:200],
                visitor_email=visitor_email,
                visitor_email_domain=email_domain(visitor_email),
                visitor_timezone=visitor_timezone,
                sync_state=sync_state,
            )
            # Constraints are the database's job (a race would pass a Python check anyway), and the
            # related rows were just loaded: skip those queries while the rep is locked.
            meeting.full_clean(exclude=["rep", "lead", "conversation"], validate_constraints=False)
            meeting.save()
            _queue_change(meeting, "booked")
    except IntegrityError as exc:
        constraint = _violated_constraint(exc)
        if constraint == MEETING_NO_OVERLAP:
            raise SchedulingError("slot_taken") from exc
        if constraint == ONE_BOOKED_PER_CONVERSATION and (existing := _existing_booking(conversation)):
            return _same_or_already_booked(existing, rep_id=rep_id, start=start)
        raise
    return Booking(meeting=meeting, created=True)


def meeting_reschedule(*, meeting: Meeting, start: datetime, now: datetime | None = None) -> Meeting:
    """Move a live meeting to another free slot of the same rep; bumps the iCalendar SEQUENCE."""
    now = now or timezone.now()
    start = _as_utc(start)
    try:
        with _rep_transaction(meeting.rep_id) as rep:
            current = Meeting.objects.select_for_update().get(pk=meeting.pk)
            if current.status != Meeting.Status.BOOKED:
                raise SchedulingError("meeting_not_active", meeting=current)
            if current.start == start:
                return current
            _check_bookable(rep=rep, start=start, now=now, exclude_meeting_id=current.pk)
            current.start = start
            current.end = start + timedelta(minutes=rep.meeting_minutes)
            current.sequence += 1
            current.reminder_24h_sent_at = current.reminder_1h_sent_at = None
            if current.sync_state != Meeting.SyncState.NOT_CONNECTED:
                current.sync_state = Meeting.SyncState.PENDING
            current.full_clean(validate_constraints=False)
            current.save()
            _queue_change(current, "rescheduled")
    except IntegrityError as exc:
        if _violated_constraint(exc) == MEETING_NO_OVERLAP:
            raise SchedulingError("slot_taken") from exc
        raise
    return current


def meeting_cancel(*, meeting: Meeting, reason: str = "") -> Meeting:
    """Cancel a live meeting (frees its slot); cancelling twice is a no-op."""
    with transaction.atomic():
        current = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if current.status == Meeting.Status.CANCELLED:
            return current
        if current.status != Meeting.Status.BOOKED:
            raise SchedulingError("meeting_not_active", meeting=current)
        current.status = Meeting.Status.CANCELLED
        current.cancelled_at = timezone.now()
        current.cancel_reason = reason.strip()[:500]
        current.sequence += 1
        if current.sync_state != Meeting.SyncState.NOT_CONNECTED:
            current.sync_state = Meeting.SyncState.PENDING
        current.full_clean(validate_constraints=False)
        current.save()
        _queue_change(current, "cancelled")
    return current


def meeting_set_status(*, meeting: Meeting, status: str) -> Meeting:
    """Admin outcome of a meeting: held, no_show or cancelled."""
    if status == Meeting.Status.CANCELLED:
        return meeting_cancel(meeting=meeting, reason="Cancelled in admin")
    if status not in (Meeting.Status.HELD, Meeting.Status.NO_SHOW):
        raise SchedulingError("invalid_status")
    with transaction.atomic():
        current = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if current.status == Meeting.Status.CANCELLED:
            raise SchedulingError("meeting_not_active", meeting=current)
        if current.status == status:
            return current
        current.status = status
        current.full_clean(validate_constraints=False)
        current.save(update_fields=["status", "updated_at"])
        _queue_change(current, "status")
    return current


def slot_offer_record(*, conversation: Conversation, slots: list[Slot], preference_text: str = "") -> SlotOffer:
    """Remember which slots the bot showed (the funnel's 'slots offered' step)."""
    offer = SlotOffer(
        conversation=conversation,
        slots=[{"rep": s.rep_id, "start": s.start.astimezone(UTC).isoformat()} for s in slots],
        preference_text=preference_text.strip()[:500],
    )
    offer.full_clean()
    offer.save()
    return offer


def rep_feed_token_rotate(*, rep: SalesRep) -> SalesRep:
    """Give the rep a new ICS feed token: the old feed link stops working at once (a leaked link is revoked).

    Calendar apps subscribed to the old link see it fail and need the new one.
    """
    with transaction.atomic():
        current = SalesRep.objects.select_for_update().get(pk=rep.pk)
        current.feed_token = new_feed_token()
        current.save(update_fields=["feed_token"])
    return current
