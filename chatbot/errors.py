"""Error codes of the widget protocol and the text the visitor sees for each."""

from config.errors import ApplicationError

MESSAGES = {
    "malformed_json": "That message could not be read (it was not valid JSON).",
    "malformed_frame": "That message is missing a field or has a field of the wrong type.",
    "frame_too_large": "That message is too large.",
    "unknown_type": "That kind of message is not supported.",
    "unknown_site": "This chat is not set up for this website (unknown site key).",
    "origin_not_allowed": "This chat is not allowed on this website address.",
    "no_session": "Please start the chat before sending messages.",
    "empty_text": "Please type a message first.",
    "text_too_long": "That message is too long; please shorten it to {limit} characters.",
    "invalid_id": "The message id must be a short string.",
    "invalid_visitor": "The visitor token is not valid; a new one was issued.",
    "invalid_timezone": "The time zone is not recognised; UTC is used instead.",
    "rate_limited": "You are sending messages too quickly; please wait a moment.",
    "too_many_conversations": "Too many new chats were started from your network just now; please try again in a minute.",
    "site_busy": "This chat is very busy right now; please try again in a minute.",
    "site_daily_limit": "This chat is not taking new conversations today; please come back tomorrow.",
    "too_many_starts": "This connection has already started a chat; please reload the page.",
    "too_many_connections": "Too many chat windows are open from your network; please close one and reload.",
    "start_timeout": "The chat did not start in time; please reload the page.",
    "bot_unavailable": "Sorry, I can't answer right now. Your message is saved; please try again in a moment.",
}


class ChatError(ApplicationError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, MESSAGES[code].format(**params), extra=dict(params))
