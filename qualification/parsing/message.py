"""One message -> every fact it tells: the parsers of this package run together, as the bot calls them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from qualification.parsing.budget import parse_budget
from qualification.parsing.company import (
    clean_company,
    company_from_text,
    industry_from_text,
    visitor_type_for_company,
)
from qualification.parsing.contact import EMAIL_RE, company_from_email, parse_email, parse_name
from qualification.parsing.cues import CORRECTION, QUESTION_SENTENCE, asks_for_person, looks_like_words
from qualification.parsing.need import BUSINESS, NEED_HINT, USE_CASES, mentions_need, use_case_from_text
from qualification.parsing.role import authority_for_role, clean_role, looks_like_title, plausible_role, role_from_text
from qualification.parsing.site import NO_SITE, SiteTerms
from qualification.parsing.size import parse_company_size
from qualification.parsing.timeline import parse_timeline
from qualification.parsing.visitor import (
    COMPETITOR_SELF,
    JOB_SELF,
    PITCH,
    SUPPORT_WORDS,
    VENDOR_WORDS,
    existing_customer,
    job_words,
)

# The form's questions, in the order a good SDR asks them.
# The work email comes third: it names the company (no company question for most buyers) and a
# visitor who leaves mid-way can still be followed up.
QUESTIONS = ("need", "role", "email", "company_name", "company_size", "timeline", "budget")
# Intents that end or leave the questions; their rules answer them.
LEAVING = frozenset({"stop", "goodbye", "request_human", "request_email_followup"})
# Intents the parsers overrule when the message plainly tells facts: the NLU, trained to reject other
# domains, is unsure of "hey im vp revenue operations at brightwell", not the parsers.
OVERRULED = frozenset({"out_of_scope", "nlu_fallback"})
# The last question asks for the name with the email ("Dana Kim, dana@acme.com"); a name alone is kept too.
CONTACT = ("email", "name")


@dataclass
class Extraction:
    """What one message told us: bot slot values, Lead fields, and the raw text per Lead field."""

    slots: dict
    facts: dict
    raw: dict
    invalid: str = ""  # the asked slot, when the text was an answer that failed validation (a bad email)

    # What each question's answer sets besides its own slot: derived slots and Lead fields.
    DERIVED = {
        "need": {"need_text", "use_case"},
        "role": {"authority"},
        "timeline": {"timeline_months", "buying_stage"},
        "budget": {"budget_amount"},
        "email": {"email_flag"},
    }

    def without(self, questions: set[str]) -> Extraction:
        """The same extraction less these questions' answers (their slots, derived slots, Lead fields, raw text)."""
        gone = set(questions).union(*(self.DERIVED.get(q, set()) for q in questions))
        return Extraction(
            slots={k: v for k, v in self.slots.items() if k not in gone},
            facts={k: v for k, v in self.facts.items() if k not in gone},
            raw={k: v for k, v in self.raw.items() if k not in gone},
            invalid=self.invalid,
        )

    def only(self, slots: set[str]) -> Extraction:
        """The same extraction narrowed to these questions' answers."""
        return self.without(set(QUESTIONS) - set(slots))


def _entity_text(text: str, entity: dict) -> str:
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return text[start:end]
    return str(entity.get("value") or "")


def facts_from_message(
    *,
    text: str,
    intent: str,
    entities: list[dict],
    requested: str | None,
    known: dict,
    today: dt.date | None = None,
    site: SiteTerms = NO_SITE,
) -> Extraction:
    """Every fact in one visitor message, normalised.

    Facts mentioned in passing are taken whatever was asked ("I'm VP of Sales at a 300-person
    fintech" fills role, size and industry); free text ("Acme", "Dana") only answers the question
    that was asked. A later value replaces an earlier one, so corrections just work. `site` names
    the site's own product and its competitors (per site, in admin).
    """
    text = (text or "").strip()
    out = Extraction(slots={}, facts={}, raw={})
    if not text:
        return out
    by_type: dict[str, dict] = {}
    for entity in entities or []:
        by_type.setdefault(entity.get("entity", ""), entity)

    def take(slot: str, value, facts: dict, raw_field: str | None = None) -> None:
        out.slots[slot] = value
        out.facts.update(facts)
        if raw_field:
            out.raw[raw_field] = text

    # need, in the visitor's own words, and its category
    if requested == "need" or (not known.get("need") and (intent == "describe_need" or mentions_need(text))):
        if requested == "need" or intent in {"describe_need", "inform", "request_demo"}:
            take("need", text, {"need_text": text}, "need_text")
    use_case = ""
    if "use_case" in by_type:
        use_case = str(by_type["use_case"].get("value") or "")
        use_case = use_case if use_case in USE_CASES else use_case_from_text(use_case)
    use_case = use_case or use_case_from_text(text)
    if use_case and (out.slots.get("need") or known.get("need")):
        take("use_case", use_case, {"use_case": use_case})

    # role -> authority (students are knocked out later by the scoring rules)
    role = ""
    answer = clean_role(text, asked=True) if requested == "role" else ""
    if answer and plausible_role(answer) and (looks_like_title(answer) or looks_like_words(answer)):
        role = answer
    role = role or role_from_text(text)
    if not role and "role" in by_type and requested != "company_name":
        role = clean_role(_entity_text(text, by_type["role"]))
    if role and plausible_role(role):
        authority = authority_for_role(role)
        take("role", role, {"role": role, "authority": authority}, "role")
        out.slots["authority"] = authority
        if authority == "student":
            out.slots["visitor_type"] = "student"
            out.facts["visitor_type"] = "student"

    # company name: in passing only when capitalised after "at/from/called", else when asked
    company = company_from_text(text)
    if not company and requested == "company_name":
        company = clean_company(text) or ""
    if company:
        take("company_name", company, {"company_name": company}, "company_name")
        if kind := visitor_type_for_company(company, site.competitors):
            out.slots["visitor_type"] = kind
            out.facts["visitor_type"] = kind

    # company size
    size = parse_company_size(text, asked=requested == "company_size")
    # the NLU's size entity only when the size was asked: "in 6-8 weeks" is no headcount
    if size is None and "company_size" in by_type and requested == "company_size":
        span = _entity_text(text, by_type["company_size"])
        if parse_timeline(span, today=today) is None:
            size = parse_company_size(span, asked=True)
    if size is not None:
        take("company_size", float(size.value), {"company_size": size.value}, "company_size")

    industry = industry_from_text(_entity_text(text, by_type["industry"])) if "industry" in by_type else ""
    industry = industry or industry_from_text(text)
    if industry:
        take("industry", industry, {"industry": industry}, "industry")

    # timeline -> months and buying stage
    timeline = parse_timeline(text, today=today, asked=requested == "timeline")
    if timeline is None and "timeline" in by_type:
        timeline = parse_timeline(_entity_text(text, by_type["timeline"]), today=today, asked=True)
    if timeline is not None:
        take("timeline", text, {"timeline_months": timeline.months, "buying_stage": timeline.stage}, "timeline")
        out.slots["buying_stage"] = timeline.stage

    # budget
    budget = parse_budget(text, asked=requested == "budget")
    if budget is not None:
        take("budget", budget.status, {"budget": budget.status, "budget_amount": budget.amount}, "budget")

    # email (flagged, never rejected, when free or disposable) and name
    email = parse_email(text)
    if email is not None:
        take("email", email.address, {"email": email.address, "email_flag": email.flag}, "email")
        # a work address names the company: the company question is then not asked
        if not company and not known.get("company_name") and (company := company_from_email(email)):
            take("company_name", company, {"company_name": company})
            if kind := visitor_type_for_company(company, site.competitors):
                out.slots["visitor_type"] = out.facts["visitor_type"] = kind
    elif requested == "email" and "@" in text or requested == "email" and not out.slots:
        out.invalid = "email"
    name = parse_name(text, asked=requested == "name")
    if not name and requested in CONTACT:
        # "Dana Kim, dana@acme.com" or just "Dana Kim" to "your name and work email?"
        rest = EMAIL_RE.sub(" ", text) if email is not None else text
        rest = re.sub(
            r"\b(?:and|it is|this is|it'?s|email|e-mail|at|my|here)\b|[,;:()<>]", " ", rest, flags=re.I
        ).strip(" .-")
        mangled_email = email is None and re.search(r"@|\b(?:at|dot)\b", text, re.I)
        name = parse_name(rest, asked=True) if rest and looks_like_words(rest) and not mangled_email else None
    if name:
        take("name", name, {"name": name}, "name")

    # who is this? (job seekers and vendors by intent, customers by what they say; else a buyer)
    if COMPETITOR_SELF.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "competitor"
    elif (
        existing_customer(site.product_name).search(text) or intent == "support_request" and SUPPORT_WORDS.search(text)
    ):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "customer"
    elif intent == "job_seeking" and job_words(site.product_name).search(text) or JOB_SELF.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "job_seeker"
    elif intent == "vendor_pitch" and VENDOR_WORDS.search(text) or PITCH.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "vendor"
    elif "visitor_type" not in out.slots and not known.get("visitor_type") and out.slots:
        out.slots["visitor_type"] = out.facts["visitor_type"] = "prospect"
    return out


def facts_told(
    texts: Iterable[str], *, known: dict, today: dt.date | None = None, site: SiteTerms = NO_SITE
) -> Extraction:
    """Every fact a run of messages tells, read in order: what a visitor told a rep who held the chat.

    No question of the form was open and no NLU read them, so only what the parsers read on their
    own is taken, as the form takes facts in passing: free text answers nothing ("Acme" is no
    company), a question's words are no facts ("how much is it for 300 people?"), and the need is
    taken from a message that says it needs something. A later message replaces what an earlier
    one said; an answer already in `known` stays unless a message corrects it (the form's rule).
    A fact no message tells is not in the result, so it keeps its value.
    """
    told = Extraction(slots={}, facts={}, raw={})
    slots = dict(known)
    for text in texts:
        statement = " ".join(QUESTION_SENTENCE.sub(" ", text or "").split())
        if not statement:
            continue
        says_need = bool(NEED_HINT.search(statement))
        extraction = facts_from_message(
            text=statement,
            intent="describe_need" if says_need else "",
            entities=[],
            requested=None,
            known=slots,
            today=today,
            site=site,
        )
        dropped = set() if says_need else {"need"}  # "Acme Analytics" names no use case
        if not CORRECTION.search(statement):
            dropped |= {slot for slot in extraction.slots if slot in QUESTIONS and known.get(slot) not in (None, "")}
        extraction = extraction.without(dropped)
        if extraction.slots.keys() <= {"visitor_type"} and extraction.slots.get("visitor_type") == "prospect":
            continue  # a prospect by default only beside a fact this message told
        told.slots.update(extraction.slots)
        told.facts.update(extraction.facts)
        told.raw.update(extraction.raw)
        slots.update(extraction.slots)
    return told


def states_facts(text: str, *, site: SiteTerms = NO_SITE) -> bool:
    """Does the text tell us who the visitor is or what they need, whatever the NLU called it?

    "hey im vp revenue operations at brightwell, 650ish ppl" is no off-topic chatter even when the
    model, trained to reject other domains, is unsure of it.
    """
    told = facts_from_message(text=text, intent="inform", entities=[], requested=None, known={}, site=site).slots
    if told.keys() & {"role", "email"} or told.get("visitor_type") in {
        "competitor",
        "customer",
        "vendor",
        "job_seeker",
    }:
        return True
    # a headcount or a name alone may be anyone's ("a recipe for 12 people"): two signals, or a sales use case
    signals = len(told.keys() & {"company_size", "company_name"}) + bool(told.get("use_case") and BUSINESS.search(text))
    return signals >= 2 or bool(told.get("use_case") and BUSINESS.search(text))


def corrects(text: str, *, known: dict, site: SiteTerms = NO_SITE) -> bool:
    """ "oops, we're 9 people not 90": a correction word and a new value for a fact already given."""
    if not CORRECTION.search(text or ""):
        return False
    told = facts_from_message(text=text, intent="inform", entities=[], requested=None, known=known, site=site).slots
    return any(slot in QUESTIONS and known.get(slot) not in (None, "") for slot in told)


@dataclass(frozen=True)
class Reading:
    """What one message does by the parsers' reading, beside the NLU's intent.

    Worked out once per message (`read_message`) and read by every bot action, so "the NLU said
    noise but the visitor told us who they are" is decided in one place.
    """

    intent: str  # the NLU's intent, or "inform" where the message tells or corrects facts
    tells_facts: bool
    corrects: bool
    asks_for_person: bool  # in so many words, whatever the intent
    site: SiteTerms = NO_SITE

    @property
    def person_unanswered(self) -> bool:
        """A person asked for in a message whose intent's own rule will not answer that."""
        return self.asks_for_person and self.intent not in LEAVING


def read_message(text: str, *, intent: str, known: dict, site: SiteTerms = NO_SITE) -> Reading:
    text = text or ""
    tells = states_facts(text, site=site)
    fixes = corrects(text, known=known, site=site)
    understood = intent
    if intent == "request_human" and tells:
        understood = "inform"  # "I'm the CRO at Acme, can I talk to a person?": the facts, and the person
    elif intent in OVERRULED and (tells or fixes):
        understood = "inform"  # who they are, what they need or a fact put right: not off-topic chatter
    return Reading(understood, tells, fixes, asks_for_person(text), site)
