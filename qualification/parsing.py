"""Turn what a visitor typed into normalised lead facts.

Pure functions (no ORM, no Rasa): the bot's validation action feeds them the
message text, the entities Rasa found and the question it had asked, and stores
what comes back. Each parser returns None when the text says nothing usable, so
a miss can be re-asked instead of stored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import tldextract
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# ---------------------------------------------------------------- company size

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
    "fifteen": 15,
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
    "a few": 3,
    "few": 3,
    "several": 5,
    "a handful of": 5,
    "handful of": 5,
    "dozens of": 30,
    "hundreds of": 300,
    "thousands of": 3000,
}
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
NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:(k|m|thousand|hundred|million)\b)?"
RANGE = re.compile(rf"{NUM}\s*(?:-|–|to|and)\s*{NUM}", re.I)
SINGLE = re.compile(NUM, re.I)


@dataclass(frozen=True)
class Size:
    value: int
    low: int
    high: int | None = None

    @property
    def is_range(self) -> bool:
        return self.high is not None and self.high != self.low


def _num(digits: str, mult: str | None) -> int:
    value = float(digits.replace(",", ""))
    if mult:
        value *= MULTIPLIERS[mult.lower()]
    return int(round(value))


def _size_in(text: str) -> Size | None:
    """A size in text known to be about headcount (or answering the size question)."""
    t = text.lower().replace("~", " about ")
    if SOLO.search(t):
        return Size(1, 1)
    if m := RANGE.search(t):
        high_mult = m.group(4)
        low_mult = m.group(2) or high_mult  # "2-3k" means 2000-3000
        low, high = _num(m.group(1), low_mult), _num(m.group(3), high_mult)
        if low > high:
            low, high = high, low
        return Size(value=(low + high) // 2, low=low, high=high)
    if m := SINGLE.search(t):
        value = _num(m.group(1), m.group(2))
        return Size(value, value)
    for phrase, unit in (("thousand", 1000), ("hundred", 100)):
        for vague, count in sorted(VAGUE.items(), key=lambda kv: -len(kv[0])):
            if re.search(rf"\b{vague}\s+{phrase}", t):
                return Size(count * unit, count * unit)
    for vague, count in sorted(VAGUE.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{vague}\b", t) and not vague.endswith(" of"):
            return Size(count, count)
    words_alternation = "|".join(sorted((w for w, v in NUMBER_WORDS.items() if v < 100), key=len, reverse=True))
    if m := re.search(rf"\b({words_alternation})[\s-]+(hundred|thousand)\b", t):
        return Size(
            NUMBER_WORDS[m.group(1)] * MULTIPLIERS[m.group(2)], NUMBER_WORDS[m.group(1)] * MULTIPLIERS[m.group(2)]
        )
    for word, value in sorted(NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", t):
            if value < 100 and (m := re.search(rf"\b{word}\s+(hundred|thousand)\b", t)):
                value *= MULTIPLIERS[m.group(1)]
            return Size(value, value)
    return None


SIZE_WORDS = "|".join(sorted((w for w in NUMBER_WORDS if not w.startswith("a ")), key=len, reverse=True))
SIZE_CONTEXT = re.compile(
    rf"(?:{NUM}(?:ish|\+)?|just me|only me|solo|a few|a couple|several|few|"
    rf"\b(?:{SIZE_WORDS})(?:[\s-]+(?:hundred|thousand))?)\s*(?:\w+\s){{0,2}}?\s*{PEOPLE}\b"
    rf"|\b(?:company|headcount|staff|org(?:anization)?) of (?:about |around |roughly |~)?\S+"
    rf"|\b{NUM}\s*(?:-|\s)(?:person|people|employee|strong|seat)\b",
    re.I,
)


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


# ---------------------------------------------------------------- role and authority

DECISION_MAKER = re.compile(
    r"\b(ceo|cfo|cro|coo|cto|cmo|cio|cso|chief|founder|co-?founder|owner|president|vp|v\.p\.|vice president|svp|evp|"
    r"head of|director|managing partner|partner|principal|general manager|gm|md|managing director)\b",
    re.I,
)
INFLUENCER = re.compile(
    r"\b(manager|lead|team lead|revops|rev ops|sales ops|operations|ops|architect|senior|sr|"
    r"sales|marketing|finance|revenue|growth|partnerships|procurement|customer success|enablement)\b",
    re.I,
)
# Individual contributors: they use the tool, they seldom sway the purchase (a manager or lead does).
CONTRIBUTOR = re.compile(
    r"\b(specialist|coordinator|assistant|administrator|admin|engineer|account executive|ae|sdr|bdr|rep|"
    r"representative|executive assistant|clerk|officer)\b",
    re.I,
)
RESEARCHER = re.compile(r"\b(analyst|researcher|consultant|advisor|intern|associate|writer|journalist)\b", re.I)
STUDENT = re.compile(
    r"\b(student|studying|phd|ph\.d|mba candidate|undergrad|undergraduate|thesis|dissertation|university|college|school project|coursework|class project|homework)\b",
    re.I,
)
ROLE_PREFIX = re.compile(
    r"^(?:hi|hey|hello)?[,!\s]*(?:i'?m|i am|im|i work as|i'?m working as|my (?:role|title|job(?: title)?) is|as|"
    r"my position is|currently|it'?s|i run|i lead)\s+(?:actually |now )?(?:a |an |the |our |the company'?s )?",
    re.I,
)
ROLE_IN_TEXT = re.compile(
    r"\b(?:i'?m|i am|im|i work as|as|my (?:role|title) is)\s+(?:actually |now )?(?:a |an |the |our )?"
    r"((?:[a-z&/\-]+\s){0,4}?(?:ceo|cfo|cro|coo|cto|cmo|cio|founder|co-?founder|owner|president|vp|"
    r"vice president|svp|evp|head|director|manager|lead|analyst|student|"
    r"researcher|consultant|engineer|intern|partner|account executive|sdr|bdr|rep|admin|specialist)"
    r"(?:\s(?:of|for)\s(?:[a-z&/\-]+(?:\s|$|(?=[,.;!]))){1,3}"
    # "VP Revenue Operations at ...": the words of the title after its head word, up to a stop word
    r"|(?:\s(?!(?:at|from|with|in|and|or|for|of|but|so|we|our|who|that|here|doing|looking|working|trying|"
    r"interested|wanting|curious|and|to|the|a|an)\b)[a-z&/\-]+){1,3}(?=\s+(?:at|from|with|in)\b|[,.;!]|$))?)",
    re.I,
)
ROLE_STOP = re.compile(r"\s+(?:at|from|with|in|for a|and|but|,|\.|we|our|who|since|until)\b.*$", re.I)


ROLE_STOP_ASKED = re.compile(r"\s+(?:at|from|with|in|for a|but|we|our|who)\b.*$|\.\s.*$", re.I)


def clean_role(text: str, *, asked: bool = False) -> str:
    """The title itself: "I'm the Senior Director, Inside Sales at Acme" -> "Senior Director, Inside Sales".

    Asked for the role, a comma belongs to the title; in passing it ends it.
    """
    role = ROLE_PREFIX.sub("", text.strip()).strip(" .!,")
    role = (ROLE_STOP_ASKED if asked else ROLE_STOP).sub("", role).strip(" .!,")
    return role[:200]


# A message that opens with the title as its own sentence: "Senior Director, Inside Sales. We need ..."
TITLE_FIRST = re.compile(r"^\s*([^.!?\n]{2,60}?)\s*(?:[.!]\s|\s[-–]\s)")
TITLE_HEAD = re.compile(
    r"\b(?:manager|lead|director|head|specialist|coordinator|analyst|executive|officer|engineer|administrator|"
    r"consultant)\b",
    re.I,
)
NOT_A_TITLE = re.compile(r"\b(?:i|we|our|my|need|needs|want|wants|looking|is|are|have|has|hi|hello|hey)\b", re.I)


def role_from_text(text: str) -> str:
    """A job title mentioned in passing ("I'm VP of Sales at ...", "Head of Sales, EMEA. We ..."), else ''."""
    if m := ROLE_IN_TEXT.search(text):
        return ROLE_STOP.sub("", m.group(1)).strip(" .!,")[:200]
    if (m := TITLE_FIRST.match(text)) and len((title := m.group(1).strip(" ,")).split()) <= 6:
        if (DECISION_MAKER.search(title) or TITLE_HEAD.search(title)) and not NOT_A_TITLE.search(title):
            if not any(ch.isdigit() for ch in title):
                return title[:200]
    if STUDENT.search(text) and re.search(r"\b(i'?m|i am|im)\b", text, re.I):
        return "student"
    return ""


def authority_for_role(role: str) -> str:
    """A Lead.Authority value for a title (student beats everything: "MBA student, former VP")."""
    if not role:
        return ""
    if STUDENT.search(role):
        return "student"
    if DECISION_MAKER.search(role):
        return "decision_maker"
    if RESEARCHER.search(role):
        return "researcher"
    # "Sales Ops Specialist" is a contributor, "SDR Team Lead" or "Senior Sales Manager" leads people
    if CONTRIBUTOR.search(role) and not re.search(r"\b(?:manager|lead|head)\b", role, re.I):
        return "contributor"
    return "influencer"


NOT_AN_ANSWER = re.compile(
    r"^(no|not|nope|why|what|how|idk|i don'?t|i'?d rather|rather|skip|none|nothing|n/?a|dunno|pass|hmm+|ok|okay|yes|sure)\b",
    re.I,
)


def looks_like_title(text: str) -> bool:
    return bool(
        DECISION_MAKER.search(text)
        or INFLUENCER.search(text)
        or CONTRIBUTOR.search(text)
        or RESEARCHER.search(text)
        or STUDENT.search(text)
    )


SMALL_TALK = re.compile(
    r"^(hi|hey|hello|thanks|thank you|thx|cheers|bye|lol|haha|cool|ok|okay|yes|no|sure|nope)\b", re.I
)


def plausible_role(role: str) -> bool:
    words = role.split()
    return (
        0 < len(words) <= 8
        and not any(ch.isdigit() for ch in role)
        and "@" not in role
        and "?" not in role
        and not NOT_AN_ANSWER.search(role)
    )


# Declining one question ("I'd rather not say") is not leaving ("stop", "not now").
DECLINE = re.compile(
    r"\b(?:rather not|prefer not|would not like to|skip (?:this|that|it)|skip\b|pass(?: on (?:this|that|it))?$|"
    r"not comfortable|don'?t (?:want|wish) to (?:say|share|tell|disclose)|can'?t (?:say|share|disclose|tell)|"
    r"confidential|none of your business|no comment|not (?:sharing|telling|saying)|won'?t (?:say|share)|"
    r"not (?:going|gonna) to (?:say|share)|keep (?:that|it) to myself)",
    re.I,
)
# What only a visitor who means it types: leaving, a person, a job, a pitch, support. A short reply to
# a free-text question ("Dana Kim", "Controller") that has none of these is an answer, whatever the NLU read.
INTENT_WORDS = re.compile(
    r"\b(?:stop|quit|bye|goodbye|later|not now|enough|done|leave|human|person|agent|someone|real|"
    r"job|jobs|career|careers|hiring|vacanc\w*|apply|resume|cv|internship|partner(?:ship)?s?|"
    r"our (?:agency|services)|support|help ?desk|login|log in|invoice|bug|broken|why|email me|price|pricing|cost)\b",
    re.I,
)
# The NLU's "job seeker" or "vendor" counts only with words only they would use (a name or a
# company typed as an answer must not disqualify anyone).
JOB_WORDS = re.compile(
    r"\b(?:jobs?|careers?|hiring|hire me|vacanc\w*|positions?|openings?|apply|applying|application|resume|cv|"
    r"intern(?:ship)?s?|recruit\w*|employment|join (?:your|the) team|work (?:for|at|with) (?:you|northwind))\b",
    re.I,
)
VENDOR_WORDS = re.compile(
    r"\b(?:our (?:agency|services?|company|platform|solution|product|team|firm)|we (?:offer|provide|help|specialize|"
    r"specialise|build|sell|can help)|partner(?:ship)?s?|proposal|pitch|outsourc\w*|lead gen\w*|seo|vendor|reseller|"
    r"agency|collaborat\w*|white[- ]label|affiliate)\b",
    re.I,
)
# The NLU's "support request" counts only with words a customer with a problem would use ("I own sales
# and account management" is a title, not a ticket).
SUPPORT_WORDS = re.compile(
    r"\b(?:support|help ?desk|log ?in|login|logged|password|invoices?|billing|billed|charged|refund|bug|broken|"
    r"not working|doesn'?t work|isn'?t working|stopped|errors?|sync\w*|ticket|disconnected|outage|down|"
    r"our (?:account|subscription|plan|seats?|licen[cs]es?|instance|admin)|my (?:account|subscription|login))\b",
    re.I,
)
# What only someone looking for a job says, whatever the NLU made of it.
JOB_SELF = re.compile(
    r"\b(?:(?:are|if|whether) you(?:'re| are)? (?:still )?hiring|between jobs|(?:looking for|need) (?:a |some )?"
    r"(?:job|work|new role|position)\b(?! (?:title|description)s?)|(?:send|share) (?:you )?my (?:cv|resume)|"
    r"(?:open|any) (?:positions|roles|vacancies|job openings)|apply (?:for|to) (?:a |the |your )?(?:job|role|position))",
    re.I,
)
# What only someone selling to us says, whatever the NLU made of it.
PITCH = re.compile(
    r"\b(?:(?:can|could|may) i send (?:you |over )?(?:a |our |my )?(?:deck|proposal|case stud\w*|portfolio)|"
    r"we (?:help|work with) (?:companies|teams|startups|saas (?:companies|teams)) like yours|"
    r"right person to (?:speak|talk) (?:to|with) about (?:a |our )?(?:partnership|pilot|our services))\b",
    re.I,
)
# Saying you work for a competitor, without naming one we know.
COMPETITOR_SELF = re.compile(
    r"\b(?:(?:i work|i'?m|i am|we are|we'?re)\s+(?:at|for|with|from)\s+(?:a |an )?(?:[\w-]+ ){0,3}?"
    r"(?:competitor|competing)\b|"
    r"(?:i|we) (?:work (?:at|for)|am with|are) (?:a )?(?:competitor|competing (?:company|vendor|product))|"
    r"(?:from|at|with) a competitor|we(?:'re| are) (?:a )?competitors?|we (?:build|sell|make) (?:a )?(?:similar|competing) "
    r"(?:product|tool)|competitive (?:research|intel(?:ligence)?|analysis)|"
    # "we make forecasting software too", "we also sell a pipeline analytics tool"
    r"we (?:also )?(?:build|sell|make|offer|have) (?:a |an |our own )?(?:[\w-]+ ){0,3}?"
    r"(?:software|tool|platform|product)s?(?: \w+)? (?:too|as well)|we also (?:build|sell|make) (?:[\w-]+ ){0,3}?"
    r"(?:software|tools?|platforms?|products?))\b",
    re.I,
)


def looks_like_words(text: str) -> bool:
    """ "Controller" or "Head of FP&A", not "qwxz blorf": every plain word has a vowel (abbreviations aside)."""
    words = re.findall(r"[^\W\d_]+", text or "")
    return bool(words) and all(re.search(r"[aeiouy]", w, re.I) or (w.isupper() and len(w) <= 5) for w in words)


# Asking for a person in a message that says other things too ("…, can I just talk to a human please?").
# Not when the visitor says they would rather not, yet ("wanted to try before talking to anyone").
NOT_ASKING = re.compile(
    r"\b(?:before|without|rather than|instead of|not|never|no need to|don'?t (?:want|need) to)\s+(?:\w+\s+)?$", re.I
)
ASKS_FOR_PERSON = re.compile(
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+)?(?:real\s+|live\s+)?(?:human|person|someone|somebody|"
    r"rep|representative|agent)\b|\blive\s+(?:rep|agent|person|human)\b|\bhuman,?\s+please\b|"
    r"\b(?:want|need|get|prefer|see)\s+(?:to\s+(?:talk|speak)\s+to\s+)?(?:a\s+|an\s+)?(?:real\s+|live\s+|actual\s+)?"
    r"(?:human|person|human being)\b(?!\s+(?:who|that|to|for|in|with|on)\b)",
    re.I,
)
# Words that mark a message as changing what was said before ("actually we're 500 people").
CORRECTION = re.compile(
    r"\b(?:actually|sorry|correction|i meant|i mean|scratch (?:that|what)|not \w+ but|in fact|wait|"
    r"update|changed|to correct|my mistake|my bad|rather|typo|oops|i said \w+(?: \w+)? (?:earlier|before)|"
    r"not \d[\d,.]*\b|(?:earlier|before) i said)",
    re.I,
)


# A product question asked in a message the NLU read as something else ("We need X. How much is it?").
FAQ_QUESTIONS = {
    "faq_pricing": re.compile(r"\b(?:how much|price|pricing|prices|cost|costs|per (?:seat|user)|expensive)\b", re.I),
    "faq_trial": re.compile(r"\b(?:free trial|trial|try it (?:out )?(?:first|for free))\b", re.I),
    "faq_integrations": re.compile(
        r"\b(?:integrat\w*|connect\w*|sync\w*|work with)\b.*\b(?:salesforce|hubspot|pipedrive|dynamics|crm|slack)\b",
        re.I,
    ),
    "faq_security": re.compile(r"\b(?:secure|security|soc ?2|gdpr|sso|saml|encrypt\w*|iso ?27001)\b", re.I),
}
QUESTION_SENTENCE = re.compile(r"[^.!?]*\?")


def faq_asked(text: str) -> str | None:
    """The FAQ a question in the text asks (only its sentences that end in "?"), else None."""
    for sentence in QUESTION_SENTENCE.findall(text or ""):
        for intent, pattern in FAQ_QUESTIONS.items():
            if pattern.search(sentence):
                return intent
    return None


def asks_for_person(text: str) -> bool:
    return any(not NOT_ASKING.search(text[: m.start()]) for m in ASKS_FOR_PERSON.finditer(text or ""))


def corrects(text: str, *, known: dict) -> bool:
    """ "oops, we're 9 people not 90": a correction word and a new value for a fact already given."""
    if not CORRECTION.search(text or ""):
        return False
    told = facts_from_message(text=text, intent="inform", entities=[], requested=None, known=known).slots
    return any(slot in QUESTIONS and known.get(slot) not in (None, "") for slot in told)


def is_plain_answer(text: str) -> bool:
    """A short reply with no question and nothing that only a change of subject would say."""
    text = (text or "").strip()
    return 0 < len(text.split()) <= 6 and "?" not in text and not INTENT_WORDS.search(text)


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Timeline:
    months: int | None
    stage: str  # a Lead.BuyingStage value


MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
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
WORD_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "nine": 9, "twelve": 12}
WORD_NUM.update({"couple of": 2, "a couple of": 2, "few": 3, "a few": 3, "several": 4, "eighteen": 18, "eight": 8})


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
        amount = int(amount_text) if amount_text.isdigit() else WORD_NUM.get(amount_text)
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
    month_names = "|".join(sorted(MONTHS, key=len, reverse=True))
    if m := re.search(rf"\b(?:by|before|in|until|around|end of|start of|early|late|mid)?\s*({month_names})\b", t):
        if m.group(1) != "may" or re.search(r"\b(by|before|in|until|around|end of|start of|early|late|mid) may\b", t):
            month = MONTHS[m.group(1)]
            months = (month - today.month) % 12
            if months == 0 and re.search(r"\bnext\b", t):
                months = 12
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


# ---------------------------------------------------------------- budget


@dataclass(frozen=True)
class Budget:
    status: str  # a Lead.Budget value
    amount: int | None = None


MONEY = re.compile(
    r"(?:[$€£]\s*)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:(k|m|thousand|million)\b)?(?:\s*(?:usd|eur|gbp|dollars|euros|pounds))?",
    re.I,
)


def parse_budget(text: str, *, asked: bool = False) -> Budget | None:
    """ "we have budget", "$20-30k", "not sure", "no budget yet" -> status (and amount)."""
    if not text:
        return None
    t = text.lower()
    if not asked and not re.search(r"budget|[$€£]|\d\s*k\b|\b(spend|afford|usd|eur|gbp|dollars|euros)\b", t):
        return None
    money_context = re.search(
        r"[$€£]|\d\s*k\b|\b(usd|eur|gbp|dollars|euros|pounds|budget|per year|a year|annually|/yr|spend)\b", t
    )
    if money_context and (asked or "budget" in t or re.search(r"[$€£]", t)):
        amounts = [
            _num(m.group(1), m.group(2))
            for m in MONEY.finditer(t)
            if m.group(2) or re.search(r"[$€£]", m.group(0)) or asked or float(m.group(1).replace(",", "")) >= 1000
        ]
        # "10-20k": the k belongs to both ends
        if len(amounts) == 2 and amounts[0] < 1000 <= amounts[1] and amounts[0] * 1000 <= amounts[1] * 2:
            amounts[0] *= 1000
        amounts = [a for a in amounts if a >= 100]
        if amounts:
            return Budget("range", min(amounts))
    if re.search(
        r"\b(no budget|don'?t have (?:a |any )?budget|no money|zero budget|can'?t afford|nothing allocated|"
        r"not budgeted|no funds?|haven'?t got (?:a |any )?budget|budget is zero|nothing yet|nope|none)\b",
        t,
    ):
        return Budget("none")
    if re.search(
        r"\b(not sure|unsure|no idea|don'?t know|dunno|tbd|depends|figuring (?:it )?out|working on it|"
        r"need to check|not decided|undecided|maybe|it varies|to be determined|need approval)\b",
        t,
    ):
        return Budget("not_sure")
    if re.search(
        r"\b(have (?:a |the |some )?budget|budget (?:is )?(?:approved|allocated|set aside|in place|signed off|ready)|"
        r"budget for (?:this|it)|we'?ve budgeted|got (?:a |the )?budget|money set aside|funded|approved|"
        r"there(?:'?s| is) (?:a |some )?budget|budget (?:exists|is there)|earmark\w*|allocated|in (?:the|our|this year'?s) "
        r"(?:plan|budget))\b",
        t,
    ):
        return Budget("has_budget")
    if asked:
        if re.fullmatch(r"\s*(yes|yeah|yep|yup|sure|we do|of course|absolutely|definitely|correct|y|ok)\b.*", t):
            return Budget("has_budget")
        if re.fullmatch(r"\s*(no|nah|not really|n|not yet|not at the moment)\b.*", t):
            return Budget("none")
    return None


# ---------------------------------------------------------------- email and name

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
FREE_MAIL = {
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
    "qq.com",
    "163.com",
}
DISPOSABLE = {
    "mailinator.com",
    "10minutemail.com",
    "guerrillamail.com",
    "guerrillamail.net",
    "sharklasers.com",
    "yopmail.com",
    "temp-mail.org",
    "tempmail.com",
    "tempmail.net",
    "trashmail.com",
    "getnada.com",
    "dispostable.com",
    "maildrop.cc",
    "throwawaymail.com",
    "fakeinbox.com",
    "mailnesia.com",
    "mintemail.com",
    "spamgourmet.com",
}


@dataclass(frozen=True)
class Email:
    address: str
    flag: str  # "", "free_mail" or "disposable"


def parse_email(text: str) -> Email | None:
    """The first valid address in text, lower-cased domain, flagged (never rejected) if free or disposable."""
    if not text:
        return None
    for candidate in EMAIL_RE.findall(text):
        candidate = candidate.strip(".'")
        try:
            validate_email(candidate)
        except ValidationError:
            continue
        local, _, domain = candidate.rpartition("@")
        domain = domain.lower()
        flag = "disposable" if domain in DISPOSABLE else "free_mail" if domain in FREE_MAIL else ""
        return Email(f"{local}@{domain}", flag)
    return None


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


# ---------------------------------------------------------------- company name, industry, use case

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
COMPETITORS = {
    "clari",
    "gong",
    "aviso",
    "insightsquared",
    "boostup",
    "people.ai",
    "salesloft",
    "outreach",
    "forecastio",
}


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


def visitor_type_for_company(name: str) -> str:
    return "competitor" if name and name.lower().split()[0].split(".")[0] in COMPETITORS else ""


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


# ---------------------------------------------------------------- one message -> facts

EXISTING_CUSTOMER = re.compile(
    r"\b(already a customer|existing customer|current customer|already (?:use|using|pay for) (?:northwind|your (?:product|tool))|"
    r"we(?:'re| are) (?:a )?customers?(?: of yours)?|our (?:northwind )?(?:account|subscription|license) (?:is|has))\b",
    re.I,
)

# The form's questions, in the order a good SDR asks them.
# The work email comes third: it names the company (no company question for most buyers) and a
# visitor who leaves mid-way can still be followed up.
QUESTIONS = ("need", "role", "email", "company_name", "company_size", "timeline", "budget")
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
) -> Extraction:
    """Every fact in one visitor message, normalised.

    Facts mentioned in passing are taken whatever was asked ("I'm VP of Sales at a 300-person
    fintech" fills role, size and industry); free text ("Acme", "Dana") only answers the question
    that was asked. A later value replaces an earlier one, so corrections just work.
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
        if kind := visitor_type_for_company(company):
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
            if kind := visitor_type_for_company(company):
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
    elif EXISTING_CUSTOMER.search(text) or intent == "support_request" and SUPPORT_WORDS.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "customer"
    elif intent == "job_seeking" and JOB_WORDS.search(text) or JOB_SELF.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "job_seeker"
    elif intent == "vendor_pitch" and VENDOR_WORDS.search(text) or PITCH.search(text):
        out.slots["visitor_type"] = out.facts["visitor_type"] = "vendor"
    elif "visitor_type" not in out.slots and not known.get("visitor_type") and out.slots:
        out.slots["visitor_type"] = out.facts["visitor_type"] = "prospect"
    return out


# With a use case, words that put it in a sales team's world ("forecasting tool", not "weather forecast").
BUSINESS = re.compile(
    r"\b(?:sales|crm|deals?|revenue|quota|reps?|sdrs?|tools?|software|platform|salesforce|hubspot)\b", re.I
)


def states_facts(text: str) -> bool:
    """Does the text tell us who the visitor is or what they need, whatever the NLU called it?

    "hey im vp revenue operations at brightwell, 650ish ppl" is no off-topic chatter even when the
    model, trained to reject other domains, is unsure of it.
    """
    told = facts_from_message(text=text, intent="inform", entities=[], requested=None, known={}).slots
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
