"""Time zones for people: which zone a reader is in (or UTC), and a moment written for that reader.

Every stored time is UTC; every time a person reads is in their own zone, with the zone named.
This module is the one place that decides both, so the chat, the emails, the pages and admin
agree: a zone name that is missing or not an IANA name falls back to UTC here (and the caller
is told, so the bot can say "these times are in UTC"), never in each caller.

The wording of dates and clock times comes from Babel's CLDR patterns (`LOCALE`), not from
strftime, so a translated bot only has to change the locale.

It sits in `config`, under every app, because the chat itself (`chatbot`, which imports no app
above it) keeps a browser's zone only when it is one (`zone_clean`).
"""

import zoneinfo
from datetime import date, datetime, timedelta, timezone

from babel.dates import format_date, format_datetime

LOCALE = "en"
FALLBACK_ZONE = "UTC"
UTC_ALIASES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT"}
MAX_ZONE_NAME = 64


def zone_or_utc(name: str | None) -> tuple[str, bool]:
    """The zone if `name` is a real IANA name, else UTC; the flag says whether it was a fallback."""
    if isinstance(name, str) and name and len(name) <= MAX_ZONE_NAME:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return name, False
    return FALLBACK_ZONE, True


def zone_clean(value: object) -> str:
    """`value` when it is a real IANA name, else '': what a browser or Rasa sent, kept only if it is a zone.

    Stored as '' it means "not told", which every reader above shows as UTC.
    """
    name, fallback = zone_or_utc(value if isinstance(value, str) else None)
    return "" if fallback else name


def zone_info(name: str | None) -> zoneinfo.ZoneInfo:
    """The ZoneInfo of `name`, or UTC when it is not a zone."""
    return zoneinfo.ZoneInfo(zone_or_utc(name)[0])


def zone_name(name: str | None) -> str:
    """`name` when it is a zone, else "UTC": the name to print next to a time."""
    return zone_or_utc(name)[0]


def local_time(moment: datetime, zone: str | None) -> datetime:
    """An aware moment on the wall clock of `zone` (UTC when `zone` is not a zone)."""
    return moment.astimezone(zone_info(zone))


def zone_label(name: str | None) -> str:
    """A zone as a reader knows it: "Berlin time", "New York time", "UTC", "UTC-05:00"."""
    name = zone_name(name)
    if name in UTC_ALIASES:
        return "UTC"
    if name.startswith("Etc/") or "/" not in name:
        # Fixed offsets (Etc/GMT+5 means UTC-5) and legacy names (EST5EDT): say the offset.
        offset = datetime.now(zoneinfo.ZoneInfo(name)).utcoffset() or timedelta(0)
        return utc_offset_text(offset)
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def utc_offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


# ---- a moment written for a person -------------------------------------------------------------------


def _format(moment: datetime, pattern: str, zone: str | None) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment, pattern, tzinfo=zone_info(zone), locale=LOCALE)


def day_text(day: date) -> str:
    """A calendar day, short: "Tue 1 Dec"."""
    return format_date(day, "EEE d MMM", locale=LOCALE)


def day_long_text(day: date) -> str:
    """A calendar day, in full: "Tuesday 1 December 2026"."""
    return format_date(day, "EEEE d MMMM y", locale=LOCALE)


def clock_text(moment: datetime, zone: str | None) -> str:
    """The wall-clock time in `zone`: "14:00"."""
    return _format(moment, "HH:mm", zone)


def slot_text(start: datetime, zone: str | None) -> str:
    """A meeting time in the chat: "Tue 1 Dec, 14:00 Berlin time" (a button title, a confirmation)."""
    return f"{_format(start, 'EEE d MMM, HH:mm', zone)} {zone_label(zone)}"


def moment_text(moment: datetime, zone: str | None) -> str:
    """A moment in an email, a page or admin, with the year and the zone's IANA name:
    "Tue 3 Dec 2026, 14:00 (Europe/Berlin)"."""
    return f"{_format(moment, 'EEE d MMM y, HH:mm', zone)} ({zone_name(zone)})"


def span_text(start: datetime, end: datetime, zone: str | None) -> str:
    """A meeting from start to end: "Tue 3 Dec 2026, 14:00–14:30 (Europe/Berlin)"."""
    return f"{_format(start, 'EEE d MMM y, HH:mm', zone)}–{clock_text(end, zone)} ({zone_name(zone)})"
