"""What a visitor's answer about a time means: payloads, typed picks and typed preferences, relative to a fixed now."""

import json
import zoneinfo
from datetime import datetime, time, timedelta, timezone

import pytest

from scheduling import slot_text as words

UTC = timezone.utc
# Monday 23 Nov 2026, 09:00 UTC (10:00 in Berlin, 04:00 in New York).
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone))


def test_payload_round_trip():
    start = local("Europe/Berlin", 2026, 12, 1, 14, 0)
    payload = words.slot_payload(7, start)
    assert payload.startswith("/choose_slot{")
    value = json.loads(payload[len("/choose_slot") :])["slot_choice"]
    assert value == "7|2026-12-01T13:00:00+00:00"
    assert words.slot_choice_parse(value) == words.SlotChoice(rep_id=7, start=datetime(2026, 12, 1, 13, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "index"),
    [("the second one please", 1), ("1st", 0), ("I'll take the last one", 4), ("the fifth", 4), ("sixth", None)],
)
def test_a_typed_pick_of_five_buttons(text, index):
    assert words.ordinal_pick(text, 5) == index


def test_a_typed_pick_beyond_the_offer_picks_nothing():
    assert words.ordinal_pick("the fourth", 3) is None
    assert words.ordinal_pick("whichever", 3) is None


@pytest.mark.parametrize(
    "value", [None, "", "7", "x|2026-12-01T13:00:00+00:00", "7|tomorrow", "7|2026-12-01T13:00:00", "1|2|3"]
)
def test_tampered_payload_is_refused(value):
    assert words.slot_choice_parse(value) is None


def test_next_tuesday_afternoon_is_next_weeks_tuesday():
    pref = words.parse_preference("next Tuesday afternoon", now=NOW, zone="Europe/Berlin")
    assert pref.start == local("Europe/Berlin", 2026, 12, 1, 12, 0)
    assert pref.end == local("Europe/Berlin", 2026, 12, 1, 17, 0)
    assert pref.description == "on Tuesday 1 Dec in the afternoon"
    assert pref.matches(local("Europe/Berlin", 2026, 12, 1, 14, 0))
    assert not pref.matches(local("Europe/Berlin", 2026, 12, 1, 10, 0))
    # Without "next", Tuesday is tomorrow.
    assert words.parse_preference("Tuesday", now=NOW, zone="Europe/Berlin").start == local(
        "Europe/Berlin", 2026, 11, 24, 0, 0
    )


def test_any_morning_next_week():
    pref = words.parse_preference("any morning next week", now=NOW, zone="America/New_York")
    assert pref.start == local("America/New_York", 2026, 11, 30, 0, 0)
    assert pref.end == local("America/New_York", 2026, 12, 7, 0, 0)
    assert (pref.day_start, pref.day_end) == (time(8), time(12))
    assert pref.matches(local("America/New_York", 2026, 12, 3, 9, 30))
    assert not pref.matches(local("America/New_York", 2026, 12, 3, 13, 0))  # afternoon
    assert not pref.matches(local("America/New_York", 2026, 11, 27, 9, 0))  # this week
    assert pref.description.startswith("next week") and pref.description.endswith("in the morning")


def test_tomorrow_after_3pm_in_the_visitors_zone():
    # 04:00 on Monday in New York: "tomorrow" is Tuesday there.
    pref = words.parse_preference("tomorrow after 3pm", now=NOW, zone="America/New_York")
    assert pref.start == local("America/New_York", 2026, 11, 24, 15, 0)
    assert pref.end == local("America/New_York", 2026, 11, 25, 0, 0)
    assert pref.description == "tomorrow (Tue 24 Nov) after 15:00"


def test_today_depends_on_the_visitors_zone():
    # 23:30 UTC Monday is already Tuesday in Tokyo: "tomorrow" is Wednesday there.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert words.parse_preference("tomorrow", now=late, zone="Asia/Tokyo").start == local(
        "Asia/Tokyo", 2026, 11, 25, 0, 0
    )
    assert words.parse_preference("tomorrow", now=late, zone="America/Los_Angeles").start == local(
        "America/Los_Angeles", 2026, 11, 24, 0, 0
    )


def test_friday():
    pref = words.parse_preference("Friday", now=NOW, zone="Europe/Berlin")
    assert (pref.start, pref.end) == (
        local("Europe/Berlin", 2026, 11, 27, 0, 0),
        local("Europe/Berlin", 2026, 11, 28, 0, 0),
    )
    assert pref.description == "on Friday 27 Nov"


def test_preference_on_a_daylight_saving_day():
    # Saturday 24 Oct 2026 in Berlin; tomorrow the clocks go back, the morning is 08:00-12:00 CET.
    saturday = datetime(2026, 10, 24, 9, 0, tzinfo=UTC)
    pref = words.parse_preference("tomorrow morning", now=saturday, zone="Europe/Berlin")
    assert pref.start.astimezone(UTC) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert pref.end.astimezone(UTC) == datetime(2026, 10, 25, 11, 0, tzinfo=UTC)


def test_dates_times_and_several_days():
    pref = words.parse_preference("how about 3 Dec at 10:30?", now=NOW, zone="Europe/Berlin")
    assert (pref.start, pref.end) == (
        local("Europe/Berlin", 2026, 12, 3, 10, 30),
        local("Europe/Berlin", 2026, 12, 3, 11, 30),
    )
    pref = words.parse_preference("between 2 and 4pm on Thursday", now=NOW, zone="Europe/Berlin")
    assert (pref.start, pref.end) == (
        local("Europe/Berlin", 2026, 11, 26, 14, 0),
        local("Europe/Berlin", 2026, 11, 26, 16, 0),
    )
    pref = words.parse_preference("Tuesday or Thursday", now=NOW, zone="Europe/Berlin")
    assert pref.matches(local("Europe/Berlin", 2026, 11, 26, 10, 0))
    assert not pref.matches(local("Europe/Berlin", 2026, 11, 25, 10, 0))  # Wednesday in between
    pref = words.parse_preference("mornings work best", now=NOW, zone="Europe/Berlin")
    assert pref.end is None and pref.matches(local("Europe/Berlin", 2026, 12, 2, 9, 0))


@pytest.mark.parametrize(
    "text",
    [
        "qwxz blorf zzkt",
        "hello there",
        "",
        "yes",
        "5",
        "I am the CTO",
        "in 3 months",
        "this quarter",
        "by March",
        "/choose_slot",
    ],
)
def test_no_time_in_the_text(text):
    assert words.parse_preference(text, now=NOW, zone="Europe/Berlin") is None


def test_nearest_first_and_the_preference_described():
    pref = words.parse_preference("Friday", now=NOW, zone="UTC")
    starts = [
        datetime(2026, 11, 24, 9, tzinfo=UTC),
        datetime(2026, 11, 30, 9, tzinfo=UTC),
        datetime(2026, 11, 26, 9, tzinfo=UTC),
    ]
    assert words.nearest_first(starts, pref)[0] == datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert pref.description == "on Friday 27 Nov"
    assert pref.start - NOW.astimezone(pref.start.tzinfo) == timedelta(days=3, hours=15)
