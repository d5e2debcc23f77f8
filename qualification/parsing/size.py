"""Company size: "about 200 people", "50-100", "just me", "a few thousand", "a 300-person fintech"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualification.parsing.numbers import MULTIPLIERS, NUM, NUMBER_WORDS, RANGE, SINGLE, VAGUE, number_value

SOLO = re.compile(
    r"\b(just me|only me|it'?s me|myself|me alone|solo|one[- ]man|one[- ]person|just myself|i work alone|freelancer|sole trader|solopreneur)\b",
    re.I,
)
# In passing (not answering the size question) only unambiguous phrases count: "Solo Consulting" is a name.
SOLO_IN_PASSING = re.compile(
    r"\b(just me|only me|one[- ]man (?:band|show|company)|one[- ]person (?:company|business|team)|just myself|"
    r"i work alone|solopreneur|sole trader)\b",
    re.I,
)
PEOPLE = r"(?:people|ppl|persons?|employees|staff|folks|heads|headcount|fte'?s?|strong|person|-person|-people|-strong)"
# "a sales team of 40 reps" is the size of a team, not of the company: never read as company size.
TEAM_ONLY = re.compile(
    r"\b(?:sales |revenue |sdr |bdr )?team of\b|\b(?:reps|sellers|aes|sdrs|bdrs|users|seats|licen[cs]es)\b", re.I
)
SIZE_WORDS = "|".join(sorted((w for w in NUMBER_WORDS if not w.startswith("a ")), key=len, reverse=True))
SIZE_CONTEXT = re.compile(
    rf"(?:{NUM}(?:ish|\+)?|just me|only me|solo|a few|a couple|several|few|"
    rf"\b(?:{SIZE_WORDS})(?:[\s-]+(?:hundred|thousand))?)\s*(?:\w+\s){{0,2}}?\s*{PEOPLE}\b"
    rf"|\b(?:company|headcount|staff|org(?:anization)?) of (?:about |around |roughly |~)?\S+"
    rf"|\b{NUM}\s*(?:-|\s)(?:person|people|employee|strong|seat)\b",
    re.I,
)
# Vague words that stand alone as a count ("a few", "several"), not only before "of" ("dozens of").
_VAGUE_BY_LENGTH = sorted(VAGUE.items(), key=lambda kv: -len(kv[0]))
_WORDS_BY_LENGTH = sorted(NUMBER_WORDS.items(), key=lambda kv: -len(kv[0]))
_TENS_AND_UNITS = "|".join(sorted((w for w, v in NUMBER_WORDS.items() if v < 100), key=len, reverse=True))


@dataclass(frozen=True)
class Size:
    value: int
    low: int
    high: int | None = None

    @property
    def is_range(self) -> bool:
        return self.high is not None and self.high != self.low


def _size_in(text: str) -> Size | None:
    """A size in text known to be about headcount (or answering the size question)."""
    t = text.lower().replace("~", " about ")
    if SOLO.search(t):
        return Size(1, 1)
    if m := RANGE.search(t):
        high_mult = m.group(4)
        low_mult = m.group(2) or high_mult  # "2-3k" means 2000-3000
        low, high = number_value(m.group(1), low_mult), number_value(m.group(3), high_mult)
        if low > high:
            low, high = high, low
        return Size(value=(low + high) // 2, low=low, high=high)
    if m := SINGLE.search(t):
        value = number_value(m.group(1), m.group(2))
        return Size(value, value)
    for phrase, unit in (("thousand", 1000), ("hundred", 100)):
        for vague, count in _VAGUE_BY_LENGTH:
            if re.search(rf"\b{vague}\s+{phrase}", t):
                return Size(count * unit, count * unit)
    for vague, count in _VAGUE_BY_LENGTH:
        if re.search(rf"\b{vague}\b", t) and not vague.endswith(" of"):
            return Size(count, count)
    if m := re.search(rf"\b({_TENS_AND_UNITS})[\s-]+(hundred|thousand)\b", t):
        value = NUMBER_WORDS[m.group(1)] * MULTIPLIERS[m.group(2)]
        return Size(value, value)
    for word, value in _WORDS_BY_LENGTH:
        if re.search(rf"\b{word}\b", t):
            if value < 100 and (m := re.search(rf"\b{word}\s+(hundred|thousand)\b", t)):
                value *= MULTIPLIERS[m.group(1)]
            return Size(value, value)
    return None


def parse_company_size(text: str, *, asked: bool = False) -> Size | None:
    """Headcount from "about 200 people", "50-100", "just me", "a few thousand", "a 300-person fintech".

    Unless the size question was asked, a number counts only next to a people word,
    so "in 3 months" never becomes a company of three.
    """
    if not text:
        return None
    if asked:
        # "40 reps, about 300 people overall": the company's headcount, not the team's
        several = len(SINGLE.findall(text)) > 1 and not RANGE.search(text)
        m = SIZE_CONTEXT.search(text) if several else None
        size = _size_in(m.group(0)) if m else None
        if size is None and not (TEAM_ONLY.search(text) and len(SINGLE.findall(text)) == 1):
            size = _size_in(text)
    else:
        if SOLO_IN_PASSING.search(text):
            return Size(1, 1)
        m = SIZE_CONTEXT.search(text)
        size = _size_in(m.group(0)) if m else None
    if size is None or size.value < 1 or size.value > 5_000_000:
        return None
    return size
