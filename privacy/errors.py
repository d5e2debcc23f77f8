"""Error codes of privacy requests and the text staff see for each (admin messages, command output)."""

from config.errors import ApplicationError

MESSAGES = {
    "unknown_email": "Nothing is stored about {email}: no lead, meeting or visitor message has this address. "
    "Nothing was changed.",
    "invalid_email": "“{email}” is not an email address.",
    "no_email": "The selected rows have no email address, so there is no person to look up by email.",
    "several_people": "The selected rows belong to {count} different email addresses ({emails}); select one "
    "person's rows at a time.",
    "tracker_unavailable": "The bot's conversation store could not be reached ({error}); nothing was erased. "
    "Try again when it is back.",
}


class PrivacyError(ApplicationError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code, MESSAGES[code].format(**params), extra=dict(params))
