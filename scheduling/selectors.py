"""Reads of scheduling: free slots of reps and pools, slots to offer a lead, what a chat was offered.

Every function here runs a constant number of queries whatever the range or the number
of reps (see ``availability.load_schedules``).
"""

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from chatbot.models import Conversation
from config import zones
from qualification.models import Lead
from scheduling.availability import Slot, free_slots, load_schedules, next_working_moment
from scheduling.models import Meeting, SalesRep, SlotOffer
from scheduling.routing import route_lead_with_owner
from scheduling.slot_text import SlotChoice

# Without a stated preference, offer times inside the visitor's own day first.
VISITOR_DAY = (time(8, 0), time(20, 0))
# Offered slots are spaced this far apart inside one day when there is room.
SPREADS = (timedelta(hours=3), timedelta(hours=1), timedelta(0))
# How far ahead "the team is back on ..." is looked for (beyond it, the bot says only that they are away).
BACK_WITHIN = timedelta(days=14)


def pool_free_slots(
    *, reps: list[SalesRep], start: datetime, end: datetime, now: datetime | None = None
) -> dict[int, list[Slot]]:
    """Free slots of each rep lying within [start, end), by rep id; 4 queries for any number of reps."""
    now = now or timezone.now()
    schedules = load_schedules(reps, start, end)
    return {rep_id: free_slots(s, start=start, end=end, now=now) for rep_id, s in schedules.items()}


def rep_free_slots(*, rep: SalesRep, start: datetime, end: datetime, now: datetime | None = None) -> list[Slot]:
    return pool_free_slots(reps=[rep], start=start, end=end, now=now)[rep.pk]


@dataclass(frozen=True)
class TeamHours:
    """Whether any of some reps is at work now, and if not, when the first of them is back."""

    working: bool
    back_at: datetime | None  # None while someone works, or when nobody is back within BACK_WITHIN


def team_hours(*, reps: list[SalesRep], now: datetime | None = None) -> TeamHours:
    """Working hours (each rep's own wall clock, daylight-saving safe) minus time off, of a pool right now;
    4 queries for any number of reps. No reps: nobody works."""
    now = now or timezone.now()
    schedules = load_schedules(reps, now, now + BACK_WITHIN)
    starts = [next_working_moment(s, after=now, within=BACK_WITHIN) for s in schedules.values()]
    first = min((s for s in starts if s is not None), default=None)
    if first == now:
        return TeamHours(working=True, back_at=None)
    return TeamHours(working=False, back_at=first)


def spread_slots(slots: list[Slot], *, limit: int, tz: zoneinfo.ZoneInfo) -> list[Slot]:
    """Up to ``limit`` slots: the earliest of each day first, then later ones spaced out within days."""
    by_day: dict[date, list[Slot]] = defaultdict(list)
    for slot in sorted(slots, key=lambda s: s.start):
        by_day[slot.start.astimezone(tz).date()].append(slot)
    picked: dict[date, list[Slot]] = defaultdict(list)
    count = 0
    for spread in SPREADS:
        progress = True
        while progress and count < limit:
            progress = False
            for day, day_slots in sorted(by_day.items()):
                if count >= limit:
                    break
                chosen = picked[day]
                for slot in day_slots:
                    if slot not in chosen and all(abs(slot.start - c.start) >= spread for c in chosen):
                        chosen.append(slot)
                        count += 1
                        progress = True
                        break
    return sorted((s for day in picked.values() for s in day), key=lambda s: s.start)


def slots_for_lead(
    *,
    lead: Lead | None,
    conversation: Conversation,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 5,
    zone: str | None = None,
    now: datetime | None = None,
    routed: tuple[SalesRep | None, list[SalesRep]] | None = None,
) -> list[Slot]:
    """Up to ``limit`` slots to offer this lead, spread over the coming days; [] when nobody is free.

    The lead is routed (account owner, rules, default pool). The slots offered are those of
    one rep: the account owner if they have a free slot in the window, else the first rep in
    fair round-robin order who has one (so a rep who is away does not hold up the pool).
    ``start``/``end`` narrow the window to a stated preference; without one, reps with times
    inside the visitor's 08:00-20:00 are preferred, and only those times are offered.
    ``zone`` is the visitor's (default: the conversation's). ``routed`` is the routing's answer
    (owner, reps) when the caller already has it.
    """
    now = now or timezone.now()
    owner, reps = routed or route_lead_with_owner(lead=lead, conversation=conversation, now=now)
    if not reps:
        return []
    window_start = max(start or now, now)
    window_end = end or now + timedelta(days=max(rep.horizon_days for rep in reps) + 1)
    if window_end <= window_start:
        return []
    schedules = load_schedules(reps, window_start, window_end)  # 4 queries for the whole pool
    tz = zones.zone_info(zone or conversation.timezone)
    prefer_waking = start is None and end is None
    fallback: list[Slot] = []
    # The owner first, then fairness order (route_lead's order); only compute until a rep fits.
    for rep in reps:
        slots = free_slots(schedules[rep.pk], start=window_start, end=window_end, now=now)
        if not slots:
            continue
        offered = [s for s in slots if in_visitor_day(s, tz)] if prefer_waking else slots
        if offered:
            return spread_slots(offered, limit=limit, tz=tz)
        if owner is not None and rep.pk == owner.pk:
            return spread_slots(slots, limit=limit, tz=tz)  # the account owner even at odd hours
        fallback = fallback or slots
    return spread_slots(fallback, limit=limit, tz=tz)


def in_visitor_day(slot: Slot, tz: zoneinfo.ZoneInfo) -> bool:
    """Whether the slot starts inside the visitor's waking day (``VISITOR_DAY`` in their zone)."""
    return VISITOR_DAY[0] <= slot.start.astimezone(tz).time() < VISITOR_DAY[1]


# ---- what this chat may book ---------------------------------------------------------------------------


def visitor_zone(*, conversation: Conversation | None, zone: str | None = None) -> tuple[str, bool]:
    """The zone to write a visitor's times in: ``zone`` (the bot's slot, from the browser) else the
    conversation's, else UTC; the flag says it is the UTC fallback."""
    return zones.zone_or_utc(zone or (conversation.timezone if conversation is not None else None))


def lead_of(conversation: Conversation) -> Lead | None:
    return Lead.objects.filter(conversation=conversation).first()


def booking_allowed(*, conversation: Conversation, lead: Lead | None) -> bool:
    """Times are offered to qualified leads only, or once they were offered in this chat (a reload,
    a button pressed again, a lead re-scored after the offer)."""
    if lead is not None and lead.outcome == Lead.Outcome.QUALIFIED:
        return True
    return SlotOffer.objects.filter(conversation=conversation).exists()


def was_offered(*, conversation: Conversation, choice: SlotChoice) -> bool:
    """Only times this chat was shown can be booked from it (a forged payload picks no rep).

    Checked in Python: the embedded SQLite default has no JSON containment lookup.
    """
    wanted = {"rep": choice.rep_id, "start": choice.start.isoformat()}
    offers = SlotOffer.objects.filter(conversation=conversation).values_list("slots", flat=True)
    return any(wanted in slots for slots in offers)


def latest_offer(conversation: Conversation) -> SlotOffer | None:
    return SlotOffer.objects.filter(conversation=conversation).order_by("-created_at", "-id").first()


def booked_meeting(conversation: Conversation) -> Meeting | None:
    """The conversation's live booking, with its rep."""
    return (
        Meeting.objects.select_related("rep")
        .filter(conversation=conversation, status=Meeting.Status.BOOKED)
        .order_by("-created_at")
        .first()
    )
