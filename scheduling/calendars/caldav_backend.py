"""CalDAV calendars (Radicale, Nextcloud, iCloud, Fastmail, ...) through the ``caldav`` library.

Our meetings live at ``<calendar>/<quoted UID>.ics``: writing the same UID again replaces
the event, so a retried or duplicated write never creates a second one.

Changes made on the calendar are read with a WebDAV sync-collection report (RFC 6578, the
library's ``get_objects_by_sync_token``): only members whose href is one of our meetings' UIDs are
downloaded. A server without sync tokens, or with an expired one, lists every member instead
(the library's fallback), which reports no removals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import unquote

import caldav
from caldav.lib import error as caldav_error

from config import zones
from scheduling.calendars.base import (
    BusyTime,
    CalendarInfo,
    CalendarUnavailable,
    ChangeSet,
    EventChange,
    WrittenEvent,
)

if TYPE_CHECKING:
    from scheduling.models import Meeting

TIMEOUT_SECONDS = 15
# Failures that mean "try again later": the server is down, slow, or answered with an error.
TRANSIENT = (caldav_error.DAVError, OSError, TimeoutError)


class CalDAVCalendar:
    def __init__(
        self,
        *,
        url: str,
        username: str = "",
        password: str = "",
        timezone: str = "UTC",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout
        # All-day and floating events have no zone of their own: they are in the rep's.
        self.timezone = zones.zone_info(timezone)

    def _calendar(self, client: caldav.DAVClient) -> caldav.Calendar:
        return client.calendar(url=self.url)

    def _client(self) -> caldav.DAVClient:
        return caldav.DAVClient(
            url=self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=self.timeout,
        )

    def busy_times(self, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
        try:
            with self._client() as client:
                events = self._calendar(client).search(start=start, end=end, event=True, expand=True)
                components = [event.component for event in events]
        except TRANSIENT as exc:
            raise CalendarUnavailable(f"CalDAV busy times from {self.url}: {exc}") from exc
        busy = []
        for component in components:
            if str(component.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            if str(component.get("STATUS", "")).upper() == "CANCELLED":
                continue
            span = self._span(component)
            if span and span[0] < end and span[1] > start:
                busy.append(BusyTime(start=span[0], end=span[1], uid=str(component.get("UID", ""))))
        return sorted(busy, key=lambda b: (b.start, b.end))

    def _span(self, component) -> tuple[dt.datetime, dt.datetime] | None:
        if "DTSTART" not in component:
            return None
        start = self._utc(component["DTSTART"].dt)
        if "DTEND" in component:
            end = self._utc(component["DTEND"].dt)
        elif "DURATION" in component:
            end = start + component["DURATION"].dt
        elif isinstance(component["DTSTART"].dt, dt.datetime):
            end = start  # RFC 5545: a timed event without DTEND or DURATION takes no time
        else:
            end = self._utc(component["DTSTART"].dt + dt.timedelta(days=1))
        return (start, end) if end > start else None

    def _utc(self, value: dt.date | dt.datetime) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time.min)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.timezone)
        return value.astimezone(dt.timezone.utc)

    def upsert_event(self, meeting: Meeting) -> WrittenEvent:
        from scheduling.ics import meeting_calendar_resource

        try:
            with self._client() as client:
                # increase_seqno=False: SEQUENCE is ours (Meeting.sequence), stored verbatim.
                self._calendar(client).add_event(meeting_calendar_resource(meeting), increase_seqno=False)
        except TRANSIENT as exc:
            raise CalendarUnavailable(f"CalDAV write to {self.url}: {exc}") from exc
        return WrittenEvent(event_id=meeting.calendar_uid)

    def delete_event(self, meeting: Meeting) -> None:
        try:
            with self._client() as client:
                try:
                    event = self._calendar(client).get_event_by_uid(meeting.calendar_uid)
                except caldav_error.NotFoundError:
                    return
                event.delete()
        except TRANSIENT as exc:
            raise CalendarUnavailable(f"CalDAV delete on {self.url}: {exc}") from exc

    def event_changes(
        self, *, cursor: str, known: Mapping[str, str], start: dt.datetime, end: dt.datetime
    ) -> ChangeSet:
        changes = []
        try:
            with self._client() as client:
                found = self._calendar(client).get_objects_by_sync_token(sync_token=cursor or None, load_objects=False)
                for member in found:
                    uid = unquote(str(member.url).rstrip("/").rsplit("/", 1)[-1]).removesuffix(".ics")
                    if uid not in known:
                        continue  # not one of our meetings: never downloaded
                    if member.url.canonical() in found.deleted_urls:
                        changes.append(EventChange(uid=uid, deleted=True))
                        continue
                    try:
                        member.load()
                    except caldav_error.NotFoundError:
                        changes.append(EventChange(uid=uid, deleted=True))
                        continue
                    changes.append(self._change(uid, member.icalendar_component))
                token = str(found.sync_token or "")
        except TRANSIENT as exc:
            raise CalendarUnavailable(f"CalDAV changes of {self.url}: {exc}") from exc
        return ChangeSet(changes=changes, cursor=token)

    def _change(self, uid: str, component) -> EventChange:
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            return EventChange(uid=uid, deleted=True)
        span = self._span(component)
        if span is None:
            return EventChange(uid=uid)
        return EventChange(uid=uid, start=span[0], end=span[1])

    def list_calendars(self) -> list[CalendarInfo]:
        return []  # a CalDAV connection names its one calendar by URL
