"""What a visitor's answer about a meeting time means: a slot button's payload, "the second one",
a typed preference ("next Tuesday afternoon").

Pure functions (no ORM, no clock): the caller passes `now` and the visitor's IANA zone,
so every rule here is unit-tested against a fixed instant in any zone. Slots are passed
around in UTC; what a visitor types is read relative to *their* today. How a time is
written for a person is `config.zones`; the sentences around it are the bot's domain
responses. The one piece of wording built here is a preference's `description` ("next
week (Mon 30 Nov to Fri 4 Dec)"), the bot's reading of the visitor's words, which the
responses quote.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import dateparser

from config.zones import day_text, zone_info

# Parts of day, as wall-clock windows in the visitor's zone.
PARTS_OF_DAY = {
    "morning": (time(8, 0), time(12, 0)),
    "lunchtime": (time(11, 30), time(14, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
}
PART_OF_DAY_WORDS = {
    "morning": "morning",
    "mornings": "morning",
    "lunch": "lunchtime",
    "lunchtime": "lunchtime",
    "midday": "lunchtime",
    "noon": "lunchtime",
    "afternoon": "afternoon",
    "afternoons": "afternoon",
    "evening": "evening",
    "evenings": "evening",
    "tonight": "evening",
}
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "mondays": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "tuesdays": 1,
    "wednesday": 2,
    "wed": 2,
    "weds": 2,
    "wednesdays": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursdays": 3,
    "friday": 4,
    "fri": 4,
    "fridays": 4,
    "saturday": 5,
    "sat": 5,
    "saturdays": 5,
    "sunday": 6,
    "sun": 6,
    "sundays": 6,
}
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
# A calendar date written out: "3 Dec", "3rd of December", "December 3", "Dec 3rd", "2026-12-03".
DATE_RE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})|(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?|\d{{4}}-\d{{2}}-\d{{2}})\b"
)
CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h)?"
BETWEEN_RE = re.compile(rf"\b(?:between|from)\s+{CLOCK}\s+(?:and|to|-)\s+{CLOCK}")
AFTER_RE = re.compile(rf"\b(?:after|from|later than|not before)\s+{CLOCK}")
BEFORE_RE = re.compile(rf"\b(?:before|until|till|by|no later than|not after)\s+{CLOCK}")
# "at 3", "around 15:30", "3pm", "15:00": a time to meet around.
AT_RES = (
    re.compile(rf"\b(?:at|around|about|@)\s*{CLOCK}(?!\s*(?:{MONTHS}|st|nd|rd|th)\b)"),
    re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)"),
    re.compile(r"\b(\d{1,2})[:.](\d{2})()\b"),
)
AROUND_WINDOW = timedelta(hours=1)


# ---- button payloads ---------------------------------------------------------------------------------


def slot_payload(rep_id: int, start: datetime) -> str:
    """The button payload: Rasa's intent-with-entities syntax, carrying the rep and the UTC start."""
    choice = f"{rep_id}|{start.astimezone(timezone.utc).isoformat()}"
    return "/choose_slot" + json.dumps({"slot_choice": choice})


@dataclass(frozen=True)
class SlotChoice:
    rep_id: int
    start: datetime  # aware, UTC


def slot_choice_parse(value: object) -> SlotChoice | None:
    """Read "<rep_id>|<UTC ISO start>" from a button payload; None when it is not that.

    The payload is only a hint of what the visitor clicked: the booking service
    re-checks the time against availability.
    """
    if not isinstance(value, str) or value.count("|") != 1 or len(value) > 100:
        return None
    rep_text, start_text = value.split("|")
    if not rep_text.isdigit():
        return None
    try:
        start = datetime.fromisoformat(start_text)
    except ValueError:
        return None
    if start.tzinfo is None:
        return None
    return SlotChoice(rep_id=int(rep_text), start=start.astimezone(timezone.utc))


ORDINALS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}


def ordinal_pick(text: str, count: int) -> int | None:
    """ "I'll take the second one": the index of the picked button among `count`, or None."""
    lowered = (text or "").lower()
    index = next((i for word, i in ORDINALS.items() if re.search(rf"\b{word}\b", lowered)), None)
    if index is None and re.search(r"\blast\b", lowered):
        index = count - 1
    if index is None or not 0 <= index < count:
        return None
    return index


# ---- typed preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    """When the visitor said they could meet, in their zone.

    `start`/`end` bound the whole window (aware; `end` None: as far as anyone books);
    `day_start`/`day_end` narrow every day to a part of it, `weekdays` to some days.
    """

    start: datetime
    end: datetime | None
    day_start: time | None = None
    day_end: time | None = None
    weekdays: frozenset[int] | None = None
    description: str = ""

    def matches(self, moment: datetime) -> bool:
        """Whether a slot starting at `moment` (aware) is what the visitor asked for."""
        local = moment.astimezone(self.start.tzinfo)
        if local < self.start or (self.end is not None and local >= self.end):
            return False
        if self.weekdays is not None and local.weekday() not in self.weekdays:
            return False
        clock = local.time()
        if self.day_start is not None and clock < self.day_start:
            return False
        return not (self.day_end is not None and clock >= self.day_end)


def clock_time(
    hour_text: str, minute_text: str | None, suffix: str | None, *, bare_means_pm: bool = True
) -> time | None:
    hour, minute = int(hour_text), int(minute_text or 0)
    suffix = (suffix or "").replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    elif not suffix and bare_means_pm and 1 <= hour <= 7:
        # "after 3" in a business chat means 15:00, not 03:00.
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


def _time_window(text: str) -> tuple[time | None, time | None, str, str]:
    """(day_start, day_end, description, text with the time words removed)."""
    if match := BETWEEN_RE.search(text):
        first = clock_time(*match.group(1, 2), match.group(3) or match.group(6))
        second = clock_time(*match.group(4, 5, 6))
        if first and second and first < second:
            rest = text[: match.start()] + " " + text[match.end() :]
            return first, second, f"between {_clock(first)} and {_clock(second)}", rest
    if match := AFTER_RE.search(text):
        value = clock_time(*match.group(1, 2, 3))
        if value:
            return value, None, f"after {_clock(value)}", text[: match.start()] + " " + text[match.end() :]
    if match := BEFORE_RE.search(text):
        value = clock_time(*match.group(1, 2, 3))
        if value:
            return None, value, f"before {_clock(value)}", text[: match.start()] + " " + text[match.end() :]
    for pattern in AT_RES:
        if not (match := pattern.search(text)):
            continue
        value = clock_time(*match.group(1, 2, 3))
        if value:
            later = (datetime.combine(date.min, value) + AROUND_WINDOW).time()
            end = later if later > value else time(23, 59)
            return value, end, f"around {_clock(value)}", text[: match.start()] + " " + text[match.end() :]
    return None, None, "", text


def _part_of_day(text: str) -> str | None:
    for word in re.findall(r"[a-z]+", text):
        if word in PART_OF_DAY_WORDS:
            return PART_OF_DAY_WORDS[word]
    return None


def _explicit_date(text: str, today: date) -> tuple[date | None, str]:
    """A written-out date ("3 Dec", "December 3rd") and the text without it."""
    match = DATE_RE.search(text)
    if not match:
        return None, text
    parsed = dateparser.parse(
        match.group(0),
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, time(12)),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PREFER_DAY_OF_MONTH": "first",
        },
    )
    return (parsed.date() if parsed else None), text[: match.start()] + " " + text[match.end() :]


def _day_range(text: str, today: date, explicit: date | None) -> tuple[date, date, frozenset[int] | None, str] | None:
    """(first day, last day, weekday filter, description), all in the visitor's calendar."""
    words = re.findall(r"[a-z]+", text)
    monday = today - timedelta(days=today.weekday())
    next_week = "next week" in text or "following week" in text
    this_week = any(phrase in text for phrase in ("this week", "rest of the week", "in the week", "end of the week"))
    weekdays = sorted({WEEKDAYS[w] for w in words if w in WEEKDAYS})

    if "day after tomorrow" in text:
        day = today + timedelta(days=2)
        return day, day, None, f"on {day_text(day)}"
    if "tomorrow" in words:
        day = today + timedelta(days=1)
        return day, day, None, f"tomorrow ({day_text(day)})"
    if "today" in words or "tonight" in words:
        return today, today, None, "today"
    if explicit is not None:
        return explicit, explicit, None, f"on {day_text(explicit)}"

    if weekdays:
        if next_week or re.search(r"\bnext\s+(?:mon|tue|wed|thu|fri|sat|sun)", text):
            # "next Tuesday", "Tuesday next week": the Tuesday of next week.
            days = [monday + timedelta(days=7 + w) for w in weekdays]
        else:
            # "Friday", "this Friday", "on Tue": the nearest one, today included.
            days = [today + timedelta(days=(w - today.weekday()) % 7) for w in weekdays]
        days.sort()
        if len(days) == 1:
            return days[0], days[0], None, f"on {WEEKDAY_NAMES[days[0].weekday()]} {days[0].day} {days[0]:%b}"
        names = " or ".join(WEEKDAY_NAMES[d.weekday()] for d in days)
        return days[0], days[-1], frozenset(weekdays), f"on {names}"
    if next_week:
        start = monday + timedelta(days=7)
        return (
            start,
            start + timedelta(days=6),
            None,
            f"next week ({day_text(start)} to {day_text(start + timedelta(days=4))})",
        )
    if this_week:
        return today, monday + timedelta(days=6), None, "this week"
    return None


def parse_preference(text: str, *, now: datetime, zone: str) -> Preference | None:
    """What a typed preference ("next Tuesday afternoon", "any morning next week",
    "tomorrow after 3pm", "Friday") means as a window in the visitor's zone; None when
    the text says nothing about a day or a time of day.

    `now` is any aware instant; "today" is the visitor's today in `zone`.
    """
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
        return None
    tz = zone_info(zone)
    local_now = now.astimezone(tz)
    today = local_now.date()
    cleaned = re.sub(r"[^a-z0-9:.\-/@ ]+", " ", text.lower().replace("’", "'"))
    cleaned = re.sub(r"\s+", " ", cleaned).strip()

    explicit, rest = _explicit_date(cleaned, today)
    day_start, day_end, time_description, rest = _time_window(rest)
    part = _part_of_day(rest)
    if part and day_start is None and day_end is None:
        day_start, day_end = PARTS_OF_DAY[part]
        time_description = f"in the {part}" if part != "lunchtime" else "around lunchtime"
    days = _day_range(rest, today, explicit)

    if days is None and day_start is None and day_end is None:
        return None
    if days is None:
        start, end, weekdays, day_description = local_now, None, None, ""
    else:
        first, last, weekdays, day_description = days
        start = max(local_now, datetime.combine(first, time(0), tzinfo=tz))
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        if first == last:
            # One day: the window itself can be narrowed, so the availability query is too.
            if day_start is not None:
                start = max(local_now, datetime.combine(first, day_start, tzinfo=tz))
            if day_end is not None:
                end = datetime.combine(first, day_end, tzinfo=tz)
    description = " ".join(part for part in (day_description, time_description) if part)
    return Preference(
        start=start,
        end=end,
        day_start=day_start,
        day_end=day_end,
        weekdays=weekdays,
        description=description or "then",
    )


def nearest_first(starts: list[datetime], preference: Preference) -> list[datetime]:
    """Slots sorted by how far they are from what the visitor asked for (for "the nearest ones")."""

    def distance(moment: datetime) -> float:
        if moment < preference.start:
            return (preference.start - moment).total_seconds()
        if preference.end is not None and moment >= preference.end:
            return (moment - preference.end).total_seconds()
        return 0.0

    return sorted(starts, key=lambda moment: (distance(moment), moment))
