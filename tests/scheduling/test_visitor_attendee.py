"""The visitor is named on the rep's calendar event only when their site says so (Site.calendar_invites_visitor,
off by default): Google and Microsoft 365 as ``attendees``, CalDAV as ATTENDEE. Google is told not to mail
them (our invitation does); the visitor's own invitation by email is the same either way.
"""

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest

from scheduling.calendars.google_backend import google_event_id
from scheduling.services import meeting_book
from tests.factories import ConversationFactory, SiteFactory
from tests.scheduling.conftest import connect_rep_google, connect_rep_microsoft
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SITE_SAYS = pytest.mark.parametrize("invites", [False, True], ids=["site-default-off", "site-says-so"])


def book(rep, *, invites: bool, capture):
    conversation = ConversationFactory(site=SiteFactory(calendar_invites_visitor=invites))
    with capture(execute=True):
        return meeting_book(
            rep_id=rep.pk,
            start=MONDAY_10_BERLIN,
            conversation=conversation,
            lead=None,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            now=NOW,
        ).meeting


@SITE_SAYS
def test_google(fake_google, mailoutbox, django_capture_on_commit_callbacks, invites):
    rep = SalesRepFactory()
    connect_rep_google(fake_google, rep)
    meeting = book(rep, invites=invites, capture=django_capture_on_commit_callbacks)

    event = fake_google.events[("primary", google_event_id(meeting.calendar_uid))]
    expected = [{"email": "ada@analytical.example", "displayName": "Ada Lovelace", "responseStatus": "needsAction"}]
    assert event.get("attendees") == (expected if invites else None)
    assert all(q["sendUpdates"] == "none" for m, q, _ in fake_google.calls if m == "calendar.events.insert")
    assert [m.to for m in mailoutbox if m.to == ["ada@analytical.example"]] == [["ada@analytical.example"]]


@SITE_SAYS
def test_microsoft(fake_microsoft, django_capture_on_commit_callbacks, invites):
    rep = SalesRepFactory()
    connect_rep_microsoft(fake_microsoft, rep)
    book(rep, invites=invites, capture=django_capture_on_commit_callbacks)

    [event] = fake_microsoft.live_events()
    expected = [{"emailAddress": {"address": "ada@analytical.example", "name": "Ada Lovelace"}, "type": "required"}]
    assert event.get("attendees") == (expected if invites else None)


@SITE_SAYS
def test_caldav(rep_calendar, django_capture_on_commit_callbacks, invites):
    book(rep_calendar.rep, invites=invites, capture=django_capture_on_commit_callbacks)

    [event] = rep_calendar.events()
    component = event.component
    if invites:
        assert str(component["attendee"]) == "mailto:ada@analytical.example"
        # The server must not send its own invitation: the visitor gets ours by email.
        assert component["attendee"].params["SCHEDULE-AGENT"] == "CLIENT"
    else:
        assert "attendee" not in component
