"""Reads of scheduling: free slots of reps and pools, slots to offer a lead.

Every function here runs a constant number of queries whatever the range or the number
of reps (see ``availability.load_schedules``).
"""

import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from chatbot.models import Conversation
from qualification.models import Lead
from scheduling.availability import Slot, free_slots, load_schedules
from scheduling.models import SalesRep
from scheduling.routing import route_lead_with_owner

# Without a stated preference, offer times inside the visitor's own day first.
VISITOR_DAY = (time(8, 0), time(20, 0))
# Offered slots are spaced this far apart inside one day when there is room.
SPREADS = (timedelta(hours=3), timedelta(hours=1), timedelta(0))


def pool_free_slots(
    *, reps: list[SalesRep], start: datetime, end: datetime, now: datetime | None = None
) -> dict[int, list[Slot]]:
    """Free slots of each rep lying within [start, end), by rep id; 4 queries for any number of reps."""
    now = now or timezone.now()
    schedules = load_schedules(reps, start, end)
    return {rep_id: free_slots(s, start=start, end=end, now=now) for rep_id, s in schedules.items()}


def rep_free_slots(*, rep: SalesRep, start: datetime, end: datetime, now: datetime | None = None) -> list[Slot]:
    return pool_free_slots(reps=[rep], start=start, end=end, now=now)[rep.pk]


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


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
    now: datetime | None = None,
) -> list[Slot]:
    """Up to ``limit`` slots to offer this lead, spread over the coming days; [] when nobody is free.

    The lead is routed (account owner, rules, default pool). The slots offered are those of
    one rep: the account owner if they have a free slot in the window, else the first rep in
    fair round-robin order who has one (so a rep who is away does not hold up the pool).
    ``start``/``end`` narrow the window to a stated preference; without one, reps with times
    inside the visitor's 08:00-20:00 are preferred, and only those times are offered.
    """
    now = now or timezone.now()
    owner, reps = route_lead_with_owner(lead=lead, conversation=conversation, now=now)
    if not reps:
        return []
    window_start = max(start or now, now)
    window_end = end or now + timedelta(days=max(rep.horizon_days for rep in reps) + 1)
    if window_end <= window_start:
        return []
    by_rep = pool_free_slots(reps=reps, start=window_start, end=window_end, now=now)
    tz = _zone(conversation.timezone)
    if start is None and end is None:
        waking = {rep_id: [s for s in slots if _in_visitor_day(s, tz)] for rep_id, slots in by_rep.items()}
        chosen = _first_rep_with_slots(reps, waking, owner) or _first_rep_with_slots(reps, by_rep, owner)
    else:
        chosen = _first_rep_with_slots(reps, by_rep, owner)
    return spread_slots(chosen, limit=limit, tz=tz)


def _in_visitor_day(slot: Slot, tz: zoneinfo.ZoneInfo) -> bool:
    return VISITOR_DAY[0] <= slot.start.astimezone(tz).time() < VISITOR_DAY[1]


def _first_rep_with_slots(reps: list[SalesRep], by_rep: dict[int, list[Slot]], owner: SalesRep | None) -> list[Slot]:
    """The account owner's slots if any, else those of the first rep in fairness order who has some."""
    if owner is not None and by_rep.get(owner.pk):
        return by_rep[owner.pk]
    return next((by_rep[rep.pk] for rep in reps if by_rep.get(rep.pk)), [])
