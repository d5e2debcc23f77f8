"""The one interface every calendar backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class WrittenEvent:
    """What the calendar answered to a meeting's write: the event's own id there, and the join link
    of the video meeting it created for it (Google Meet, Teams), when it did."""

    event_id: str = ""
    join_url: str = ""


@dataclass(frozen=True)
class EventChange:
    """The current state of one of our meetings' events on the calendar, as read from its changes.

    ``uid`` is the meeting's ``calendar_uid`` (the backend recognises our events by their stable id).
    A deleted event has no times; a moved one carries its new ones (aware, UTC).
    """

    uid: str
    deleted: bool = False
    start: datetime | None = None
    end: datetime | None = None
    join_url: str = ""


@dataclass(frozen=True)
class ChangeSet:
    """The changes read since a cursor, and the cursor to read from next time (opaque to the caller)."""

    changes: list[EventChange]
    cursor: str
    # Event ids learned while reading (meeting UID -> event id), for events written before ids were kept.
    event_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CalendarInfo:
    """One of the account's calendars, as its listing names it."""

    id: str
    name: str
    primary: bool = False
    can_write: bool = True
    video: bool = False  # offers video meetings (Google Meet, Teams) on its events


class CalendarBackend(Protocol):
    def busy_times(self, start: datetime, end: datetime) -> list[BusyTime]:
        """Busy (opaque, not cancelled) times overlapping [start, end), recurrences expanded."""
        ...

    def upsert_event(self, meeting: Meeting) -> WrittenEvent:
        """Create or replace the meeting's event, identified by ``meeting.calendar_uid``."""
        ...

    def delete_event(self, meeting: Meeting) -> None:
        """Remove the meeting's event; nothing to remove is not an error."""
        ...

    def event_changes(self, *, cursor: str, known: Mapping[str, str], start: datetime, end: datetime) -> ChangeSet:
        """What happened to our meetings' events since ``cursor`` ("": a first read, which reports their
        current state). ``known`` maps the UIDs of the meetings to look out for to their stored event ids
        ("" when none was kept); events of other UIDs are not reported. [start, end) is the stretch of
        time watched (where a calendar needs one). An expired cursor is handled inside: the backend
        reads everything again. Calendars that cannot report changes answer an empty ChangeSet."""
        ...

    def list_calendars(self) -> list[CalendarInfo]:
        """The account's calendars (for the rep to choose from); [] where there is no account."""
        ...
