"""The whole product in one chat: a visitor qualifies, picks a time, and the meeting lands on the rep's
real CalDAV calendar, with an invitation to the visitor and a briefing to the rep.

Everything is real: the consumer, the Rasa server on the trained model, the action endpoint in the web
process (which books and, with eager Celery, writes the calendar and sends the emails), Radicale, and
PostgreSQL. Emails are read from the files Django's file backend writes in the web server's log folder.
"""

import importlib

import pytest
from channels.db import database_sync_to_async
from django.apps import apps as django_apps
from icalendar import Calendar

from qualification.models import Lead
from scheduling.models import Meeting
from tests.e2e.chat import Chat
from tests.factories import SiteFactory, acreate
from tests.scheduling.conftest import connect_rep_calendar
from tests.scheduling.factories import SalesRepFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
VISITOR_EMAIL = "dana.kim@globex-fintech.com"


@database_sync_to_async
def rep_with_calendar(radicale):
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
    rep = SalesRepFactory(name="Rita Rep", email="rita@northwind.example", min_notice_minutes=60)
    return connect_rep_calendar(radicale, rep)


@database_sync_to_async
def booked(conversation_id):
    meetings = list(Meeting.objects.select_related("lead", "rep").filter(conversation__public_id=conversation_id))
    lead = Lead.objects.get(conversation__public_id=conversation_id)
    return meetings, lead


def slot_buttons(frames: list[dict]) -> list[dict]:
    return [b for f in frames for b in f.get("buttons") or [] if b["payload"].startswith("/choose_slot")]


def calendar_of(message) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_payload(decode=True))


async def test_a_visitor_qualifies_books_and_the_meeting_reaches_calendar_and_inboxes(rasa_settings, radicale):
    rep_calendar = await rep_with_calendar(radicale)
    earlier = len(rasa_settings.sent_emails())  # the live web server is shared with other tests
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="America/New_York")
    try:
        await chat.say_text("hi")
        await chat.say_text("I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
        # the work email names the company; 95 points qualify whatever the budget: times come next
        offer = await chat.say(f"Dana Kim, {VISITOR_EMAIL}")
        buttons = slot_buttons(offer)
        assert 3 <= len(buttons) <= 5, offer
        assert all(b["title"].endswith("New York time") for b in buttons)

        chosen = buttons[1]
        confirmation = await chat.say_text(chosen["payload"])
        assert f"You're booked: {chosen['title']} with Rita Rep" in confirmation
        assert VISITOR_EMAIL in confirmation
        # A second press of the same button (double click, retried frame) re-confirms, nothing more.
        assert chosen["title"] in await chat.say_text(chosen["payload"])
    finally:
        await chat.close()

    meetings, lead = await booked(chat.conversation_id)
    assert lead.outcome == Lead.Outcome.QUALIFIED and lead.company_name == "globex-fintech.com"
    assert len(meetings) == 1
    meeting = meetings[0]
    assert (meeting.rep_id, meeting.lead_id, meeting.visitor_email) == (rep_calendar.rep.pk, lead.pk, VISITOR_EMAIL)
    assert meeting.visitor_timezone == "America/New_York"
    assert meeting.sync_state == Meeting.SyncState.SYNCED, meeting.sync_error

    # The rep's real calendar holds the event, under the meeting's stable UID and at its time.
    events = [e.icalendar_component for e in await database_sync_to_async(rep_calendar.events)()]
    assert [str(e["uid"]) for e in events] == [meeting.calendar_uid]
    assert events[0]["dtstart"].dt == meeting.start

    emails = rasa_settings.sent_emails()[earlier:]
    to_visitor = [m for m in emails if VISITOR_EMAIL in m["To"]]
    to_rep = [m for m in emails if "rita@northwind.example" in m["To"]]
    assert len(to_visitor) == 1 and len(to_rep) == 1
    invitation = calendar_of(to_visitor[0])
    assert str(invitation["method"]) == "REQUEST"
    [event] = invitation.walk("VEVENT")
    assert str(event["uid"]) == meeting.calendar_uid and event["dtstart"].dt == meeting.start
    briefing = to_rep[0].get_body(preferencelist=("plain",)).get_content()
    for expected in ("Dana Kim", "globex-fintech.com", lead.need_text, f"{lead.score}", "Berlin"):
        assert expected in briefing, expected
    # The transcript shows the pressed button as the visitor saw it.
    assert chosen["title"] in briefing


async def test_a_visitor_books_a_google_connected_rep_whose_busy_days_are_skipped(
    rasa_settings, live_fake_google, settings
):
    """The same chat with a rep on Google Calendar (the fake Google the web process is pointed at):
    the rep's busy days on Google are not offered, and the meeting lands on Google, once."""
    from datetime import datetime, timedelta

    from django.utils import timezone

    from scheduling.calendar_sync import rep_refresh_busy_horizon
    from tests.scheduling.conftest import connect_rep_google

    fake = live_fake_google
    for name, value in {
        "GOOGLE_OAUTH_CLIENT_ID": fake.client_id,
        "GOOGLE_OAUTH_CLIENT_SECRET": fake.client_secret,
        "GOOGLE_OAUTH_TOKEN_URI": fake.token_uri,
        "GOOGLE_CALENDAR_API_ENDPOINT": fake.api_endpoint,
    }.items():
        setattr(settings, name, value)
    busy_until = (timezone.now() + timedelta(days=4)).replace(microsecond=0)

    @database_sync_to_async
    def google_rep():
        importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
        rep = SalesRepFactory(name="Gina Google", email="gina@northwind.example", min_notice_minutes=60)
        connect_rep_google(fake, rep)
        # An offsite on the rep's Google calendar: the next four days are taken.
        fake.add_event(
            "primary",
            {
                "start": {"dateTime": timezone.now().isoformat()},
                "end": {"dateTime": busy_until.isoformat()},
                "summary": "Offsite",
            },
        )
        rep_refresh_busy_horizon(rep=rep)
        return rep

    meeting, _conversation = await books_first_time_offered(await google_rep(), busy_until)
    ours = [e for e in fake.live_events() if e.get("summary", "").startswith("Meeting:")]
    assert len(ours) == 1
    assert datetime.fromisoformat(ours[0]["start"]["dateTime"].replace("Z", "+00:00")) == meeting.start
    assert fake.violations == []


async def test_a_visitor_books_a_microsoft_connected_rep_and_a_deletion_in_outlook_cancels_it(
    rasa_settings, live_fake_microsoft, settings, monkeypatch, mailoutbox
):
    """The same chat with a rep on Microsoft 365 (the fake Graph the web process is pointed at): the
    rep's busy days in Outlook are not offered, the meeting lands in Outlook once, tagged with its
    UID; then the rep deletes it in Outlook, and reading the calendar's changes cancels the meeting
    and emails the visitor, as a cancel in admin does."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.calendar_sync import calendar_follow_changes, rep_refresh_busy_horizon
    from scheduling.calendars.microsoft_backend import UID_PROPERTY
    from tests.scheduling.conftest import connect_rep_microsoft

    fake = live_fake_microsoft
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.cert_path))
    for name, value in {
        "MICROSOFT_OAUTH_CLIENT_ID": fake.client_id,
        "MICROSOFT_OAUTH_CLIENT_SECRET": fake.client_secret,
        "MICROSOFT_OAUTH_AUTHORITY": fake.authority,
        "MICROSOFT_GRAPH_ENDPOINT": fake.graph_endpoint,
    }.items():
        setattr(settings, name, value)
    busy_until = (timezone.now() + timedelta(days=4)).replace(microsecond=0)

    @database_sync_to_async
    def microsoft_rep():
        importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
        rep = SalesRepFactory(name="Mia Microsoft", email="mia@northwind.example", min_notice_minutes=60)
        connect_rep_microsoft(fake, rep)
        fake.add_busy(timezone.now(), busy_until, "oof")  # away in Outlook for the next four days
        rep_refresh_busy_horizon(rep=rep)
        calendar_follow_changes(rep=rep)  # the first read of the calendar's changes
        return rep

    meeting, conversation_id = await books_first_time_offered(await microsoft_rep(), busy_until)
    tag = {"id": UID_PROPERTY, "value": meeting.calendar_uid}
    ours = [e for e in fake.live_events() if tag in e.get("singleValueExtendedProperties", [])]
    assert [e["id"] for e in ours] == [meeting.calendar_event_id]
    assert ours[0]["start"] == {"dateTime": f"{meeting.start:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"}

    fake.rep_deletes(meeting.calendar_event_id)
    run = await database_sync_to_async(calendar_follow_changes)(rep=meeting.rep)

    assert run.cancelled == [meeting.pk]
    meetings, _lead = await booked(conversation_id)
    assert meetings[0].status == Meeting.Status.CANCELLED
    cancelled = [m for m in mailoutbox if m.to == [VISITOR_EMAIL]]
    assert len(cancelled) == 1 and cancelled[0].subject.startswith("Cancelled: your meeting with Mia Microsoft")
    assert fake.violations == []


async def books_first_time_offered(rep, busy_until):
    """The chat both calendar-provider tests share: a qualified buyer says who they are and takes the
    first time offered. Returns the one meeting booked (with ``rep``, after the rep's busy days, synced
    to the rep's calendar) and the conversation's id."""
    site = await acreate(SiteFactory)
    chat = await Chat.open(site, timezone="Europe/Berlin")
    try:
        await chat.say_text("hi")
        await chat.say_text("I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
        offer = await chat.say(f"Dana Kim, {VISITOR_EMAIL}")
        buttons = slot_buttons(offer)
        assert 3 <= len(buttons) <= 5, offer
        confirmation = await chat.say_text(buttons[0]["payload"])
        assert f"You're booked: {buttons[0]['title']} with {rep.name}" in confirmation
    finally:
        await chat.close()

    meetings, _lead = await booked(chat.conversation_id)
    assert len(meetings) == 1
    meeting = meetings[0]
    assert meeting.rep_id == rep.pk and meeting.start >= busy_until
    assert meeting.sync_state == Meeting.SyncState.SYNCED, meeting.sync_error
    return meeting, chat.conversation_id
