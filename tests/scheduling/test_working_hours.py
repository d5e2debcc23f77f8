"""Is anyone of the team at work now, and when is the first of them back (live handoff's off-hours check)?

Working hours are wall-clock times in each rep's own zone; the visitor's zone plays no part in the
answer, only in how "back on ..." is written.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduling.availability import load_schedules, working_at
from scheduling.selectors import team_hours
from tests.scheduling.factories import SalesRepFactory, TimeOffFactory

pytestmark = pytest.mark.django_db
NEW_YORK, TOKYO = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
WEEKDAYS = range(5)


def nine_to_five(zone: str, **fields):
    return SalesRepFactory(timezone=zone, hours=[(day, time(9), time(17)) for day in WEEKDAYS], **fields)


def test_a_visitor_at_night_in_new_york_finds_the_tokyo_rep_at_work():
    tokyo = nine_to_five("Asia/Tokyo")
    # Tuesday 1 Dec 2026, 22:00 in New York is Wednesday 2 Dec, 12:00 in Tokyo.
    night_in_new_york = datetime(2026, 12, 1, 22, 0, tzinfo=NEW_YORK)

    hours = team_hours(reps=[tokyo], now=night_in_new_york)

    assert hours.working is True and hours.back_at is None


def test_the_new_york_rep_is_off_at_night_and_back_at_nine_their_time():
    new_york = nine_to_five("America/New_York")
    night = datetime(2026, 12, 1, 22, 0, tzinfo=NEW_YORK)

    hours = team_hours(reps=[new_york], now=night)

    assert hours.working is False
    assert hours.back_at == datetime(2026, 12, 2, 9, 0, tzinfo=NEW_YORK)


def test_the_first_rep_back_decides_when_the_team_is_back():
    new_york, tokyo = nine_to_five("America/New_York"), nine_to_five("Asia/Tokyo")
    # Tuesday 1 Dec 2026, 05:00 in New York is 19:00 in Tokyo: both are off.
    early = datetime(2026, 12, 1, 5, 0, tzinfo=NEW_YORK)

    hours = team_hours(reps=[new_york, tokyo], now=early)

    assert hours.working is False
    assert hours.back_at == datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)  # 23:00 in Tokyo: New York first


def test_friday_evening_is_off_until_monday_in_the_reps_zone():
    tokyo = nine_to_five("Asia/Tokyo")
    # Friday 4 Dec 2026, 20:00 in New York is Saturday 5 Dec, 10:00 in Tokyo: a weekend there.
    friday_evening = datetime(2026, 12, 4, 20, 0, tzinfo=NEW_YORK)

    hours = team_hours(reps=[tokyo], now=friday_evening)

    assert hours.working is False
    assert hours.back_at == datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO)


def test_time_off_keeps_a_rep_away_and_moves_their_return():
    new_york = nine_to_five("America/New_York")
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=NEW_YORK)
    TimeOffFactory(rep=new_york, start=noon - timedelta(hours=4), end=datetime(2026, 12, 3, 11, 0, tzinfo=NEW_YORK))

    hours = team_hours(reps=[new_york], now=noon)

    assert hours.working is False
    assert hours.back_at == datetime(2026, 12, 3, 11, 0, tzinfo=NEW_YORK)  # mid-morning, when the time off ends


def test_working_hours_follow_the_reps_wall_clock_across_daylight_saving():
    new_york = nine_to_five("America/New_York")
    # Monday 2 Nov 2026 (after the clocks went back) and Monday 26 Oct (before): 09:30 local both times.
    after_change = datetime(2026, 11, 2, 9, 30, tzinfo=NEW_YORK)
    before_change = datetime(2026, 10, 26, 9, 30, tzinfo=NEW_YORK)
    schedules = load_schedules([new_york], before_change, after_change + timedelta(days=1))

    assert working_at(schedules[new_york.pk], after_change)
    assert working_at(schedules[new_york.pk], before_change)
    assert not working_at(schedules[new_york.pk], after_change - timedelta(hours=1))  # 08:30 local


def test_nobody_at_work_and_nobody_back_within_two_weeks():
    away = nine_to_five("Europe/Berlin", is_active=False)

    hours = team_hours(reps=[away], now=datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")))

    assert hours.working is False and hours.back_at is None
