"""A video meeting made by the rep's own calendar: Google Meet (conferenceData with
conferenceDataVersion=1) and Teams (isOnlineMeeting, teamsForBusiness), when the connection asks for
them. The join link is kept on the meeting and shown wherever the meeting is: the visitor's and the
rep's emails, the invitation, the meeting page, and the chat's confirmation variables.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from scheduling.actions import meeting_variables
from scheduling.admin import CalendarConnectionForm
from scheduling.calendar_sync import meetings_sync_unsynced
from scheduling.calendars.google_backend import google_event_id
from scheduling.models import CalendarConnection, Meeting
from scheduling.notifications import manage_url
from scheduling.services import meeting_book, meeting_reschedule
from tests.scheduling.conftest import calendar_parts, connect_rep_google, connect_rep_microsoft
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
INSERT, PATCH = "calendar.events.insert", "calendar.events.patch"


def book(rep, lead, capture) -> Meeting:
    with capture(execute=True):
        meeting = meeting_book(
            rep_id=rep.pk,
            start=MONDAY_10_BERLIN,
            conversation=lead.conversation,
            lead=lead,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            visitor_timezone="Europe/London",
            now=NOW,
        ).meeting
    meeting.refresh_from_db()
    return meeting


def mail_to(mailoutbox, address: str):
    [message] = [m for m in mailoutbox if m.to == [address]]
    return message


def html_of(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


@pytest.fixture
def meet_rep(db, fake_google):
    rep = SalesRepFactory(name="Gina Google", email="gina@vendor.example", video_link="https://rooms.example/gina")
    connect_rep_google(fake_google, rep, video_meetings=True)
    return rep


def test_a_google_meet_link_is_made_kept_and_shown_to_the_visitor_and_the_rep(
    fake_google, meet_rep, chat_lead, mailoutbox, client, django_capture_on_commit_callbacks
):
    meeting = book(meet_rep, chat_lead, django_capture_on_commit_callbacks)

    [(_, query, body)] = [call for call in fake_google.calls if call[0] == INSERT]
    assert query["conferenceDataVersion"] == "1"
    assert body["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert "location" not in body  # the rep's own room is not offered beside the Meet
    event = fake_google.events[("primary", google_event_id(meeting.calendar_uid))]
    link = event["hangoutLink"]
    assert link.startswith("https://meet.google.com/") and meeting.video_join_url == link

    # The visitor's email was sent after the write, so it carries the link (text, HTML, invitation).
    visitor = mail_to(mailoutbox, "ada@analytical.example")
    assert f"Join: {link}" in visitor.body and f'href="{link}"' in html_of(visitor)
    [invitation] = [p for p in calendar_parts(visitor) if p.get_content_type() == "text/calendar"][:1]
    [vevent] = Calendar.from_ical(invitation.get_payload(decode=True)).walk("VEVENT")
    assert str(vevent["location"]) == link and "rooms.example" not in str(vevent["description"])
    rep_mail = mail_to(mailoutbox, "gina@vendor.example")
    assert f"Video: {link}" in rep_mail.body or link in html_of(rep_mail)
    # The meeting page and the chat's confirmation name it too.
    page = client.get(urlsplit(manage_url(meeting)).path).content.decode()
    assert f'href="{link}"' in page
    assert meeting_variables(meeting, zone="Europe/London")["video_link"] == link


def test_a_moved_meeting_keeps_its_meet(
    fake_google, meet_rep, chat_lead, mailoutbox, django_capture_on_commit_callbacks
):
    meeting = book(meet_rep, chat_lead, django_capture_on_commit_callbacks)
    link = meeting.video_join_url
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        meeting_reschedule(meeting=meeting, start=MONDAY_10_BERLIN + timedelta(hours=2), now=NOW)

    meeting.refresh_from_db()
    assert meeting.video_join_url == link
    event = fake_google.events[("primary", google_event_id(meeting.calendar_uid))]
    assert event["hangoutLink"] == link and event["start"]["dateTime"] == "2026-12-07T11:00:00Z"
    assert f"Join: {link}" in mail_to(mailoutbox, "ada@analytical.example").body


def test_without_the_flag_no_conference_is_asked_for_and_the_reps_room_is_the_link(
    fake_google, chat_lead, mailoutbox, django_capture_on_commit_callbacks
):
    rep = SalesRepFactory(email="gina@vendor.example", video_link="https://rooms.example/gina")
    connect_rep_google(fake_google, rep)
    meeting = book(rep, chat_lead, django_capture_on_commit_callbacks)

    [(_, query, body)] = [call for call in fake_google.calls if call[0] == INSERT]
    assert "conferenceDataVersion" not in query and "conferenceData" not in body
    assert body["location"] == "https://rooms.example/gina" and meeting.video_join_url == ""
    assert "Join: https://rooms.example/gina" in mail_to(mailoutbox, "ada@analytical.example").body


def test_a_calendar_that_is_down_does_not_hold_the_visitors_email(
    fake_google, meet_rep, chat_lead, mailoutbox, django_capture_on_commit_callbacks
):
    fake_google.fail_next(INSERT, 503)
    meeting = book(meet_rep, chat_lead, django_capture_on_commit_callbacks)

    assert meeting.sync_state == Meeting.SyncState.FAILED and meeting.video_join_url == ""
    visitor = mail_to(mailoutbox, "ada@analytical.example")
    assert "Join: https://rooms.example/gina" in visitor.body  # the rep's room until the Meet exists

    meetings_sync_unsynced(now=NOW)
    meeting.refresh_from_db()
    assert meeting.video_join_url.startswith("https://meet.google.com/") and len(mailoutbox) == 2


def test_a_teams_meeting_is_made_and_its_join_link_kept(
    fake_microsoft, chat_lead, mailoutbox, django_capture_on_commit_callbacks
):
    rep = SalesRepFactory(email="mia@vendor.example")
    connect_rep_microsoft(fake_microsoft, rep, video_meetings=True)

    meeting = book(rep, chat_lead, django_capture_on_commit_callbacks)

    [event] = fake_microsoft.live_events()
    assert event["isOnlineMeeting"] is True and event["onlineMeetingProvider"] == "teamsForBusiness"
    link = event["onlineMeeting"]["joinUrl"]
    assert meeting.video_join_url == link and meeting.calendar_event_id == event["id"]
    assert f"Join: {link}" in mail_to(mailoutbox, "ada@analytical.example").body
    assert link in mail_to(mailoutbox, "mia@vendor.example").body


def test_admin_refuses_video_meetings_on_a_calendar_that_offers_none(fake_google, meet_rep):
    connection = CalendarConnection.objects.get(rep=meet_rep)
    connection.account_calendars = [
        {"id": "gina@workspace.example", "name": "Gina", "primary": True, "can_write": True, "video": True},
        {"id": "legacy", "name": "Legacy", "primary": False, "can_write": True, "video": False},
    ]
    connection.save()
    data = {"kind": "google", "busy_calendars": [], "is_active": "on", "video_meetings": "on"}

    refused = CalendarConnectionForm(data={**data, "target_calendar": "legacy"}, instance=connection)
    assert not refused.is_valid() and "offers no video meetings" in str(refused.errors["video_meetings"])
    assert CalendarConnectionForm(data={**data, "target_calendar": ""}, instance=connection).is_valid()
