"""iCalendar documents (RFC 5545 / iTIP RFC 5546) built with the ``icalendar`` library.

Every time is written in UTC (``...Z``), which every calendar app shows in its own
user's zone: no VTIMEZONE needed and no room for a zone mistake.

- ``meeting_invitation``: the visitor's email attachment, METHOD:REQUEST (or CANCEL),
  ORGANIZER the rep, ATTENDEE the visitor, SEQUENCE from ``Meeting.sequence`` and the
  same UID for the meeting's whole life, so a reschedule moves the event in place.
- ``meeting_calendar_resource``: the object stored on the rep's CalDAV calendar
  (no METHOD, as RFC 4791 requires), whose description carries the lead summary; the
  visitor is an ATTENDEE there only when their site says so (``visitor_on_rep_calendar``).
- ``rep_feed``: the rep's read-only subscription feed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from scheduling.models import Meeting, SalesRep

PRODID = "-//Leadbot//Scheduling//EN"


def _calendar(method: str | None = None, name: str = "") -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    for key, value in params.items():
        address.params[key.replace("_", "-")] = vText(value)
    return address


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc)


def meeting_title(meeting: Meeting, *, audience: str) -> str:
    if audience == "visitor":
        return f"Meeting with {meeting.rep.name}"
    who = meeting.visitor_name or meeting.visitor_email or "Website visitor"
    company = meeting.lead.company_name if meeting.lead_id and meeting.lead.company_name else ""
    return f"Meeting: {who}" + (f" ({company})" if company else "")


def visitor_on_rep_calendar(meeting: Meeting) -> bool:
    """Whether the rep's calendar event names the visitor as an attendee: only when the visitor's site
    says so (``Site.calendar_invites_visitor``, off by default). Every calendar backend asks this."""
    if not meeting.visitor_email or not meeting.conversation_id:
        return False
    return bool(meeting.conversation.site.calendar_invites_visitor)


def meeting_event(
    meeting: Meeting, *, audience: str, description: str, cancelled: bool = False, with_visitor: bool = True
) -> Event:
    """One VEVENT for the meeting. ``audience`` is "visitor" (invitation) or "rep" (calendar);
    ``with_visitor`` names the visitor as ATTENDEE."""
    event = Event()
    event.add("uid", meeting.calendar_uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(timezone.now()))
    event.add("created", _utc(meeting.created_at or timezone.now()))
    event.add("dtstart", _utc(meeting.start))
    event.add("dtend", _utc(meeting.end))
    event.add("summary", meeting_title(meeting, audience=audience))
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if meeting.video_link:
        event.add("location", meeting.video_link)
        event.add("url", meeting.video_link)
    # On the rep's own calendar, SCHEDULE-AGENT=CLIENT (RFC 6638) stops servers with implicit
    # scheduling (Nextcloud, iCloud, ...) from mailing the visitor a second invitation: we send it.
    agent = {"schedule_agent": "CLIENT"} if audience == "rep" else {}
    event.add("organizer", _address(meeting.rep.email, meeting.rep.name, **agent))
    if meeting.visitor_email and with_visitor:
        event.add(
            "attendee",
            _address(
                meeting.visitor_email,
                meeting.visitor_name,
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp="TRUE",
                cutype="INDIVIDUAL",
                **agent,
            ),
        )
    return event


def meeting_invitation(meeting: Meeting, *, method: str, description: str) -> bytes:
    """The visitor's .ics: METHOD:REQUEST for a new or moved meeting, METHOD:CANCEL to remove it."""
    if method not in {"REQUEST", "CANCEL"}:
        raise ValueError(method)
    cal = _calendar(method)
    cal.add_component(meeting_event(meeting, audience="visitor", description=description, cancelled=method == "CANCEL"))
    return cal.to_ical()


def meeting_calendar_resource(meeting: Meeting) -> str:
    """The calendar object written to the rep's CalDAV calendar (one VEVENT, no METHOD)."""
    from scheduling.notifications import rep_summary_text

    cal = _calendar()
    event = meeting_event(
        meeting, audience="rep", description=rep_summary_text(meeting), with_visitor=visitor_on_rep_calendar(meeting)
    )
    cal.add_component(event)
    return cal.to_ical().decode()


def rep_feed(rep: SalesRep, meetings: Iterable[Meeting]) -> bytes:
    """The rep's subscription feed: their upcoming (and recent) meetings with the lead summary."""
    from scheduling.notifications import rep_summary_text

    cal = _calendar(method="PUBLISH", name=f"{rep.name}: Leadbot meetings")
    cal.add("x-published-ttl", "PT15M")
    cal.add("refresh-interval", dt.timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    for meeting in meetings:
        cal.add_component(meeting_event(meeting, audience="rep", description=rep_summary_text(meeting)))
    return cal.to_ical()
