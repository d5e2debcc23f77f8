"""The visitor's invitation: an .ics a calendar app accepts (parsed back with ``icalendar``)."""

from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from icalendar import Calendar

from scheduling.services import meeting_cancel, meeting_reschedule
from tests.scheduling.conftest import MONDAY_10_BERLIN, NOW, book_chat_lead, calendar_parts, shows_score
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc


def visitor_invitation(mailoutbox, index=-1):
    """The .ics attachment of the visitor's latest email, checked against the inline invitation."""
    messages = [m for m in mailoutbox if m.to == ["ada@analytical.example"]]
    inline, attachment = calendar_parts(messages[index])
    # Inline (inside multipart/alternative, for Outlook/Gmail buttons) and attached: the same invitation.
    assert inline.get_filename() is None and attachment.get_filename() in {"invite.ics", "cancel.ics"}
    assert inline.get_param("method") == attachment.get_param("method")
    assert inline.get_payload(decode=True) == attachment.get_payload(decode=True)
    return attachment, Calendar.from_ical(attachment.get_payload(decode=True))


@pytest.fixture
def booked(chat_lead, django_capture_on_commit_callbacks):
    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", video_link="https://meet.example/rita")
    return book_chat_lead(
        rep=rep, lead=chat_lead, visitor_timezone="Europe/London", capture_on_commit=django_capture_on_commit_callbacks
    )


def test_invitation_is_a_request_from_the_rep_to_the_visitor(booked, mailoutbox):
    part, cal = visitor_invitation(mailoutbox)
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    assert str(cal["method"]) == "REQUEST"
    events = cal.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["uid"]) == booked.calendar_uid
    assert int(event["sequence"]) == 0
    assert event["dtstart"].dt == MONDAY_10_BERLIN
    assert event["dtend"].dt == MONDAY_10_BERLIN + timedelta(minutes=30)
    assert event["dtstart"].dt.utcoffset() == timedelta(0)
    assert str(event["organizer"]) == "mailto:rita@vendor.example"
    assert event["organizer"].params["CN"] == "Rita Rep"
    assert str(event["attendee"]) == "mailto:ada@analytical.example"
    assert event["attendee"].params["RSVP"] == "TRUE"
    assert "SCHEDULE-AGENT" not in event["attendee"].params
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["location"]) == "https://meet.example/rita"
    # The visitor never sees the internal qualification (score, reasons, transcript).
    description = str(event["description"])
    assert "/meetings/" in description
    assert not shows_score(description, 72) and "Buying within" not in description


def test_reschedule_sends_the_same_uid_with_a_higher_sequence(booked, mailoutbox, django_capture_on_commit_callbacks):
    later = MONDAY_10_BERLIN + timedelta(days=1, hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        meeting_reschedule(meeting=booked, start=later, now=NOW)
    part, cal = visitor_invitation(mailoutbox)
    event = cal.walk("VEVENT")[0]
    assert part.get_param("method") == "REQUEST"
    assert str(event["uid"]) == booked.calendar_uid
    assert int(event["sequence"]) == 1
    assert (event["dtstart"].dt, event["dtend"].dt) == (later, later + timedelta(minutes=30))


def test_cancel_sends_method_cancel_for_the_same_uid(booked, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting_cancel(meeting=booked)
    part, cal = visitor_invitation(mailoutbox)
    event = cal.walk("VEVENT")[0]
    assert part.get_param("method") == "CANCEL"
    assert str(cal["method"]) == "CANCEL"
    assert str(event["uid"]) == booked.calendar_uid
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 1  # higher than the invitation's, so calendars apply it
    assert event["dtstart"].dt == MONDAY_10_BERLIN
