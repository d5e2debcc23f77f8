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

``meeting_book`` books any rep and time it is given. What a *visitor* may book is decided by
``slots_offer`` and ``meeting_book_offered``, which every visitor-facing caller uses (the bot,
a web page, the not-booked email link, the inbox): who may book (a qualified lead, or a chat
that was already offered times), only times that chat was offered, one live booking per chat.
They return an outcome code with its data and never English; each caller words the outcome
(the bot through its domain responses, see ``OFFER_CODES`` and ``BOOKING_CODES``).
"""

import re
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from chatbot.models import Conversation
from config import zones
from qualification import services as lead_services
from qualification.models import Lead
from qualification.parsing import email_in_text, email_normalized
from scheduling import calendar_sync, selectors, tasks
from scheduling.availability import Slot, free_slots, load_schedules
from scheduling.errors import SchedulingError
from scheduling.models import (
    MEETING_NO_OVERLAP,
    CalendarConnection,
    Meeting,
    SalesRep,
    SlotOffer,
    new_feed_token,
)
from scheduling.routing import email_domain, route_lead_with_owner
from scheduling.slot_text import Preference, nearest_first, ordinal_pick, parse_preference, slot_choice_parse

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
    if email_normalized(visitor_email) is None:
        raise SchedulingError("invalid_email")
    visitor_timezone = zones.zone_name(visitor_timezone)

    sync_state = _initial_sync_state(rep_id)  # read before taking the lock: keep the locked part short
    # Fail fast without queueing for the lock when the answer is already clear (a retry of the
    # same booking, or a slot that is gone); the checks are repeated under the lock.
    existing = _existing_booking(conversation)
    if existing is not None:
        return _same_or_already_booked(existing, rep_id=rep_id, start=start)
    rep = SalesRep.objects.filter(pk=rep_id).first()
    if rep is None:
        raise SchedulingError("slot_unavailable")
    try:
        _check_bookable(rep=rep, start=start, now=now)
    except SchedulingError as error:
        # A double click: the other click of this chat may have booked the slot since the check above.
        existing = _existing_booking(conversation) if error.code == "slot_taken" else None
        if existing is not None:
            return _same_or_already_booked(existing, rep_id=rep_id, start=start)
        raise
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


def meeting_reschedule(
    *,
    meeting: Meeting,
    start: datetime,
    end: datetime | None = None,
    now: datetime | None = None,
    on_rep_calendar: bool = False,
    if_sequence: int | None = None,
) -> Meeting:
    """Move a live meeting to another free slot of the same rep; bumps the iCalendar SEQUENCE.

    ``on_rep_calendar``: the rep already moved the meeting's event on their own calendar (to
    ``start``-``end``), so the time is theirs to choose: it is not checked against their
    availability, only against their other meetings (the database's exclusion constraint).
    ``if_sequence``: move only the version the caller saw (``meeting_changed`` otherwise).
    """
    now = now or timezone.now()
    start = _as_utc(start)
    try:
        with _rep_transaction(meeting.rep_id) as rep:
            current = Meeting.objects.select_for_update().get(pk=meeting.pk)
            if current.status != Meeting.Status.BOOKED:
                raise SchedulingError("meeting_not_active", meeting=current)
            if if_sequence is not None and current.sequence != if_sequence:
                raise SchedulingError("meeting_changed", meeting=current)
            end = _as_utc(end) if end is not None else start + timedelta(minutes=rep.meeting_minutes)
            if current.start == start and current.end == end:
                return current
            if not on_rep_calendar:
                _check_bookable(rep=rep, start=start, now=now, exclude_meeting_id=current.pk)
            current.start = start
            current.end = end
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


def meeting_cancel(*, meeting: Meeting, reason: str = "", if_sequence: int | None = None) -> Meeting:
    """Cancel a live meeting (frees its slot); cancelling twice is a no-op.

    ``if_sequence``: cancel only the version the caller saw (``meeting_changed`` otherwise).
    """
    with transaction.atomic():
        current = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if current.status == Meeting.Status.CANCELLED:
            return current
        if current.status != Meeting.Status.BOOKED:
            raise SchedulingError("meeting_not_active", meeting=current)
        if if_sequence is not None and current.sequence != if_sequence:
            raise SchedulingError("meeting_changed", meeting=current)
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


# ---- what a visitor may book: offers and bookings, as outcome codes ------------------------------------

OFFER_LIMIT = 5
# A typed preference or "Other times" filters a wider list down to what was asked for.
WIDE_LIMIT = 60

OFFER_CODES = (
    "offered",  # the next free times
    "offered_matching",  # times matching a typed preference
    "offered_nearest",  # nothing matches the preference: the nearest times
    "offered_later",  # "Other times": times after the last offer
    "no_later",  # nothing after the last offer: the earliest times again
    "not_understood",  # a typed preference that says no day or time: the next free times
    "nobody_free",  # no rep has a free time in the horizon (no slots)
    "already_booked",  # the chat has a live booking (meeting)
    "not_qualified",  # the visitor has not qualified and was never offered times
)
BOOKING_CODES = (
    "booked",  # meeting created
    "already_booked",  # the chat's live meeting (the same pick again, or another one)
    "email_needed",  # an offered time, but no email to send the invitation to (choice kept)
    "no_choice",  # nothing picked: offer
    "unreadable",  # a payload that is not a time: offer
    "not_offered",  # a time this chat was never shown (forged or stale): offer
    "slot_taken",  # someone else booked it first: offer without it
    "slot_unavailable",  # the time stopped being bookable: offer without it
    "invalid_email",
    "try_again",  # the rep's lock timed out under load
    "not_qualified",
)


@dataclass(frozen=True)
class Offer:
    """Times to show a visitor, in their zone (``zone`` is UTC when theirs is unknown: ``zone_is_fallback``)."""

    code: str
    zone: str
    zone_is_fallback: bool
    slots: list[Slot] = field(default_factory=list)
    preference: Preference | None = None  # what a typed preference was read as
    meeting: Meeting | None = None  # the live booking ("already_booked"), with its rep


@dataclass(frozen=True)
class BookingOutcome:
    """What became of a visitor's pick; ``offer`` holds fresh times when the pick could not be booked."""

    code: str
    zone: str
    zone_is_fallback: bool
    meeting: Meeting | None = None  # with its rep
    choice: str | None = None  # the pick as a payload value, kept while the email is asked for
    email: str = ""
    offer: Offer | None = None


@dataclass(frozen=True)
class _Visit:
    conversation: Conversation | None
    lead: Lead | None
    zone: str
    zone_is_fallback: bool
    allowed: bool


def _visit(conversation: Conversation | None, zone: str | None) -> _Visit:
    lead = selectors.lead_of(conversation) if conversation is not None else None
    name, fallback = selectors.visitor_zone(conversation=conversation, zone=zone)
    allowed = conversation is not None and selectors.booking_allowed(conversation=conversation, lead=lead)
    return _Visit(conversation=conversation, lead=lead, zone=name, zone_is_fallback=fallback, allowed=allowed)


def _spread_in_zone(slots: list[Slot], zone: str, *, waking_only: bool = False) -> list[Slot]:
    tz = zones.zone_info(zone)
    if waking_only:
        slots = [s for s in slots if selectors.in_visitor_day(s, tz)] or slots
    return selectors.spread_slots(slots, limit=OFFER_LIMIT, tz=tz)


def _offer(
    visit: _Visit,
    *,
    preference_text: str | None = None,
    after: datetime | None = None,
    exclude: tuple[int, datetime] | None = None,
    now: datetime,
) -> Offer:
    def made(code: str, **data) -> Offer:
        return Offer(code=code, zone=visit.zone, zone_is_fallback=visit.zone_is_fallback, **data)

    if not visit.allowed:
        return made("not_qualified")
    conversation, zone = visit.conversation, visit.zone
    meeting = selectors.booked_meeting(conversation)
    if meeting is not None:
        return made("already_booked", meeting=meeting)

    # Busy times cached too long ago are read again first (a calendar that is down: its cache is used).
    routed = route_lead_with_owner(lead=visit.lead, conversation=conversation, now=now)
    calendar_sync.reps_refresh_stale_busy(reps=routed[1], now=now)

    def find(**window) -> list[Slot]:
        found = selectors.slots_for_lead(
            lead=visit.lead, conversation=conversation, zone=zone, now=now, routed=routed, **window
        )
        return [s for s in found if exclude is None or (s.rep_id, s.start) != exclude]

    text = (preference_text or "").strip()
    preference = parse_preference(text, now=now, zone=zone) if text else None
    if preference is not None:
        end = preference.end.astimezone(UTC) if preference.end else None
        matching = [s for s in find(start=preference.start, end=end, limit=WIDE_LIMIT) if preference.matches(s.start)]
        if matching:
            code, slots = "offered_matching", _spread_in_zone(matching, zone)
        else:
            everything = find(limit=WIDE_LIMIT)
            nearest = set(nearest_first([s.start for s in everything], preference)[:OFFER_LIMIT])
            code, slots = (
                "offered_nearest",
                sorted((s for s in everything if s.start in nearest), key=lambda s: s.start),
            )
    elif after is not None:
        later = find(start=after + timedelta(minutes=1), limit=WIDE_LIMIT)
        code, slots = "offered_later", _spread_in_zone(later, zone, waking_only=True)
        if not slots:
            code, slots = "no_later", find(limit=OFFER_LIMIT)
    else:
        # A button's payload ("/other_times") is not a typed preference.
        code = "not_understood" if text and not text.startswith("/") else "offered"
        slots = find(limit=OFFER_LIMIT)
    if not slots:
        return made("nobody_free")
    # What the visitor typed is kept with the offer, understood or not (analytics reads both).
    slot_offer_record(conversation=conversation, slots=slots[:OFFER_LIMIT], preference_text=text[:500])
    return made(code, slots=slots[:OFFER_LIMIT], preference=preference)


def slots_offer(
    *,
    conversation: Conversation | None,
    zone: str | None = None,
    preference_text: str | None = None,
    after: datetime | None = None,
    exclude: tuple[int, datetime] | None = None,
    now: datetime | None = None,
) -> Offer:
    """Free times for this visitor, recorded as offered to the chat (a code of ``OFFER_CODES``).

    ``zone`` is the visitor's (default: the conversation's; UTC when neither is a zone);
    ``preference_text`` what they typed ("next Tuesday afternoon"); ``after`` continues
    after a previous offer ("Other times"); ``exclude`` leaves out one (rep id, start).
    Without a preference, times inside the visitor's waking day come first; offers are
    spread over several days.
    """
    visit = _visit(conversation, zone)
    return _offer(visit, preference_text=preference_text, after=after, exclude=exclude, now=now or timezone.now())


def _choice_from_words(conversation: Conversation, text: str) -> str | None:
    """ "the second one": that button of the latest offer, as a payload value."""
    offer = selectors.latest_offer(conversation)
    if offer is None or not offer.slots:
        return None
    index = ordinal_pick(text, len(offer.slots))
    if index is None:
        return None
    slot = offer.slots[index]
    return f"{slot['rep']}|{slot['start']}"


def meeting_book_offered(
    *,
    conversation: Conversation | None,
    choice: str | None,
    choice_text: str = "",
    email: str | None = None,
    zone: str | None = None,
    now: datetime | None = None,
) -> BookingOutcome:
    """Book the time a visitor picked from the times this chat was offered (a code of ``BOOKING_CODES``).

    ``choice`` is a slot button's value ("<rep_id>|<UTC ISO start>"), only a hint: it is
    checked against the chat's offers, then ``meeting_book`` re-checks availability under
    the rep's lock. ``choice_text`` is a typed pick ("the second one") of the latest offer.
    ``email`` defaults to the lead's. When the pick cannot be booked, the outcome carries a
    fresh offer, so the visitor always has times to choose from.
    """
    now = now or timezone.now()
    visit = _visit(conversation, zone)

    def outcome(code: str, **data) -> BookingOutcome:
        return BookingOutcome(code=code, zone=visit.zone, zone_is_fallback=visit.zone_is_fallback, **data)

    if not visit.allowed:
        return outcome("not_qualified")
    if choice is None and choice_text:
        choice = _choice_from_words(conversation, choice_text)
    if choice is None:
        return outcome("no_choice", offer=_offer(visit, now=now))
    picked = slot_choice_parse(choice)
    if picked is None:
        return outcome("unreadable", offer=_offer(visit, now=now))
    if not selectors.was_offered(conversation=conversation, choice=picked):
        return outcome("not_offered", offer=_offer(visit, now=now))
    lead = visit.lead
    email = (email or "").strip() or (lead.email if lead else "")
    if not email:
        return outcome("email_needed", choice=choice)
    try:
        booking = meeting_book(
            rep_id=picked.rep_id,
            start=picked.start,
            conversation=conversation,
            lead=lead,
            visitor_email=email,
            visitor_name=lead.name if lead else "",
            visitor_timezone=visit.zone,
            now=now,
        )
    except SchedulingError as error:
        if error.code == "already_booked" and error.meeting is not None:
            meeting = Meeting.objects.select_related("rep").get(pk=error.meeting.pk)
            return outcome("already_booked", meeting=meeting, email=meeting.visitor_email)
        if error.code in {"slot_taken", "slot_unavailable"}:
            fresh = _offer(visit, exclude=(picked.rep_id, picked.start), now=now)
            return outcome(error.code, choice=choice, offer=fresh)
        if error.code in {"invalid_email", "try_again"}:
            return outcome(error.code, choice=choice, email=email)
        raise
    meeting = Meeting.objects.select_related("rep").get(pk=booking.meeting.pk)
    return outcome("booked" if booking.created else "already_booked", meeting=meeting, email=meeting.visitor_email)


# ---- the invitation's address, and an email follow-up when nobody is free ------------------------------

REFUSAL_RE = re.compile(r"\b(no|nope|skip|cancel|stop|never ?mind|not now|rather not|don'?t|no thanks)\b", re.I)


@dataclass(frozen=True)
class EmailAnswer:
    code: str  # "recorded", "declined", "invalid_email"
    email: str = ""


def booking_email_record(*, conversation: Conversation, text: str) -> EmailAnswer:
    """The visitor's answer to "which email should the invitation go to?", stored on their lead.

    A refusal ("no thanks", "skip") is ``declined``: the visitor is never trapped in the question.
    """
    # the one email pattern and validator (qualification/parsing/contact.py): "sure, it's Ada@Prospect.example"
    # gives "Ada@prospect.example", as the qualification questions store it
    email = email_in_text(text)
    if email is None:
        return EmailAnswer("declined" if REFUSAL_RE.search(text or "") else "invalid_email")
    lead, _ = Lead.objects.get_or_create(conversation=conversation)
    if lead.email != email:
        lead_services.lead_record_facts(lead=lead, facts={"email": email}, raw={"email": email})
    return EmailAnswer("recorded", email)


@dataclass(frozen=True)
class FollowupOutcome:
    code: str  # "followup_recorded", "email_needed"
    email: str = ""


def followup_request(*, conversation: Conversation, email: str | None = None) -> FollowupOutcome:
    """Nobody was free and the visitor asked to be emailed: record their consent (and email).

    ``email`` defaults to the lead's; without one the outcome is ``email_needed``.
    """
    lead, _ = Lead.objects.get_or_create(conversation=conversation)
    email = lead.email or (email or "").strip()
    if not email:
        return FollowupOutcome("email_needed")
    facts: dict = {"consent_email_followup": True}
    if not lead.email:
        facts["email"] = email
    lead_services.lead_record_facts(lead=lead, facts=facts)
    return FollowupOutcome("followup_recorded", email)


def rep_feed_token_rotate(*, rep: SalesRep) -> SalesRep:
    """Give the rep a new ICS feed token: the old feed link stops working at once (a leaked link is revoked).

    Calendar apps subscribed to the old link see it fail and need the new one.
    """
    with transaction.atomic():
        current = SalesRep.objects.select_for_update().get(pk=rep.pk)
        current.feed_token = new_feed_token()
        current.save(update_fields=["feed_token"])
    return current
