"""Daylight-saving changes and odd offsets: every slot is checked as a UTC instant."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from scheduling.selectors import rep_free_slots, slots_for_lead
from tests.factories import ConversationFactory
from tests.scheduling.factories import LeadFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
EVERY_DAY_9_TO_5 = [(day, time(9), time(17)) for day in range(7)]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_slots(rep, day: datetime, now: datetime):
    """Free slots whose start falls on the rep's local calendar day ``day``."""
    slots = rep_free_slots(rep=rep, start=day - timedelta(days=1), end=day + timedelta(days=2), now=now)
    tz = ZoneInfo(rep.timezone)
    return [s for s in slots if s.start.astimezone(tz).date() == day.date()]


@pytest.mark.parametrize(
    ("zone", "day", "first_utc"),
    [
        # Berlin, spring forward on Sunday 28 March 2027 (02:00 CET -> 03:00 CEST).
        ("Europe/Berlin", utc(2027, 3, 27), utc(2027, 3, 27, 8, 0)),  # Saturday, CET (UTC+1)
        ("Europe/Berlin", utc(2027, 3, 28), utc(2027, 3, 28, 7, 0)),  # the change day, CEST (UTC+2)
        ("Europe/Berlin", utc(2027, 3, 29), utc(2027, 3, 29, 7, 0)),
        # Berlin, fall back on Sunday 25 October 2026 (03:00 CEST -> 02:00 CET).
        ("Europe/Berlin", utc(2026, 10, 24), utc(2026, 10, 24, 7, 0)),
        ("Europe/Berlin", utc(2026, 10, 25), utc(2026, 10, 25, 8, 0)),
        ("Europe/Berlin", utc(2026, 10, 26), utc(2026, 10, 26, 8, 0)),
        # New York, spring forward on Sunday 14 March 2027 (EST UTC-5 -> EDT UTC-4).
        ("America/New_York", utc(2027, 3, 13), utc(2027, 3, 13, 14, 0)),
        ("America/New_York", utc(2027, 3, 14), utc(2027, 3, 14, 13, 0)),
        ("America/New_York", utc(2027, 3, 15), utc(2027, 3, 15, 13, 0)),
        # New York, fall back on Sunday 1 November 2026.
        ("America/New_York", utc(2026, 10, 31), utc(2026, 10, 31, 13, 0)),
        ("America/New_York", utc(2026, 11, 1), utc(2026, 11, 1, 14, 0)),
        ("America/New_York", utc(2026, 11, 2), utc(2026, 11, 2, 14, 0)),
    ],
)
def test_nine_to_five_stays_nine_to_five_local_across_dst(zone, day, first_utc):
    rep = SalesRepFactory(timezone=zone, hours=EVERY_DAY_9_TO_5)
    slots = day_slots(rep, day, now=day - timedelta(days=3))
    assert [s.start for s in slots] == [first_utc + timedelta(minutes=30 * i) for i in range(16)]
    assert slots[-1].end == first_utc + timedelta(hours=8)
    local = [s.start.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in slots]
    assert local[0] == "09:00" and local[-1] == "16:30"


def test_hours_starting_inside_the_spring_forward_gap_start_when_the_clock_jumps():
    # 02:30 does not exist in Berlin on 28 March 2027; the range starts at 03:00 CEST = 01:00 UTC.
    rep = SalesRepFactory(hours=[(6, time(2, 30), time(4, 0))])
    slots = rep_free_slots(rep=rep, start=utc(2027, 3, 27), end=utc(2027, 3, 29), now=utc(2027, 3, 20))
    assert [s.start for s in slots] == [utc(2027, 3, 28, 1, 0), utc(2027, 3, 28, 1, 30)]


def test_hours_over_the_repeated_autumn_hour_cover_both_occurrences():
    # 02:00-03:00 happens twice in Berlin on 25 October 2026: first CEST (00:00-01:00 UTC), then CET.
    rep = SalesRepFactory(hours=[(6, time(2, 0), time(3, 0))])
    slots = rep_free_slots(rep=rep, start=utc(2026, 10, 24), end=utc(2026, 10, 26), now=utc(2026, 10, 20))
    assert [s.start for s in slots] == [utc(2026, 10, 25, 0, 0) + timedelta(minutes=30 * i) for i in range(4)]
    local = [s.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") for s in slots]
    assert local == ["02:00 CEST", "02:30 CEST", "02:00 CET", "02:30 CET"]


@pytest.mark.parametrize(
    ("zone", "first_utc"),
    [
        ("Asia/Kolkata", utc(2026, 12, 7, 3, 30)),  # UTC+05:30
        ("America/St_Johns", utc(2026, 12, 7, 12, 30)),  # UTC-03:30 in winter
        ("Asia/Kathmandu", utc(2026, 12, 7, 3, 15)),  # UTC+05:45
    ],
)
def test_half_hour_offset_zones_keep_the_grid_on_local_time(zone, first_utc):
    rep = SalesRepFactory(timezone=zone)
    slots = day_slots(rep, utc(2026, 12, 7), now=utc(2026, 12, 1))
    assert slots[0].start == first_utc
    assert [s.start.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in slots[:3]] == ["09:00", "09:30", "10:00"]
    assert len(slots) == 16


def test_visitor_and_rep_in_different_zones():
    """A Berlin rep offered to a New York visitor: UTC instants, inside the visitor's waking day."""
    rep = SalesRepFactory()
    conversation = ConversationFactory(timezone="America/New_York")
    lead = LeadFactory(conversation=conversation)
    now = utc(2026, 12, 7, 6, 0)  # Monday
    slots = slots_for_lead(lead=lead, conversation=conversation, now=now)
    assert slots and all(s.rep_id == rep.pk for s in slots)
    new_york, berlin = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0)
        assert time(8) <= slot.start.astimezone(new_york).time() < time(20)  # not 03:00 for the visitor
        assert time(9) <= slot.start.astimezone(berlin).time() < time(17)
    # Monday's first offer is 08:00 New York = 14:00 Berlin = 13:00 UTC.
    assert slots[0].start == utc(2026, 12, 7, 13, 0)
