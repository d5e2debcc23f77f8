"""Slot wording in the visitor's zone and typed time preferences, relative to a fixed now."""

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


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("Europe/Berlin", "Berlin time"),
        ("America/New_York", "New York time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
        ("Asia/Kolkata", "Kolkata time"),
        ("UTC", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Etc/GMT+5", "UTC-05:00"),
    ],
)
def test_friendly_zone_names(zone, label):
    assert words.zone_label(zone) == label


@pytest.mark.parametrize(
    ("zone", "text"),
    [
        ("Europe/Berlin", "Tue 1 Dec, 14:00 Berlin time"),
        ("America/New_York", "Tue 1 Dec, 08:00 New York time"),
        ("Asia/Kolkata", "Tue 1 Dec, 18:30 Kolkata time"),  # UTC+05:30
        ("America/St_Johns", "Tue 1 Dec, 09:30 St Johns time"),  # UTC-03:30
        ("Pacific/Auckland", "Wed 2 Dec, 02:00 Auckland time"),  # the next day there
        ("UTC", "Tue 1 Dec, 13:00 UTC"),
    ],
)
def test_slot_written_in_the_visitors_zone(zone, text):
    assert words.slot_text(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), zone) == text


def test_wording_follows_daylight_saving_change():
    # Berlin leaves summer time at 03:00 on Sunday 25 Oct 2026: the same UTC hour reads one hour earlier.
    assert (
        words.slot_text(datetime(2026, 10, 24, 10, 0, tzinfo=UTC), "Europe/Berlin") == "Sat 24 Oct, 12:00 Berlin time"
    )
    assert (
        words.slot_text(datetime(2026, 10, 25, 10, 0, tzinfo=UTC), "Europe/Berlin") == "Sun 25 Oct, 11:00 Berlin time"
    )


def test_unknown_zone_falls_back_to_utc_and_says_so():
    assert words.zone_or_utc("Nowhere/Land") == ("UTC", True)
    assert words.zone_or_utc("") == ("UTC", True)
    assert words.zone_or_utc("Asia/Tokyo") == ("Asia/Tokyo", False)
    assert "in UTC" in words.offer_intro(zone="UTC", zone_is_fallback=True, count=3)
    assert "Tokyo time" in words.offer_intro(zone="Asia/Tokyo", zone_is_fallback=False, count=3)


def test_payload_round_trip():
    start = local("Europe/Berlin", 2026, 12, 1, 14, 0)
    payload = words.slot_payload(7, start)
    assert payload.startswith("/choose_slot{")
    value = json.loads(payload[len("/choose_slot") :])["slot_choice"]
    assert value == "7|2026-12-01T13:00:00+00:00"
    assert words.slot_choice_parse(value) == words.SlotChoice(rep_id=7, start=datetime(2026, 12, 1, 13, tzinfo=UTC))


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


def test_nearest_first_and_no_match_wording():
    pref = words.parse_preference("Friday", now=NOW, zone="UTC")
    starts = [
        datetime(2026, 11, 24, 9, tzinfo=UTC),
        datetime(2026, 11, 30, 9, tzinfo=UTC),
        datetime(2026, 11, 26, 9, tzinfo=UTC),
    ]
    assert words.nearest_first(starts, pref)[0] == datetime(2026, 11, 26, 9, tzinfo=UTC)
    assert (
        words.no_match_text(pref, zone="Europe/Berlin", zone_is_fallback=False)
        == "Nobody on the team is free on Friday 27 Nov. These are the nearest times (in Berlin time):"
    )
    assert pref.start - NOW.astimezone(pref.start.tzinfo) == timedelta(days=3, hours=15)
