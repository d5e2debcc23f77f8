"""A moment written for a person in their zone, and the UTC fallback for a zone that is not one."""

from datetime import date, datetime, timezone

import pytest

from config import zones

UTC = timezone.utc


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
        ("Nowhere/Land", "UTC"),
    ],
)
def test_friendly_zone_names(zone, label):
    assert zones.zone_label(zone) == label


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
    assert zones.slot_text(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), zone) == text


def test_wording_follows_daylight_saving_change():
    # Berlin leaves summer time at 03:00 on Sunday 25 Oct 2026: the same UTC hour reads one hour earlier.
    assert (
        zones.slot_text(datetime(2026, 10, 24, 10, 0, tzinfo=UTC), "Europe/Berlin") == "Sat 24 Oct, 12:00 Berlin time"
    )
    assert (
        zones.slot_text(datetime(2026, 10, 25, 10, 0, tzinfo=UTC), "Europe/Berlin") == "Sun 25 Oct, 11:00 Berlin time"
    )


@pytest.mark.parametrize("name", ["Nowhere/Land", "", None, "x" * 65, "../etc/passwd", 42])
def test_a_name_that_is_not_a_zone_falls_back_to_utc_and_says_so(name):
    assert zones.zone_or_utc(name) == ("UTC", True)
    assert zones.zone_name(name) == "UTC"
    assert zones.moment_text(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), name) == "Tue 1 Dec 2026, 13:00 (UTC)"


def test_a_real_zone_is_kept():
    assert zones.zone_or_utc("Asia/Tokyo") == ("Asia/Tokyo", False)
    assert zones.local_time(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), "Asia/Tokyo").hour == 22


def test_emails_pages_and_admin_write_the_year_and_the_zone_name():
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    end = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    assert zones.moment_text(start, "Europe/Berlin") == "Mon 7 Dec 2026, 10:00 (Europe/Berlin)"
    assert zones.span_text(start, end, "America/New_York") == "Mon 7 Dec 2026, 04:00–04:30 (America/New_York)"
    assert zones.span_text(start, end, "") == "Mon 7 Dec 2026, 09:00–09:30 (UTC)"
    assert zones.clock_text(start, "Asia/Kolkata") == "14:30"


def test_days():
    assert zones.day_text(date(2026, 9, 1)) == "Tue 1 Sep"
    assert zones.day_long_text(date(2026, 9, 1)) == "Tuesday 1 September 2026"


@pytest.mark.parametrize(("value", "tz"), [("Europe/Berlin", "Europe/Berlin"), ("Bogus/Zone", ""), (None, ""), (5, "")])
def test_zone_clean_keeps_only_a_zone(value, tz):
    assert zones.zone_clean(value) == tz
