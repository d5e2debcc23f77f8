"""The need: what the visitor wants, and the use case it falls under."""

from __future__ import annotations

import re

USE_CASES = {
    "forecasting": r"forecast|predict(?:ing)? (?:revenue|bookings|the quarter)|revenue prediction|commit|quota attainment|hit (?:our|the) number",
    "deal_scoring": r"deal scor|score (?:our |the )?deals|scoring deals|which deals|deal risk|win probabilit|deals? (?:will|going to) close|lead scor|opportunit(?:y|ies) scor",
    "pipeline_analytics": r"pipeline|dashboards?|reporting|reports|analytics|visibility|insights?|crm data|conversion rates?|funnel",
}


def use_case_from_text(text: str) -> str:
    t = text.lower()
    for category, pattern in USE_CASES.items():
        if re.search(pattern, t):
            return category
    return ""


NEED_HINT = re.compile(
    r"\b(can'?t keep up|keep up with|too (?:many|much|slow)|manual(?:ly)?|time[- ]consuming|hard to|losing|"
    r"inbound|qualif\w*|guesswork|guess|blind|"
    r"need|needs|looking for|look for|want|wanted|interested|problem|struggl\w*|help|trying to|evaluate|"
    r"evaluating|replace|hate|pain|issue|improve|better|tool|solution|spreadsheets?|excel|mess|accurate|"
    r"forecast\w*|pipeline|deals?|scor\w*|reporting|visibility|fix(?:ing)?|(?:dis)?agree|trust|the number|"
    r"our numbers?|miss(?:ing|ed)?|accuracy|predict\w*|quota|spot|slipp\w*)\b",
    re.I,
)


def mentions_need(text: str) -> bool:
    return bool(NEED_HINT.search(text or "")) or bool(use_case_from_text(text or ""))


# With a use case, words that put it in a sales team's world ("forecasting tool", not "weather forecast").
BUSINESS = re.compile(
    r"\b(?:sales|crm|deals?|revenue|quota|reps?|sdrs?|tools?|software|platform|salesforce|hubspot)\b", re.I
)
