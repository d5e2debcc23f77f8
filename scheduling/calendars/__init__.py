"""Calendar backends behind one interface (see base.CalendarBackend).

``calendar_for(connection)`` returns the backend of a rep's CalendarConnection.
"""

from scheduling.calendars.base import BusyTime, CalendarBackend, CalendarUnavailable
from scheduling.models import CalendarConnection


def calendar_for(connection: CalendarConnection) -> CalendarBackend:
    if connection.kind == CalendarConnection.Kind.CALDAV:
        from scheduling.calendars.caldav_backend import CalDAVCalendar

        return CalDAVCalendar(
            url=connection.url,
            username=connection.username,
            password=connection.password,
            timezone=connection.rep.timezone,
        )
    raise ValueError(f"Unknown calendar kind {connection.kind!r}")


__all__ = ["BusyTime", "CalendarBackend", "CalendarUnavailable", "calendar_for"]
