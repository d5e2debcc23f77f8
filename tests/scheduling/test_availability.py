from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import Meeting, SalesRep
from scheduling.selectors import pool_free_slots, rep_free_slots
from tests.scheduling.factories import BusyBlockFactory, MeetingFactory, SalesRepFactory, TimeOffFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
# Monday 7 December 2026, 06:00 UTC. Berlin is UTC+1: 09:00 local = 08:00 UTC.
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
TUESDAY = MONDAY + timedelta(days=1)


def at(day: datetime, hhmm: str) -> datetime:
    """A UTC time on ``day`` given as Berlin wall-clock time in December (UTC+1)."""
    hours, minutes = map(int, hhmm.split(":"))
    return day + timedelta(hours=hours - 1, minutes=minutes)


def starts(rep, start=MONDAY, end=None, now=NOW):
    return [s.start for s in rep_free_slots(rep=rep, start=start, end=end or start + timedelta(days=1), now=now)]


def test_working_hours_give_half_hour_slots_in_the_reps_zone():
    rep = SalesRepFactory()
    slots = rep_free_slots(rep=rep, start=MONDAY, end=TUESDAY, now=NOW)
    assert [s.start for s in slots] == [at(MONDAY, "09:00") + timedelta(minutes=30 * i) for i in range(16)]
    assert slots[-1].end == at(MONDAY, "17:00")
    assert {s.rep_id for s in slots} == {rep.pk}
    assert all(s.start.tzinfo is not None and s.start.utcoffset() == timedelta(0) for s in slots)


def test_no_slots_on_days_without_hours_or_for_an_inactive_rep():
    rep = SalesRepFactory()
    saturday = MONDAY + timedelta(days=5)
    assert starts(rep, saturday, saturday + timedelta(days=2)) == []
    rep.is_active = False
    rep.save()
    assert starts(rep) == []


def test_several_ranges_per_day():
    rep = SalesRepFactory(hours=[(0, time(9), time(12)), (0, time(13), time(15))])
    free = starts(rep)
    assert at(MONDAY, "11:30") in free
    assert at(MONDAY, "12:00") not in free and at(MONDAY, "12:30") not in free
    assert at(MONDAY, "13:00") in free and at(MONDAY, "14:30") in free
    assert len(free) == 6 + 4


def test_a_longer_meeting_still_fits_inside_the_hours():
    rep = SalesRepFactory(meeting_minutes=60)
    free = starts(rep)
    assert free[0] == at(MONDAY, "09:00") and free[-1] == at(MONDAY, "16:00")


def test_meetings_block_with_buffers_on_both_sides():
    rep = SalesRepFactory(buffer_before_minutes=5, buffer_after_minutes=10)
    MeetingFactory(rep=rep, start=at(MONDAY, "10:00"))
    free = starts(rep)
    # 09:30 would end 10:00 + 10 min after-buffer, overlapping 10:00 - 5 min before-buffer.
    assert at(MONDAY, "09:00") in free
    assert at(MONDAY, "09:30") not in free and at(MONDAY, "10:00") not in free
    assert at(MONDAY, "10:30") not in free  # 10:30 - 5 min overlaps the meeting's 10 min after-buffer
    assert at(MONDAY, "11:00") in free


def test_cancelled_meetings_do_not_block():
    rep = SalesRepFactory()
    MeetingFactory(rep=rep, start=at(MONDAY, "10:00"), status=Meeting.Status.CANCELLED)
    assert at(MONDAY, "10:00") in starts(rep)


def test_minimum_notice():
    rep = SalesRepFactory(min_notice_minutes=240)
    assert starts(rep)[0] == at(MONDAY, "11:00")  # now 07:00 Berlin + 4 h
    now = NOW + timedelta(minutes=10)
    assert starts(rep, now=now)[0] == at(MONDAY, "11:30")  # the next grid time, not 11:10


def test_daily_limit_counts_the_reps_calendar_day():
    rep = SalesRepFactory(max_meetings_per_day=2)
    MeetingFactory(rep=rep, start=at(MONDAY, "09:00"))
    MeetingFactory(rep=rep, start=at(MONDAY, "15:00"))
    MeetingFactory(rep=rep, start=at(MONDAY, "16:00"), status=Meeting.Status.CANCELLED)
    assert starts(rep, MONDAY, TUESDAY) == []
    assert len(starts(rep, TUESDAY)) == 16


def test_daily_limit_in_a_zone_whose_day_straddles_utc_midnight():
    rep = SalesRepFactory(timezone="America/Los_Angeles", max_meetings_per_day=1)  # UTC-8 in December
    # Monday 16:30 Los Angeles is Tuesday 00:30 UTC: it fills the rep's Monday, not Tuesday.
    MeetingFactory(rep=rep, start=datetime(2026, 12, 8, 0, 30, tzinfo=UTC))
    monday_la = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert starts(rep, monday_la, monday_la + timedelta(days=1)) == []
    tuesday = starts(rep, monday_la + timedelta(days=1), monday_la + timedelta(days=2))
    assert tuesday[0] == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)  # 09:00 Tuesday Los Angeles


def test_booking_horizon():
    rep = SalesRepFactory(horizon_days=2)
    free = starts(rep, MONDAY, MONDAY + timedelta(days=7))
    assert free[-1] < NOW + timedelta(days=2)
    assert max(free).date() == TUESDAY.date()


def test_time_off():
    rep = SalesRepFactory()
    TimeOffFactory(rep=rep, start=at(TUESDAY, "00:00"), end=at(TUESDAY, "23:59"))
    TimeOffFactory(rep=rep, start=at(MONDAY, "14:10"), end=at(MONDAY, "15:00"))
    assert starts(rep, TUESDAY) == []
    monday = starts(rep)
    assert at(MONDAY, "13:30") in monday and at(MONDAY, "14:00") not in monday
    assert at(MONDAY, "14:30") not in monday and at(MONDAY, "15:00") in monday


def test_busy_blocks_from_the_reps_calendar():
    rep = SalesRepFactory(buffer_after_minutes=15)
    BusyBlockFactory(rep=rep, start=at(MONDAY, "12:00"), end=at(MONDAY, "13:00"))
    free = starts(rep)
    assert at(MONDAY, "11:00") in free
    assert at(MONDAY, "11:30") not in free  # its after-buffer runs into the busy block
    assert at(MONDAY, "12:00") not in free and at(MONDAY, "12:30") not in free
    assert at(MONDAY, "13:00") not in free  # the busy block gets the after-buffer too
    assert at(MONDAY, "13:30") in free


def test_slots_lie_inside_the_asked_window():
    rep = SalesRepFactory()
    free = starts(rep, at(MONDAY, "13:15"), at(MONDAY, "15:00"))
    assert free == [at(MONDAY, "13:30"), at(MONDAY, "14:00"), at(MONDAY, "14:30")]


def _busy_rep():
    rep = SalesRepFactory()
    MeetingFactory(rep=rep, start=at(MONDAY, "10:00"))
    BusyBlockFactory(rep=rep, start=at(TUESDAY, "10:00"))
    TimeOffFactory(rep=rep, start=at(MONDAY + timedelta(days=2), "00:00"))
    return rep


def test_query_count_is_the_same_for_one_rep_and_ten_over_any_range():
    reps = [_busy_rep() for _ in range(10)]
    counts = []
    for pool, days in [(reps[:1], 1), (reps, 1), (reps, 30)]:
        with CaptureQueriesContext(connection) as ctx:
            by_rep = pool_free_slots(reps=pool, start=MONDAY, end=MONDAY + timedelta(days=days), now=NOW)
        counts.append(len(ctx))
        assert set(by_rep) == {r.pk for r in pool}
        assert all(slots for slots in by_rep.values())
    assert counts == [4, 4, 4]
    with CaptureQueriesContext(connection) as ctx:
        rep_free_slots(rep=reps[0], start=MONDAY, end=MONDAY + timedelta(days=14), now=NOW)
    assert len(ctx) == 4


def test_each_rep_in_a_pool_gets_their_own_slots():
    berlin = SalesRepFactory()
    new_york = SalesRepFactory(timezone="America/New_York")
    MeetingFactory(rep=berlin, start=at(MONDAY, "09:00"))
    by_rep = pool_free_slots(reps=[berlin, new_york], start=MONDAY, end=TUESDAY, now=NOW)
    assert by_rep[berlin.pk][0].start == at(MONDAY, "09:30")
    assert by_rep[new_york.pk][0].start == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # 09:00 New York


def test_a_rep_with_a_broken_time_zone_offers_nothing_rather_than_wrong_times():
    rep = SalesRepFactory()
    SalesRep.objects.filter(pk=rep.pk).update(timezone="Mars/Olympus_Mons")
    rep.refresh_from_db()
    assert starts(rep) == []
