"""Signed, expiring links that let a visitor manage their meeting without an account.

A token names the meeting (its public id, never the database id) and the meeting's
SEQUENCE when the link was issued: once the meeting moves, the old email's link
stops working and the newest email's link is the one to use. Tokens expire after
``SCHEDULING_LINK_MAX_AGE_SECONDS`` (default 60 days).
"""

import re
import uuid
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

from scheduling.errors import SchedulingError
from scheduling.models import Meeting

SALT = "scheduling.meeting-link"
DEFAULT_MAX_AGE_SECONDS = 60 * 24 * 3600


def max_age_seconds() -> int:
    return int(getattr(settings, "SCHEDULING_LINK_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def meeting_token(meeting: Meeting) -> str:
    return signing.dumps({"m": meeting.public_id.hex, "s": meeting.sequence}, salt=SALT, compress=True)


def meeting_from_token(token: str) -> Meeting:
    """The meeting a link points to; SchedulingError("link_expired" | "link_invalid") otherwise."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_seconds())
    except signing.SignatureExpired as exc:
        raise SchedulingError("link_expired") from exc
    except signing.BadSignature as exc:
        raise SchedulingError("link_invalid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("m"), str) or not isinstance(data.get("s"), int):
        raise SchedulingError("link_invalid")
    try:
        public_id = uuid.UUID(hex=data["m"])
    except ValueError as exc:
        raise SchedulingError("link_invalid") from exc
    meeting = Meeting.objects.select_related("rep", "lead", "conversation").filter(public_id=public_id).first()
    if meeting is None:
        raise SchedulingError("link_invalid")
    if meeting.sequence != data["s"]:
        # The meeting changed since this link was sent: a newer email carries the current link.
        raise SchedulingError("link_expired")
    return meeting


# What a rep, a calendar or anyone but the visitor reads instead of the visitor's link.
LINK_WITHHELD = "[reschedule/cancel link sent to the visitor only]"


@lru_cache(maxsize=1)
def _manage_link_re() -> re.Pattern:
    """Any absolute or relative URL of a meeting's manage, reschedule or cancel page."""
    marker = "TOKEN"
    prefix = reverse("scheduling:manage", args=[marker]).split(marker)[0]  # '/meetings/'
    return re.compile(rf"(?:https?://[^\s/]+)?{re.escape(prefix)}[^\s/]+/?(?:(?:reschedule|cancel)/?)?\S*")


def meeting_links_redact(text: str) -> str:
    """The text without reschedule/cancel links: the bot shows them in the visitor's chat
    bubble, and that message is part of the transcript reps, calendars and admin read.
    Whoever holds the link can cancel the meeting, so only the visitor's own email and
    chat keep it."""
    return _manage_link_re().sub(LINK_WITHHELD, text)
