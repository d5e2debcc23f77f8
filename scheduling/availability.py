"""Free slots of reps: pure computation over data loaded in bulk.

A slot is bookable when
- it lies inside one of the rep's working-hours ranges for that weekday, read as wall-clock
  times in the rep's own zone (so 09:00-17:00 stays 09:00-17:00 local on both sides of a
  daylight-saving change);
- it starts on the grid: every ``SLOT_GRID_MINUTES`` (or the meeting length when shorter),
  counted from local midnight, so a rep in Asia/Kolkata gets 09:00, 09:30 local;
- it starts at least ``min_notice_minutes`` after now and before now + ``horizon_days``;
- the rep's calendar day (in the rep's zone) holds fewer than ``max_meetings_per_day``
  live meetings (0 = no limit);
- it does not overlap time off;
- with the rep's buffers around it, it does not overlap any live meeting or busy block
  (the rep's real calendar) with the same buffers around them. Buffers stack: after a
  meeting with a 10-minute after-buffer and a 5-minute before-buffer the next one starts
  15 minutes later at the earliest. Buffers may reach outside working hours.

Local times that do not exist or exist twice are resolved deliberately (``local_to_utc``):
a working-hours boundary inside a spring-forward gap moves to the instant of the change
(02:30 in a 02:00-03:00 gap means 03:00 new time); an ambiguous boundary (autumn, the hour
that happens twice) starts at its first occurrence and ends at its second, so a range
covers every minute the wall clock shows between its two times.

Loading (``load_schedules``) costs four queries whatever the number of reps or the length
of the range: working hours, meetings, busy blocks and time off, each for all reps at once.
"""

import bisect
import math
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from config import zones
from scheduling.models import BusyBlock, Meeting, SalesRep, TimeOff, WorkingHours

UTC = dt_timezone.utc
SLOT_GRID_MINUTES = 30
# Meetings and busy blocks are loaded this far around the asked range: a rep's calendar day
# (for the daily limit) spans at most a day around any instant in it, plus buffers.
LOAD_MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Slot:
    rep_id: int
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC


@dataclass
class RepSchedule:
    """Everything availability needs about one rep, loaded in bulk."""

    rep: SalesRep
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=lambda: defaultdict(list))
    meetings: list[tuple[datetime, datetime]] = field(default_factory=list)
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    time_off: list[tuple[datetime, datetime]] = field(default_factory=list)


def load_schedules(
    reps: Sequence[SalesRep], start: datetime, end: datetime, *, exclude_meeting_id: int | None = None
) -> dict[int, RepSchedule]:
    """Working hours, live meetings, busy blocks and time off of ``reps`` around [start, end): 4 queries."""
    schedules = {rep.pk: RepSchedule(rep=rep) for rep in reps}
    if not schedules:
        return schedules
    ids = list(schedules)
    max_buffer = max(timedelta(minutes=r.buffer_before_minutes + r.buffer_after_minutes) for r in reps)
    lo, hi = start - LOAD_MARGIN - max_buffer, end + LOAD_MARGIN + max_buffer
    for rep_id, weekday, h_start, h_end in WorkingHours.objects.filter(rep_id__in=ids).values_list(
        "rep_id", "weekday", "start", "end"
    ):
        schedules[rep_id].hours[weekday].append((h_start, h_end))
    meetings = (
        Meeting.objects.filter(rep_id__in=ids, start__lt=hi, end__gt=lo)
        .exclude(status=Meeting.Status.CANCELLED)
        .values_list("pk", "rep_id", "start", "end")
    )
    for pk, rep_id, m_start, m_end in meetings:
        if pk != exclude_meeting_id:
            schedules[rep_id].meetings.append((m_start, m_end))
    for rep_id, b_start, b_end in BusyBlock.objects.filter(rep_id__in=ids, start__lt=hi, end__gt=lo).values_list(
        "rep_id", "start", "end"
    ):
        schedules[rep_id].busy.append((b_start, b_end))
    for rep_id, t_start, t_end in TimeOff.objects.filter(rep_id__in=ids, start__lt=hi, end__gt=lo).values_list(
        "rep_id", "start", "end"
    ):
        schedules[rep_id].time_off.append((t_start, t_end))
    return schedules


class _Intervals:
    """Merged, sorted half-open intervals (epoch seconds) with an O(log n) overlap test."""

    def __init__(self, intervals: Iterable[tuple[float, float]]) -> None:
        merged: list[list[float]] = []
        for s, e in sorted(intervals):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def overlaps(self, start: float, end: float) -> bool:
        i = bisect.bisect_left(self.starts, end) - 1
        return i >= 0 and self.ends[i] > start


def local_to_utc(day: date, wall: time, tz: zoneinfo.ZoneInfo, *, boundary: str) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``tz``; see the module text for gaps and folds."""
    naive = datetime.combine(day, wall)
    offset_first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    if offset_first == naive.replace(tzinfo=tz, fold=1).utcoffset():  # the usual case, kept cheap
        return (naive - offset_first).replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:  # ambiguous: the wall time happens twice
        return min(first, second) if boundary == "start" else max(first, second)
    # Nonexistent (spring-forward gap): find the instant of the change, to the minute.
    lo, hi = min(first, second), max(first, second)
    offset_before = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(second=0, microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(minutes=1)
        if mid.astimezone(tz).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return hi


def grid_minutes(rep: SalesRep) -> int:
    return max(5, min(SLOT_GRID_MINUTES, rep.meeting_minutes))


def free_slots(
    schedule: RepSchedule, *, start: datetime, end: datetime, now: datetime, ignore_meetings: bool = False
) -> list[Slot]:
    """Bookable slots of one rep lying entirely within [start, end), sorted by start.

    ``ignore_meetings`` leaves other meetings out (but keeps everything else): booking uses
    it to tell "someone got there first" from "this time is not bookable".
    """
    rep = schedule.rep
    if not rep.is_active or not schedule.hours:
        return []
    zone, unknown = zones.zone_or_utc(rep.timezone)
    if unknown:
        return []  # a zone typed past validation: offering times in a guessed zone would be worse
    tz = zoneinfo.ZoneInfo(zone)
    length = timedelta(minutes=rep.meeting_minutes)
    before = timedelta(minutes=rep.buffer_before_minutes)
    after = timedelta(minutes=rep.buffer_after_minutes)
    step = timedelta(minutes=grid_minutes(rep))
    earliest = max(start, now + timedelta(minutes=rep.min_notice_minutes))
    horizon = now + timedelta(days=rep.horizon_days)
    if earliest >= end or earliest >= horizon:
        return []

    meetings = [] if ignore_meetings else schedule.meetings
    # The slot search runs on epoch seconds: float arithmetic is several times cheaper than datetimes.
    before_s, after_s = before.total_seconds(), after.total_seconds()
    blocked = _Intervals((s.timestamp() - before_s, e.timestamp() + after_s) for s, e in [*meetings, *schedule.busy])
    time_off = _Intervals((s.timestamp(), e.timestamp()) for s, e in schedule.time_off)
    per_day = Counter(s.astimezone(tz).date() for s, _ in meetings)
    limits = _Limits(
        length=length.total_seconds(),
        before=before_s,
        after=after_s,
        step=step.total_seconds(),
        earliest=earliest.timestamp(),
        end=end.timestamp(),
        horizon=horizon.timestamp(),
    )

    starts: list[float] = []
    day = earliest.astimezone(tz).date()
    last_day = min(end, horizon + length).astimezone(tz).date()
    while day <= last_day:
        ranges = schedule.hours.get(day.weekday())
        if ranges and not (rep.max_meetings_per_day and per_day[day] >= rep.max_meetings_per_day):
            for h_start, h_end in sorted(ranges):
                range_start = local_to_utc(day, h_start, tz, boundary="start")
                range_end = local_to_utc(day, h_end, tz, boundary="end")
                starts.extend(_range_slots(range_start, range_end, tz, limits, blocked, time_off))
        day += timedelta(days=1)
    # Overlapping working-hours ranges of one day would offer a time twice.
    length_s = limits.length
    return [
        Slot(rep_id=rep.pk, start=datetime.fromtimestamp(t, UTC), end=datetime.fromtimestamp(t + length_s, UTC))
        for t in sorted(set(starts))
    ]


@dataclass(frozen=True, slots=True)
class _Limits:
    length: float
    before: float
    after: float
    step: float
    earliest: float
    end: float
    horizon: float


def _range_slots(
    range_start: datetime,
    range_end: datetime,
    tz: zoneinfo.ZoneInfo,
    limits: _Limits,
    blocked: _Intervals,
    time_off: _Intervals,
) -> list[float]:
    """Free slot starts (epoch seconds) inside one working-hours range."""
    # First grid point at or after the range start, the grid counted from local midnight.
    local = range_start.astimezone(tz)
    since_midnight = local.hour * 3600 + local.minute * 60 + local.second
    step, length = limits.step, limits.length
    candidate = range_start.timestamp() + (-since_midnight) % step
    if candidate < limits.earliest:
        candidate += math.ceil((limits.earliest - candidate) / step) * step
    last_end = min(range_end.timestamp(), limits.end)
    horizon, before, after = limits.horizon, limits.before, limits.after
    out = []
    while candidate + length <= last_end and candidate < horizon:
        slot_end = candidate + length
        if not time_off.overlaps(candidate, slot_end) and not blocked.overlaps(candidate - before, slot_end + after):
            out.append(candidate)
        candidate += step
    return out


# ---- working hours now (live handoff: is anyone of the team at work?) ------------------------------


def working_ranges(schedule: RepSchedule, *, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The rep's working-hours ranges (UTC, read as above) that overlap [start, end), sorted.

    An inactive rep, or one whose zone is not a zone, has none (as they have no free slots).
    """
    rep = schedule.rep
    if not rep.is_active or not schedule.hours:
        return []
    zone, unknown = zones.zone_or_utc(rep.timezone)
    if unknown:
        return []
    tz = zoneinfo.ZoneInfo(zone)
    ranges = []
    day, last_day = start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date()
    while day <= last_day:
        for h_start, h_end in schedule.hours.get(day.weekday(), ()):
            range_start = local_to_utc(day, h_start, tz, boundary="start")
            range_end = local_to_utc(day, h_end, tz, boundary="end")
            if range_start < end and range_end > start:
                ranges.append((range_start, range_end))
        day += timedelta(days=1)
    return sorted(ranges)


def next_working_moment(schedule: RepSchedule, *, after: datetime, within: timedelta) -> datetime | None:
    """The first moment from ``after`` on (``after`` itself when the rep is at work then) that lies in one of
    the rep's working-hours ranges and outside their time off; None when there is none within ``within``."""
    time_off = sorted(schedule.time_off)
    for range_start, range_end in working_ranges(schedule, start=after, end=after + within):
        moment = max(range_start, after)
        for off_start, off_end in time_off:  # sorted by start: one pass skips chained time off
            if off_start <= moment < off_end:
                moment = off_end
        if moment < range_end:
            return moment
    return None


def working_at(schedule: RepSchedule, moment: datetime) -> bool:
    """Whether the rep is within their working hours at ``moment`` (their own wall clock) and not on time off."""
    return next_working_moment(schedule, after=moment, within=timedelta(minutes=1)) == moment
