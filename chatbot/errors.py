"""Error codes of the widget protocol; the text the visitor sees for each is a template."""

from django.template.loader import render_to_string

from config.errors import ApplicationError

# The codes; what the visitor reads for each is in templates/chatbot/error_message.txt.
CODES = frozenset(
    {
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
        "bot_unavailable",
        # The reps' inbox (inbox/consumers.py): read by staff.
        "not_staff",
        "unknown_conversation",
        "conversation_closed",
        "already_held",
        "not_held",
    }
)


def error_text(code: str, **params: object) -> str:
    """The text the visitor reads for an error code (or a notice such as ``bot_unavailable``)."""
    if code not in CODES:
        raise KeyError(code)
    return render_to_string("chatbot/error_message.txt", {"code": code, **params}).strip()


class ChatError(ApplicationError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, error_text(code, **params), extra=dict(params))
