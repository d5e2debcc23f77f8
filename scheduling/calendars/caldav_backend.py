"""CalDAV calendars (Radicale, Nextcloud, iCloud, Fastmail, ...) through the ``caldav`` library.

Our meetings live at ``<calendar>/<quoted UID>.ics``: writing the same UID again replaces
the event, so a retried or duplicated write never creates a second one.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import caldav
from caldav.lib import error as caldav_error

from config import zones
from scheduling.calendars.base import BusyTime, CalendarUnavailable

if TYPE_CHECKING:
    from scheduling.models import Meeting

TIMEOUT_SECONDS = 15
# Failures that mean "try again later": the server is down, slow, or answered with an error.
TRANSIENT = (caldav_error.DAVError, OSError, TimeoutError)


class CalDAVCalendar:
    def __init__(self, *, url: str, username: str = "", password: str = "", timezone: str = "UTC") -> None:
        self.url = url
        self.username = username
        self.password = password
        # All-day and floating events have no zone of their own: they are in the rep's.
        self.timezone = zones.zone_info(timezone)

    def _calendar(self, client: caldav.DAVClient) -> caldav.Calendar:
        return client.calendar(url=self.url)

    def _client(self) -> caldav.DAVClient:
        return caldav.DAVClient(
            url=self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=TIMEOUT_SECONDS,
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

    def upsert_event(self, meeting: Meeting) -> None:
        from scheduling.ics import meeting_calendar_resource

        try:
            with self._client() as client:
                # increase_seqno=False: SEQUENCE is ours (Meeting.sequence), stored verbatim.
                self._calendar(client).add_event(meeting_calendar_resource(meeting), increase_seqno=False)
        except TRANSIENT as exc:
            raise CalendarUnavailable(f"CalDAV write to {self.url}: {exc}") from exc

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
