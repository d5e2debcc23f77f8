"""Dialogue cues: the words that tell what a message does rather than what it says.

Declining one question, leaving, asking for a person, correcting an earlier answer, small talk:
the qualification actions read these to decide whether a reply is an answer at all.
"""

from __future__ import annotations

import re

SMALL_TALK = re.compile(
    r"^(hi|hey|hello|thanks|thank you|thx|cheers|bye|lol|haha|cool|ok|okay|yes|no|sure|nope)\b", re.I
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


def looks_like_words(text: str) -> bool:
    """ "Controller" or "Head of FP&A", not "qwxz blorf": every plain word has a vowel (abbreviations aside)."""
    words = re.findall(r"[^\W\d_]+", text or "")
    return bool(words) and all(re.search(r"[aeiouy]", w, re.I) or (w.isupper() and len(w) <= 5) for w in words)


def is_plain_answer(text: str) -> bool:
    """A short reply with no question and nothing that only a change of subject would say."""
    text = (text or "").strip()
    return 0 < len(text.split()) <= 6 and "?" not in text and not INTENT_WORDS.search(text)
