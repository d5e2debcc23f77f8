"""The one interface every calendar backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from scheduling.models import Meeting


class CalendarUnavailable(Exception):
    """The calendar could not be reached or refused the request; the write is retried later.

    ``retry_after`` (seconds) is the wait the calendar asked for (HTTP Retry-After), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CalendarGrantRevoked(CalendarUnavailable):
    """The account's OAuth grant was revoked or has expired: nothing works until the rep connects
    it again. Meetings are kept and written once it is connected again."""


@dataclass(frozen=True)
class OAuthTokens:
    """An account's OAuth grant (Google, Microsoft), decrypted for one use."""

    access_token: str
    refresh_token: str
    expires_at: datetime | None  # aware UTC


@dataclass(frozen=True)
class BusyTime:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    uid: str = ""


class CalendarBackend(Protocol):
    def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Busy (opaque, not cancelled) times overlapping [start, end), recurrences expanded."""
        ...

    def upsert_event(self, meeting: Meeting) -> None:
        """Create or replace the meeting's event, identified by ``meeting.calendar_uid``."""
        ...

    def delete_event(self, meeting: Meeting) -> None:
        """Remove the meeting's event; nothing to remove is not an error."""
        ...
