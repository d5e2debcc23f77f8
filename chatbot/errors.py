"""Error codes of the widget protocol, and the notices the widget shows while the bot is slow.

What the visitor reads for each code lives in a template, templates/chatbot/messages/<code>.txt
(Django template syntax: ``{{ limit }}``), so the words can be changed, and translated, without
touching Python.
"""

from collections.abc import Iterator, Mapping
from functools import lru_cache

from django.conf import settings
from django.template.loader import render_to_string

from config.errors import ApplicationError

MESSAGE_TEMPLATES = "chatbot/messages"
CODES = (
    "malformed_json",
    "malformed_frame",
    "frame_too_large",
    "unknown_type",
    "unknown_site",
    "origin_not_allowed",
    "no_session",
    "empty_text",
    "text_too_long",
    "invalid_id",
    "invalid_visitor",
    "invalid_timezone",
    "rate_limited",
    "too_many_conversations",
    "site_busy",
    "site_daily_limit",
    "too_many_starts",
    "too_many_connections",
    "start_timeout",
    # Notices while the bot is slow (chatbot/turns.py), not errors.
    "still_thinking",
    "answer_later",
)


@lru_cache(maxsize=256)
def _render(code: str, params: tuple) -> str:
    return render_to_string(f"{MESSAGE_TEMPLATES}/{code}.txt", dict(params)).strip()


def message_text(code: str, **params: object) -> str:
    """What the visitor reads for ``code`` (rendered once per set of parameters, then cached)."""
    if code not in CODES:
        raise KeyError(code)
    if settings.DEBUG:
        return _render.__wrapped__(code, tuple(sorted(params.items())))  # edits show without a restart
    return _render(code, tuple(sorted(params.items())))


class _Messages(Mapping):
    """MESSAGES[code]: the text of a code without parameters (tests and callers that need no parameter)."""

    def __getitem__(self, code: str) -> str:
        return message_text(code)

    def __iter__(self) -> Iterator[str]:
        return iter(CODES)

    def __len__(self) -> int:
        return len(CODES)


MESSAGES = _Messages()


class ChatError(ApplicationError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, message_text(code, **params), extra=dict(params))
