"""Error codes of scheduling, with the message staff see in admin and in logs.

Visitors never read these messages: the bot maps each code to a domain response
(`utter_booking_error_<code>`, scheduling/actions.py) and the meeting pages to a template
(templates/scheduling/error_message.html).
"""

from typing import TYPE_CHECKING

from config.errors import ApplicationError

if TYPE_CHECKING:
    from scheduling.models import Meeting

MESSAGES = {
    "slot_taken": "Sorry, someone just booked that time. Please pick another one.",
    "slot_unavailable": "That time can't be booked any more. Please pick another one.",
    "invalid_email": "That email address doesn't look right; please check it.",
    "already_booked": "You already have a meeting booked; you can reschedule it instead.",
    "no_rep": "Nobody is available to meet right now.",
    "meeting_not_active": "This meeting was cancelled or has already taken place.",
    "meeting_changed": "This meeting was changed meanwhile; nothing was done.",
    "invalid_status": "That status can't be set on a meeting.",
    "try_again": "Many bookings are being made right now; please try again in a moment.",
    "link_expired": "This link has expired. Please use the link in your latest email.",
    "link_invalid": "This link is not valid.",
}


class SchedulingError(ApplicationError):
    """A scheduling failure with a stable ``code`` (a key of ``MESSAGES``).

    ``meeting`` carries the meeting concerned where there is one, e.g. the existing
    booking for ``already_booked``.
    """

    def __init__(self, code: str, *, meeting: "Meeting | None" = None, **params: object) -> None:
        super().__init__(code, MESSAGES[code].format(**params), extra=dict(params))
        self.meeting = meeting
