"""What a visitor typed, made safe to store and safe to hand to Rasa.

Rasa reads a message that starts with ``/`` (after stripping whitespace) as an intent
with entities: ``/inform{"email": "x"}`` would set slots and skip the qualification.
Button payloads are the one way to send an intent, and only payloads the bot offered
(``chatbot.services.visitor_text_resolve``); everything typed goes through
``text_for_bot``, so no shape of text, however many slashes, spaces or invisible
characters it leads with, reaches Rasa as an intent.
"""

import unicodedata

# Characters that are, or look like, a slash: Rasa only knows ASCII '/', but a
# normalising step anywhere between us and its message handler must find nothing either.
SLASHES = frozenset("/\u2044\u2215\u29f8\u2e4a\uff0f\U0001f67c")
# Bidirectional overrides and isolates reorder what a reader sees (admin, emails).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width (non-)joiners are format characters that words need (emoji, Indic scripts).
JOINERS = frozenset("\u200c\u200d")
EMPTY_FOR_BOT = "?"


def text_clean(text: str) -> str:
    """The text without control characters: what is stored and what people read.

    Line breaks stay (as ``\\n``), tabs become spaces; every other control character
    (NUL cannot even be stored in PostgreSQL), lone surrogates and bidirectional
    overrides are dropped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(
        ch for ch in text if ch == "\n" or (unicodedata.category(ch) not in {"Cc", "Cs"} and ch not in BIDI_CONTROLS)
    )


def _leading_junk(ch: str) -> bool:
    return ch.isspace() or ch in SLASHES or ch in JOINERS or unicodedata.category(ch) == "Mn"


def text_for_bot(text: str) -> str:
    """Visitor text as Rasa must receive it: plain words, never an intent or entities.

    On top of ``text_clean``: line breaks become spaces, invisible format characters
    (zero-width space, BOM, tag characters) are dropped, and the whole run of whitespace,
    slashes, slash look-alikes, joiners and stray combining marks at the start is removed,
    so ``/ /request_human`` reaches Rasa as ``request_human``. Text with nothing left is
    sent as ``?`` (the bot answers it like any message it does not understand).
    """
    text = "".join(
        " " if ch == "\n" else ch for ch in text_clean(text) if ch in JOINERS or unicodedata.category(ch) != "Cf"
    )
    start = 0
    while start < len(text) and _leading_junk(text[start]):
        start += 1
    return text[start:].rstrip() or EMPTY_FOR_BOT
