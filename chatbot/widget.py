"""The widget script as the web process serves it: chatbot/assets/widget.js with the widget's own words
put in.

Every word a visitor reads lives in a template (templates/chatbot/widget_words.txt), so a site owner
or translator edits one file. The words go into the script itself, not a second request, because the
launcher needs its name the moment the script runs, before anything connects. The script is the same
for every site, so browsers and proxies cache it and revalidate it with its ETag.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.template.loader import render_to_string

SOURCE = Path(__file__).resolve().parent / "assets" / "widget.js"
WORDS_TEMPLATE = "chatbot/widget_words.txt"
# Where the words go in the source: a valid (empty) object, so the source file reads as JavaScript.
WORDS_MARKER = "{/* WIDGET_WORDS */}"
# The words the script uses (T.<word>); each is one branch of the template.
WORDS = (
    "title",
    "open",
    "close",
    "message",
    "placeholder",
    "send",
    "log",
    "privacy",
    "replies",
    "person",
    "you_said",
    "bot",
    "said",
    "typing",
    "with_rep",
    "reconnecting",
)
# JSON is JavaScript, but a word may hold anything: escaped like Django's json_script, so that
# "</script>" or "<!--" cannot end or change an inline <script> that holds the script, and the
# two line separators JSON allows raw stay escaped for older JavaScript engines.
SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@dataclass(frozen=True)
class WidgetScript:
    body: bytes
    etag: str


def widget_words() -> dict[str, str]:
    """Each word of the widget as the template says it, spaces at either end removed."""
    return {word: render_to_string(WORDS_TEMPLATE, {"word": word}).strip() for word in WORDS}


def words_as_javascript(words: dict[str, str]) -> str:
    """A JavaScript object literal of the words, safe anywhere a script can stand."""
    return json.dumps(words, ensure_ascii=False, sort_keys=True).translate(SCRIPT_ESCAPES)


def widget_script() -> WidgetScript:
    """The script with the words in, and its ETag (a hash of exactly what is served)."""
    source = SOURCE.read_text(encoding="utf-8")
    if source.count(WORDS_MARKER) != 1:
        raise RuntimeError(f"{SOURCE} must hold {WORDS_MARKER} exactly once")
    body = source.replace(WORDS_MARKER, words_as_javascript(widget_words())).encode("utf-8")
    return WidgetScript(body=body, etag=hashlib.sha256(body).hexdigest()[:32])
