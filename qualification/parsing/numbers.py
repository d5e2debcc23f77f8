"""Numbers as visitors type them: digits with separators, "20k", "twenty", "a few".

One table of number words, read by the company size, the timeline and (through `number_value`)
the budget. The digits themselves are read by price-parser, which knows both "1,200.50" and
"1.200,50"; the multipliers ("20k", "2 million") are ours, since price-parser reads no suffixes.
"""

from __future__ import annotations

import re

from price_parser import Price

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a dozen": 12,
    "a hundred": 100,
    "hundred": 100,
    "a thousand": 1000,
    "thousand": 1000,
}
MULTIPLIERS = {"k": 1000, "thousand": 1000, "hundred": 100, "m": 1_000_000, "million": 1_000_000}
# "a few thousand" -> 3000: vague quantities map to a sensible middle.
VAGUE = {
    "a couple": 2,
    "couple": 2,
    "a couple of": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 5,
    "a handful of": 5,
    "handful of": 5,
    "dozens of": 30,
    "hundreds of": 300,
    "thousands of": 3000,
}
# "in a month": an article counts one of the unit after it (durations only, never a headcount).
ARTICLES = {"a": 1, "an": 1}

NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:(k|m|thousand|hundred|million)\b)?"
RANGE = re.compile(rf"{NUM}\s*(?:-|–|to|and)\s*{NUM}", re.I)
SINGLE = re.compile(NUM, re.I)


def number_value(digits: str, multiplier: str | None = None) -> int:
    """ "1,200" -> 1200, "1.5" with "k" -> 1500; European "15.000" -> 15000 (price-parser's reading)."""
    amount = Price.fromstring(digits).amount
    value = float(amount) if amount is not None else float(digits.replace(",", ""))
    if multiplier:
        value *= MULTIPLIERS[multiplier.lower()]
    return int(round(value))


def word_number(word: str) -> int | None:
    """ "six" -> 6, "a couple of" -> 2, "a" -> 1, "12" -> 12; None for a word that is no amount."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    for table in (ARTICLES, NUMBER_WORDS, VAGUE):
        if word in table:
            return table[word]
    return None
