"""Turn what a visitor typed into normalised lead facts.

Pure functions (no ORM, no Rasa): the bot's validation action feeds them the message text, the
entities Rasa found, the question it had asked and the site's own terms, and stores what comes
back. Each parser returns None when the text says nothing usable, so a miss can be re-asked
instead of stored. One module per fact, with its word lists beside it:

- `numbers`: number words, multipliers and digits (price-parser reads the digits)
- `size`: company size          - `timeline`: timeline and buying stage (dateparser for dates)
- `budget`: budget (price-parser for amounts and currencies)
- `contact`: email (email-validator; maintained free-mail and disposable lists) and name
- `company`: company name, industry, competitors       - `role`: role and authority
- `need`: the need and its use case
- `visitor`: job seekers, vendors, competitors and customers by their words
- `cues`: dialogue cues (declining, leaving, a person, corrections, small talk)
- `site`: `SiteTerms`, the site's product name and competitors (admin, per site)
- `message`: `facts_from_message`, every fact of one message at once

Everything is re-exported here: callers import from `qualification.parsing`.
"""

from qualification.parsing.budget import MONEY, Budget, currency_in, parse_budget
from qualification.parsing.company import (
    COMPANY_AFTER_TITLE,
    COMPANY_IN_TEXT,
    COMPANY_PREFIX,
    INDUSTRIES,
    NOT_A_COMPANY,
    clean_company,
    company_from_text,
    industry_from_text,
    visitor_type_for_company,
)
from qualification.parsing.contact import (
    DISPOSABLE,
    DOMAINS,
    EMAIL_PATTERN,
    EMAIL_RE,
    FREE_MAIL,
    NAME_IN_TEXT,
    NAME_PREFIX,
    Email,
    company_from_email,
    email_flag,
    email_in_text,
    email_normalized,
    parse_email,
    parse_name,
)
from qualification.parsing.cues import (
    ASKS_FOR_PERSON,
    CORRECTION,
    DECLINE,
    INTENT_WORDS,
    NOT_ASKING,
    SMALL_TALK,
    asks_for_person,
    is_plain_answer,
    looks_like_words,
)
from qualification.parsing.message import CONTACT, QUESTIONS, Extraction, corrects, facts_from_message, states_facts
from qualification.parsing.need import BUSINESS, NEED_HINT, USE_CASES, mentions_need, use_case_from_text
from qualification.parsing.numbers import (
    ARTICLES,
    MULTIPLIERS,
    NUM,
    NUMBER_WORDS,
    RANGE,
    SINGLE,
    VAGUE,
    number_value,
    word_number,
)
from qualification.parsing.role import (
    CONTRIBUTOR,
    DECISION_MAKER,
    INFLUENCER,
    NOT_A_TITLE,
    NOT_AN_ANSWER,
    RESEARCHER,
    ROLE_IN_TEXT,
    ROLE_PREFIX,
    ROLE_STOP,
    ROLE_STOP_ASKED,
    STUDENT,
    TITLE_FIRST,
    TITLE_HEAD,
    authority_for_role,
    clean_role,
    looks_like_title,
    plausible_role,
    role_from_text,
)
from qualification.parsing.site import NO_SITE, SiteTerms
from qualification.parsing.size import (
    PEOPLE,
    SIZE_CONTEXT,
    SIZE_WORDS,
    SOLO,
    SOLO_IN_PASSING,
    TEAM_ONLY,
    Size,
    parse_company_size,
)
from qualification.parsing.timeline import (
    BROWSING,
    BROWSING_ASKED,
    IMMEDIATE,
    MONTHS,
    Timeline,
    months_to_date,
    parse_timeline,
    stage_for_months,
)
from qualification.parsing.visitor import (
    COMPETITOR_SELF,
    EXISTING_CUSTOMER,
    JOB_WORDS,
    VENDOR_WORDS,
    existing_customer,
    job_words,
)

__all__ = [
    "ARTICLES",
    "ASKS_FOR_PERSON",
    "BROWSING",
    "BROWSING_ASKED",
    "BUSINESS",
    "COMPANY_AFTER_TITLE",
    "COMPANY_IN_TEXT",
    "COMPANY_PREFIX",
    "COMPETITOR_SELF",
    "CONTACT",
    "CONTRIBUTOR",
    "CORRECTION",
    "DECISION_MAKER",
    "DECLINE",
    "DISPOSABLE",
    "DOMAINS",
    "EMAIL_PATTERN",
    "EMAIL_RE",
    "EXISTING_CUSTOMER",
    "FREE_MAIL",
    "IMMEDIATE",
    "INDUSTRIES",
    "INFLUENCER",
    "INTENT_WORDS",
    "JOB_WORDS",
    "MONEY",
    "MONTHS",
    "MULTIPLIERS",
    "NAME_IN_TEXT",
    "NAME_PREFIX",
    "NEED_HINT",
    "NOT_AN_ANSWER",
    "NOT_ASKING",
    "NOT_A_COMPANY",
    "NO_SITE",
    "NUM",
    "NUMBER_WORDS",
    "PEOPLE",
    "QUESTIONS",
    "RANGE",
    "RESEARCHER",
    "ROLE_IN_TEXT",
    "ROLE_PREFIX",
    "ROLE_STOP",
    "ROLE_STOP_ASKED",
    "SINGLE",
    "SIZE_CONTEXT",
    "SIZE_WORDS",
    "SMALL_TALK",
    "SOLO",
    "SOLO_IN_PASSING",
    "STUDENT",
    "TITLE_FIRST",
    "TITLE_HEAD",
    "NOT_A_TITLE",
    "TEAM_ONLY",
    "USE_CASES",
    "VAGUE",
    "VENDOR_WORDS",
    "Budget",
    "Email",
    "Extraction",
    "SiteTerms",
    "Size",
    "Timeline",
    "asks_for_person",
    "authority_for_role",
    "clean_company",
    "clean_role",
    "company_from_email",
    "company_from_text",
    "corrects",
    "currency_in",
    "email_flag",
    "email_in_text",
    "email_normalized",
    "existing_customer",
    "facts_from_message",
    "industry_from_text",
    "is_plain_answer",
    "job_words",
    "looks_like_title",
    "looks_like_words",
    "mentions_need",
    "months_to_date",
    "number_value",
    "parse_budget",
    "parse_company_size",
    "parse_email",
    "parse_name",
    "parse_timeline",
    "plausible_role",
    "role_from_text",
    "stage_for_months",
    "states_facts",
    "use_case_from_text",
    "visitor_type_for_company",
    "word_number",
]
