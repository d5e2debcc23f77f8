"""Role and authority: the visitor's job title, and what it says about who decides."""

from __future__ import annotations

import re

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


def plausible_role(role: str) -> bool:
    words = role.split()
    return (
        0 < len(words) <= 8
        and not any(ch.isdigit() for ch in role)
        and "@" not in role
        and "?" not in role
        and not NOT_AN_ANSWER.search(role)
    )
