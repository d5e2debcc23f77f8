"""Frames from a browser's socket (the widget's, chatbot/consumers.py, and the reps' inbox,
inbox/consumers.py): untrusted, so bounded and checked before anything reads them. A bad one is a
``ChatError`` with its code, which the consumer sends back as an error frame."""

import json

from django.conf import settings

from chatbot.bot_input import text_clean
from chatbot.errors import ChatError


def frame_read(text_data: str | None, bytes_data: bytes | None) -> dict:
    """The frame as a dict with a string ``type``: its size bounded, its JSON and shape checked."""
    raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
    if len(raw.encode("utf-8")) > settings.CHAT_MAX_FRAME_BYTES:
        raise ChatError("frame_too_large")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise ChatError("malformed_json") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ChatError("malformed_frame")
    return frame


def typed_text(text: str) -> str:
    """A message someone typed, cleaned (text_clean) and trimmed; not empty, not over the length limit."""
    text = text_clean(text).strip()
    if not text:
        raise ChatError("empty_text")
    if len(text) > settings.CHAT_MAX_TEXT_LENGTH:
        raise ChatError("text_too_long", limit=settings.CHAT_MAX_TEXT_LENGTH)
    return text
