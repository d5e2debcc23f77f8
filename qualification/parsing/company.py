"""The company: its name, its industry, and whether it is a competitor of the site's."""

from __future__ import annotations

import re
from collections.abc import Iterable

from qualification.parsing.role import DECISION_MAKER, role_from_text
from qualification.parsing.timeline import MONTHS

COMPANY_IN_TEXT = re.compile(
    r"\b(?:at|from|with|for|work(?:ing)? (?:at|for)|company is|company'?s called|we'?re called|we are called|called)\s+"
    r"((?:[A-Z][\w&'.\-]*|[A-Z]{2,})(?:\s+(?:[A-Z][\w&'.\-]*|&|of))*)"
)
COMPANY_PREFIX = re.compile(
    r"^(?:hi|hey)?[,!\s]*(?:we'?re called|we are called|it'?s called|the company is|our company is|company is|"
    r"we'?re|we are|it'?s|its|i work (?:at|for)|i'?m (?:at|with|from)|i am (?:at|with|from)|called|at|from|with)\s+",
    re.I,
)
NOT_A_COMPANY = {"I", "We", "Our", "The", "Q1", "Q2", "Q3", "Q4", "VP", "CEO", "CFO", "CRO", "CTO", "Sales", "Head"}


COMPANY_AFTER_TITLE = re.compile(
    r"\bat\s+((?!(?:a|an|the|our|my|this|that|least|most|all|some|home|work|scale|risk|the moment|once)\b)"
    r"[a-z][\w&'.\-]*(?:\s+(?!(?:and|but|we|our|with|in|for|so|who|which|where)\b)[a-z][\w&'.\-]*){0,2})(?=\s*(?:[,;]|\.\s|\.?$))",
    re.I,
)


def company_from_text(text: str) -> str:
    """A company name after "at"/"from"/"called": capitalised ("VP Sales at Acme Corp"), or
    lowercase right after a job title ("vp revenue operations at brightwell, 650 ppl"), else ''."""
    for m in COMPANY_IN_TEXT.finditer(text):
        name = m.group(1).strip(" .,")
        if name.split()[0] in NOT_A_COMPANY or re.fullmatch(r"(?:Q[1-4]|[A-Z][a-z]+day)", name):
            continue
        if name.lower() in MONTHS or name.split()[0].lower() in MONTHS:
            continue
        return name[:200]
    for m in COMPANY_AFTER_TITLE.finditer(text):
        before = " ".join(text[: m.start()].split()[-5:])
        if role_from_text(before) or re.search(rf"(?:{DECISION_MAKER.pattern})\s*$", before, re.I):
            return m.group(1).strip(" .,")[:200]
    return ""


def clean_company(text: str) -> str | None:
    name = COMPANY_PREFIX.sub("", text.strip()).strip(" .!,")
    name = re.split(r"\s*(?:,|\.\s|!|\band we\b|\bwe have\b)\s*", name)[0].strip()
    words = name.split()
    if not 1 <= len(words) <= 6 or "?" in text or "@" in name:
        return None
    if words[0].lower() in {"no", "not", "why", "what", "nope", "none", "skip", "i'd", "rather"}:
        return None
    return name[:200]


def visitor_type_for_company(name: str, competitors: Iterable[str] = ()) -> str:
    """ "competitor" when the company is one of the site's competitors (`SiteTerms.competitors`), else ''.

    A competitor's name counts with words after it ("Clari Inc") or as its web domain ("clari.com",
    from a work address), never as part of a longer word ("Clarity").
    """
    name = " ".join(name.lower().split())
    names = {" ".join(c.lower().split()) for c in competitors} - {""}
    return "competitor" if any(name == c or name.startswith(c + " ") or name.split(".")[0] == c for c in names) else ""


INDUSTRIES = {
    "fintech": "fintech",
    "financial services": "financial services",
    "banking": "financial services",
    "bank": "financial services",
    "insurance": "insurance",
    "insurtech": "insurance",
    "saas": "software",
    "software": "software",
    "b2b software": "software",
    "healthcare": "healthcare",
    "health care": "healthcare",
    "healthtech": "healthcare",
    "medtech": "healthcare",
    "biotech": "healthcare",
    "manufacturing": "manufacturing",
    "manufacturer": "manufacturing",
    "logistics": "logistics",
    "e-commerce": "e-commerce",
    "ecommerce": "e-commerce",
    "retail": "retail",
    "edtech": "education",
    "education": "education",
    "telecom": "telecom",
    "cybersecurity": "cybersecurity",
    "security": "cybersecurity",
    "martech": "marketing",
    "marketing agency": "marketing",
    "agency": "marketing",
    "consulting": "consulting",
    "real estate": "real estate",
    "proptech": "real estate",
    "energy": "energy",
    "media": "media",
    "hr tech": "hr",
    "hrtech": "hr",
    "legal": "legal",
    "legaltech": "legal",
    "automotive": "automotive",
    "hospitality": "hospitality",
    "travel": "travel",
    "construction": "construction",
    "pharma": "healthcare",
    "nonprofit": "nonprofit",
    "government": "public sector",
}


def industry_from_text(text: str) -> str:
    t = text.lower()
    for word in sorted(INDUSTRIES, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", t):
            # "security" as an FAQ topic ("is it secure?") is not an industry; require company context
            if word == "security" and not re.search(r"security (?:company|firm|startup|vendor)", t):
                continue
            return INDUSTRIES[word]
    return ""
