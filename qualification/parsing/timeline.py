"""Timeline: "this quarter", "in 3 months", "by March", "before Q3", "asap", "just looking" -> months and stage.

Calendar dates ("by March", "by 15 March 2027", "before 2027-03-01") are read by dateparser's
search_dates. The rest stays by hand because dateparser does not do it: it has no quarters
("Q3", "next quarter", "end of quarter") or fiscal years, returns a date rather than a duration
(so "in 6-8 weeks" or "within a couple of months" would lose the range or the vague word), reads
"we may need it" as the month of May, and knows no buying words ("asap", "just browsing").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from babel.dates import get_month_names
from dateparser.search import search_dates

from qualification.parsing.numbers import word_number


@dataclass(frozen=True)
class Timeline:
    months: int | None
    stage: str  # a Lead.BuyingStage value


# "march", "mar", "sept" -> month number: the calendar's names (CLDR, through Babel) plus the
# abbreviation people type that CLDR does not list.
MONTHS = {
    name.lower().rstrip("."): number
    for width in ("wide", "abbreviated")
    for number, name in get_month_names(width, locale="en").items()
} | {"sept": 9}
BROWSING = re.compile(
    r"\b(just (?:looking|browsing|curious|exploring|researching)|no (?:rush|timeline|plans?|hurry)|"
    r"exploring|browsing|not (?:buying|looking to buy)|someday|early days|still early|"
    r"nothing planned|kicking the tires|window shopping)\b",
    re.I,
)
# Only an answer when the timeline was asked ("not sure" alone could be about anything).
BROWSING_ASKED = re.compile(r"\b(not sure|no idea|don'?t know|dunno|tbd|undecided|no specific|unsure|depends)\b", re.I)
IMMEDIATE = re.compile(
    r"\b(asap|a\.s\.a\.p|right away|right now|immediately|urgent(?:ly)?|yesterday|this week|next week|"
    r"right now|tomorrow|as soon as possible|straight away|this month|within (?:a|one|two|2|1) weeks?|"
    r"in (?:a|one|two|2|1) weeks?|couple of weeks|few weeks)\b",
    re.I,
)
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
# A calendar date worth handing to dateparser: a month's name ("may" only after a preposition, as
# "we may need it" is no date), or a date in digits.
CALENDAR_DATE = re.compile(
    rf"\b(?:(?!may\b)(?:{_MONTH_NAMES})|(?:by|before|in|until|around|end of|start of|early|late|mid) may)\b"
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.I,
)
DATEPARSER_SETTINGS = {"PREFER_DATES_FROM": "future", "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["month"]}


def stage_for_months(months: int) -> str:
    if months <= 1:
        return "immediate"
    if months <= 3:
        return "active"
    if months <= 6:
        return "planning"
    return "future"


def _months_until(target: dt.date, today: dt.date) -> int:
    months = (target.year - today.year) * 12 + target.month - today.month
    return max(months, 0) if months >= 0 else months + 12


def months_to_date(text: str, *, today: dt.date) -> int | None:
    """Months from today to the calendar date in text ("by March" in November -> 4), by dateparser."""
    if not CALENDAR_DATE.search(text):
        return None
    base = dt.datetime.combine(today, dt.time())
    found = search_dates(text, languages=["en"], settings={**DATEPARSER_SETTINGS, "RELATIVE_BASE": base}) or []
    words, target = next(((words, date) for words, date in found if CALENDAR_DATE.search(words)), ("", None))
    if target is None:
        return None
    months = (target.year - today.year) * 12 + target.month - today.month
    if months == 12 and not re.search(r"\d{4}", words) and not re.search(r"\bnext\b", text, re.I):
        months = 0  # this month named: dateparser's preference for the future reads it as next year's
    if months < 0:
        months %= 12  # a date already past ("June 2026" in November 2026) reads as that month's next return
    return min(months, 120)


def parse_timeline(text: str, *, today: dt.date | None = None, asked: bool = False) -> Timeline | None:
    """ "this quarter", "in 3 months", "by March", "before Q3", "asap", "just looking" -> months and stage."""
    if not text:
        return None
    today = today or dt.date.today()
    t = text.lower()
    quarter_now = (today.month - 1) // 3 + 1
    if m := re.search(
        r"\b(?:in|within|next|over the next|about|around|roughly)\s+(\d+|[a-z]+(?: of)?)\s*(?:-|to\s+\d+\s*)?\s*(day|week|month|year|quarter)s?\b",
        t,
    ):
        amount_text = m.group(1)
        amount = word_number(amount_text)
        if amount is None and amount_text in ("next",):
            amount = 1
        if amount is not None:
            unit = m.group(2)
            months = {
                "day": amount / 30,
                "week": amount / 4.3,
                "month": amount,
                "quarter": amount * 3,
                "year": amount * 12,
            }[unit]
            months = min(int(round(months)), 120)
            return Timeline(months, stage_for_months(months))
    # "3 to 6 months", "9-12 months out": a range reads as its far end (when they expect to be done)
    if m := re.search(r"\b(\d+)\s*(?:-|–|to)\s*(\d+)\s*(week|month|year)s?\b", t):
        per_unit = {"week": 1 / 4.3, "month": 1, "year": 12}[m.group(3)]
        months = min(int(round(int(m.group(2)) * per_unit)), 120)
        return Timeline(months, stage_for_months(months))
    if re.search(r"\bnext (?:fiscal|financial|budget) year\b|\bnext fy\b", t):
        return Timeline(12, "future")
    if re.search(r"\bnext (?:month)\b", t):
        return Timeline(1, "immediate")
    # in passing, "right now" is about anything ("no budget right now"); asked about timing, it is the answer
    immediate = IMMEDIATE.search(t if asked else re.sub(r"\bright now\b", " ", t))
    if immediate and not re.search(r"\bnot (?:right )?now\b", t):
        return Timeline(0, "immediate")
    if re.search(r"\b(this|the current|current) quarter\b|\bend of (?:the )?quarter\b|\beoq\b", t):
        end_month = quarter_now * 3
        months = max(end_month - today.month, 1)
        return Timeline(months, stage_for_months(months))
    if re.search(r"\bnext quarter\b", t):
        months = quarter_now * 3 + 3 - today.month
        return Timeline(months, stage_for_months(months))
    if m := re.search(r"\b(?:before|by|in|for|start of|end of|during)?\s*(?:the\s+)?q([1-4])\b(?:\s*(\d{4}))?", t):
        quarter = int(m.group(1))
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and quarter < quarter_now:
            year += 1
        start = dt.date(year, (quarter - 1) * 3 + 1, 1)
        before = re.search(rf"\b(?:before|by|start of)\s+(?:the\s+)?q{quarter}", t)
        months = _months_until(start, today) if before else _months_until(start, today) + 1
        if quarter == quarter_now and year == today.year:
            months = max(quarter * 3 - today.month, 1)
        months = max(months, 0)
        return Timeline(months, stage_for_months(months))
    if re.search(r"\b(this|the) (?:calendar |fiscal )?year\b|\bend of (?:the )?year\b|\bby year end\b|\beoy\b", t):
        months = max(12 - today.month, 1)
        return Timeline(months, stage_for_months(months))
    if re.search(r"\bnext year\b|\bin a year\b|\b2 years\b|\bcouple of years\b|\blong term\b", t):
        months = 12 + (6 if "next year" in t else 0) if "couple" not in t and "2 years" not in t else 24
        months = 12 if "next year" in t or "in a year" in t else months
        return Timeline(months, stage_for_months(months))
    if (months := months_to_date(text, today=today)) is not None:
        return Timeline(months, stage_for_months(months))
    if re.search(r"\bsoon\b|\bshortly\b|\bquickly\b", t):
        return Timeline(2, "active")
    if BROWSING.search(t) or (asked and BROWSING_ASKED.search(t)):
        return Timeline(None, "browsing")
    if asked and re.search(r"\b(now|today)\b", t):
        return Timeline(0, "immediate")
    if asked and re.search(r"\b(later|eventually|at some point|sometime|future)\b", t):
        return Timeline(12, "future")
    return None
