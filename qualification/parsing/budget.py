"""Budget: "we have budget", "$20-30k", "not sure", "no budget yet" -> status (and the lowest amount named).

price-parser finds the currency written next to an amount ("$", "€", "CHF 20000", "₹") and reads
each amount's digits in either convention ("50,000", "50.000"). What it does not do stays here:
multipliers ("20k", "1.5 million"), ranges ("10-20k", whose k belongs to both ends), lower-case
codes and currency words ("usd", "dollars"), and what a budget answer says without a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from price_parser import Price

from qualification.parsing.numbers import number_value


@dataclass(frozen=True)
class Budget:
    status: str  # a Lead.Budget value
    amount: int | None = None


MONEY = re.compile(
    r"(?:[$€£]\s*)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:(k|m|thousand|million)\b)?(?:\s*(?:usd|eur|gbp|dollars|euros|pounds))?",
    re.I,
)
NO_BUDGET = re.compile(
    r"\b(no budget|don'?t have (?:a |any )?budget|no money|zero budget|can'?t afford|nothing allocated|"
    r"not budgeted|no funds?|haven'?t got (?:a |any )?budget|budget is zero|nothing yet|nope|none)\b"
)
UNSURE = re.compile(
    r"\b(not sure|unsure|no idea|don'?t know|dunno|tbd|depends|figuring (?:it )?out|working on it|"
    r"need to check|not decided|undecided|maybe|it varies|to be determined|need approval)\b"
)
HAS_BUDGET = re.compile(
    r"\b(have (?:a |the |some )?budget|budget (?:is )?(?:approved|allocated|set aside|in place|signed off|ready)|"
    r"budget for (?:this|it)|we'?ve budgeted|got (?:a |the )?budget|money set aside|funded|approved|"
    r"there(?:'?s| is) (?:a |some )?budget|budget (?:exists|is there)|earmark\w*|allocated|in (?:the|our|this year'?s) "
    r"(?:plan|budget))\b"
)


# A number with the words either side of it: where a currency is written ("$20k", "CHF 20000", "20.000 €").
MONEY_WINDOW = re.compile(r"(?:\S+\s*)?\d[\d.,]*\s*(?:(?:k|m|thousand|million)\b)?\s*\S*", re.I)


def currency_in(text: str) -> str | None:
    """The currency written next to an amount ("$", "€", "CHF", "₹"), by price-parser; None when none.

    A currency of letters counts only as a word of its own: price-parser alone finds the kuna ("kn")
    in "don't know 5".
    """
    for m in MONEY_WINDOW.finditer(text or ""):
        currency = Price.fromstring(m.group(0)).currency
        if currency and (
            not currency.isalpha() or re.search(rf"(?<![^\W\d_]){re.escape(currency)}(?![^\W\d_])", m.group(0))
        ):
            return currency
    return None


def parse_budget(text: str, *, asked: bool = False) -> Budget | None:
    """ "we have budget", "$20-30k", "not sure", "no budget yet" -> status (and amount)."""
    if not text:
        return None
    t = text.lower()
    currency = currency_in(text)
    sign = re.search(r"[$€£]", t) or (currency and not currency.isalpha())  # "$", "A$", "₹"; not "CHF"
    if (
        not asked
        and not currency
        and not re.search(r"budget|[$€£]|\d\s*k\b|\b(spend|afford|usd|eur|gbp|dollars|euros)\b", t)
    ):
        return None
    money_context = currency or re.search(
        r"[$€£]|\d\s*k\b|\b(usd|eur|gbp|dollars|euros|pounds|budget|per year|a year|annually|/yr|spend)\b", t
    )
    if money_context and (asked or "budget" in t or sign):
        amounts = [
            number_value(m.group(1), m.group(2))
            for m in MONEY.finditer(t)
            if m.group(2) or re.search(r"[$€£]", m.group(0)) or asked or number_value(m.group(1)) >= 1000
        ]
        # "10-20k": the k belongs to both ends
        if len(amounts) == 2 and amounts[0] < 1000 <= amounts[1] and amounts[0] * 1000 <= amounts[1] * 2:
            amounts[0] *= 1000
        amounts = [a for a in amounts if a >= 100]
        if amounts:
            return Budget("range", min(amounts))
    if NO_BUDGET.search(t):
        return Budget("none")
    if UNSURE.search(t):
        return Budget("not_sure")
    if HAS_BUDGET.search(t):
        return Budget("has_budget")
    if asked:
        if re.fullmatch(r"\s*(yes|yeah|yep|yup|sure|we do|of course|absolutely|definitely|correct|y|ok)\b.*", t):
            return Budget("has_budget")
        if re.fullmatch(r"\s*(no|nah|not really|n|not yet|not at the moment)\b.*", t):
            return Budget("none")
    return None
