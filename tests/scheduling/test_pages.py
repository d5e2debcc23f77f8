"""The visitor's reschedule / cancel pages (reached from the email link) and the reps' ICS feeds."""

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from scheduling.models import Meeting
from scheduling.services import meeting_book
from scheduling.tokens import meeting_token
from tests.scheduling.conftest import calendar_parts
from tests.scheduling.factories import MeetingFactory, SalesRepFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def monday_in_two_weeks() -> datetime:
    """10:00 Berlin on a Monday 8-14 days ahead (the pages use the real clock)."""
    today = timezone.now().astimezone(BERLIN).date()
    monday = today + timedelta(days=7 + (7 - today.weekday()))
    return datetime(monday.year, monday.month, monday.day, 10, 0, tzinfo=BERLIN).astimezone(UTC)


def link_path(message) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/meetings/[^/\s]+/)", message.body).group(1)


@pytest.fixture
def rep(db):
    return SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="Europe/Berlin")


@pytest.fixture
def booked(rep, chat_lead, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_book(
            rep_id=rep.pk,
            start=monday_in_two_weeks(),
            conversation=chat_lead.conversation,
            lead=chat_lead,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            visitor_timezone="America/New_York",
        ).meeting
    return meeting


@pytest.fixture
def manage_path(booked, mailoutbox) -> str:
    (visitor_email,) = [m for m in mailoutbox if m.to == ["ada@analytical.example"]]
    return link_path(visitor_email)


def local_label(value: datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def test_email_link_shows_the_meeting_in_the_visitors_zone(client, booked, manage_path):
    response = client.get(manage_path)
    assert response.status_code == 200
    page = response.content.decode()
    assert local_label(booked.start, "America/New_York") in page  # 04:00 in New York
    assert "America/New_York" in page
    assert "Rita Rep" in page
    assert "Pick another time" in page and "Cancel the meeting" in page


def test_reschedule_page_lists_the_reps_free_slots_in_the_visitors_zone(client, booked, manage_path):
    response = client.get(manage_path + "reschedule/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "America/New_York" in page
    # The next day at 10:00 Berlin, labelled in New York time (04:00, or 03:00/05:00 around DST changes).
    tuesday = booked.start + timedelta(days=1)
    local = tuesday.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%A} {local.day} {local:%B %Y}" in page
    assert f'value="{tuesday.isoformat()}">{local:%H:%M}</button>' in page
    # The meeting's own time is not offered as "another time".
    assert f'value="{booked.start.isoformat()}"' not in page


def test_posting_a_slot_moves_the_meeting_and_emails_both_sides(
    client, booked, manage_path, mailoutbox, django_capture_on_commit_callbacks
):
    new_start = booked.start + timedelta(days=1, hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(manage_path + "reschedule/", {"start": new_start.isoformat()})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert (booked.start, booked.sequence, booked.status) == (new_start, 1, Meeting.Status.BOOKED)

    page = client.get(response["Location"]).content.decode()
    assert "your meeting is moved" in page
    assert local_label(new_start, "America/New_York") in page

    visitor = [m for m in mailoutbox if m.to == ["ada@analytical.example"]][-1]
    rep = [m for m in mailoutbox if m.to == ["rita@vendor.example"]][-1]
    assert visitor.subject.startswith("Moved:") and rep.subject.startswith("Moved:")
    event = Calendar.from_ical(calendar_parts(visitor)[0].get_payload(decode=True)).walk("VEVENT")[0]
    assert (str(event["uid"]), int(event["sequence"]), event["dtstart"].dt) == (booked.calendar_uid, 1, new_start)

    # The first email's link is now superseded by the new one.
    old = client.get(manage_path)
    assert old.status_code == 410
    assert "This link has expired" in old.content.decode()
    assert client.get(link_path(visitor)).status_code == 200


def test_posting_a_taken_slot_says_so(client, booked, manage_path, rep):
    taken = booked.start + timedelta(days=1)
    MeetingFactory(rep=rep, start=taken)
    response = client.post(manage_path + "reschedule/", {"start": taken.isoformat()})
    assert response.status_code == 409
    assert "someone just booked that time" in response.content.decode()
    booked.refresh_from_db()
    assert booked.sequence == 0
    bad = client.post(manage_path + "reschedule/", {"start": "next tuesday"})
    assert bad.status_code == 400 and "Please pick one of the times" in bad.content.decode()


def test_cancel_asks_first_then_cancels_and_tells_both_sides(
    client, booked, manage_path, mailoutbox, django_capture_on_commit_callbacks
):
    confirm = client.get(manage_path + "cancel/")
    assert confirm.status_code == 200
    assert "Yes, cancel the meeting" in confirm.content.decode()
    booked.refresh_from_db()
    assert booked.status == Meeting.Status.BOOKED

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(manage_path + "cancel/", {"reason": "Budget frozen"})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == Meeting.Status.CANCELLED
    assert "your meeting is cancelled" in client.get(response["Location"]).content.decode()
    visitor = [m for m in mailoutbox if m.to == ["ada@analytical.example"]][-1]
    rep = [m for m in mailoutbox if m.to == ["rita@vendor.example"]][-1]
    assert calendar_parts(visitor)[0].get_param("method") == "CANCEL"
    assert rep.subject.startswith("Cancelled:")

    # The used link can't cancel (or move) anything any more.
    again = client.post(manage_path + "cancel/")
    assert again.status_code == 410
    assert client.get(manage_path + "reschedule/").status_code == 410


def test_forms_are_csrf_protected(booked, manage_path):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(manage_path + "cancel/", {})
    assert response.status_code == 403
    booked.refresh_from_db()
    assert booked.status == Meeting.Status.BOOKED
    page = strict.get(manage_path + "cancel/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_expired_link_gets_a_clear_page(client, booked, monkeypatch):
    issued = time.time() - 61 * 24 * 3600  # the default lifetime is 60 days
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    token = meeting_token(booked)
    monkeypatch.undo()
    for path in (f"/meetings/{token}/", f"/meetings/{token}/reschedule/", f"/meetings/{token}/cancel/"):
        response = client.get(path)
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()


def test_short_lifetime_setting_expires_links(client, booked, settings, monkeypatch):
    token = meeting_token(booked)
    settings.SCHEDULING_LINK_MAX_AGE_SECONDS = 60
    later = time.time() + 120
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(f"/meetings/{token}/").status_code == 410


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "nonsense"])
def test_tampered_link_gets_a_clear_page(client, booked, mangle):
    token = mangle(meeting_token(booked))
    for method, path in (("get", f"/meetings/{token}/"), ("post", f"/meetings/{token}/cancel/")):
        response = getattr(client, method)(path)
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == Meeting.Status.BOOKED


def test_link_to_a_meeting_that_took_place_cannot_change_it(client, rep):
    past = MeetingFactory(rep=rep, start=timezone.now() - timedelta(days=2))
    token = meeting_token(past)
    assert "took place" in client.get(f"/meetings/{token}/").content.decode()
    assert client.post(f"/meetings/{token}/cancel/").status_code == 410


def test_reps_ics_feed_lists_their_upcoming_meetings(client, rep, booked, django_capture_on_commit_callbacks):
    other_rep = SalesRepFactory()
    MeetingFactory(rep=other_rep, start=booked.start)
    cancelled = MeetingFactory(rep=rep, start=booked.start + timedelta(days=2), status=Meeting.Status.CANCELLED)

    response = client.get(f"/calendar/{rep.feed_token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    events = cal.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [booked.calendar_uid]
    assert cancelled.calendar_uid not in response.content.decode()
    assert events[0]["dtstart"].dt == booked.start
    assert "Analytical Engines Ltd" in str(events[0]["summary"])
    assert "nobody answers the contact form" in str(events[0]["description"])

    assert client.get("/calendar/not-the-token.ics").status_code == 404
    assert client.get(f"/calendar/{rep.feed_token[:-1]}.ics").status_code == 404


def test_ics_feed_reads_a_constant_number_of_queries(client, rep):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import MessageFactory

    def feed_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/calendar/{rep.feed_token}.ics").status_code == 200
        return len(queries)

    def add_meeting(days):
        meeting = MeetingFactory(rep=rep, start=monday_in_two_weeks() + timedelta(days=days))
        MessageFactory(conversation=meeting.conversation, sender="visitor", text=f"need {days}")

    add_meeting(0)
    one = feed_queries()
    for days in range(1, 6):
        add_meeting(days)
    assert feed_queries() == one
    assert "need 5" in client.get(f"/calendar/{rep.feed_token}.ics").content.decode()


@pytest.mark.parametrize(
    "code", ["slot_taken", "slot_unavailable", "try_again", "meeting_not_active", "link_expired", "link_invalid"]
)
def test_every_error_a_page_can_meet_has_its_own_words(code):
    from django.template.loader import render_to_string

    text = render_to_string("scheduling/error_message.html", {"code": code}).strip()
    assert text and "Something went wrong" not in text
    assert "Something went wrong" in render_to_string("scheduling/error_message.html", {"code": "unknown"})
