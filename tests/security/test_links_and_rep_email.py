"""Reschedule/cancel links reach only the visitor (their email and chat bubble), never what
reps and calendars receive; visitor data with line breaks never stops the rep's email."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from chatbot.models import Message
from scheduling.actions import Reply, say_manage
from scheduling.models import Meeting
from scheduling.selectors import booked_meeting
from scheduling.services import meeting_book, meeting_reschedule
from tests.scheduling.bot_domain import visible_text
from tests.scheduling.conftest import (  # noqa: F401  (fixtures)
    MONDAY_10_BERLIN,
    NOW,
    chat_lead,
    html_body,
    rep_calendar,
)

pytestmark = pytest.mark.django_db
MANAGE_LINK = re.compile(r"/meetings/[^\s/]+")


def sent_to(mailoutbox, address):
    return [m for m in mailoutbox if m.to == [address]]


def book(lead, rep, capture, *, visitor_name="Ada Lovelace") -> Meeting:
    with capture(execute=True):
        booking = meeting_book(
            rep_id=rep.pk,
            start=MONDAY_10_BERLIN,
            conversation=lead.conversation,
            lead=lead,
            visitor_email="ada@analytical.example",
            visitor_name=visitor_name,
            visitor_timezone="Europe/London",
            now=NOW,
        )
    return booking.meeting


def test_the_link_the_bot_shows_the_visitor_reaches_no_rep_and_no_calendar(
    rep_calendar,  # noqa: F811
    chat_lead,  # noqa: F811
    mailoutbox,
    client,
    django_capture_on_commit_callbacks,
):
    rep = rep_calendar.rep
    meeting = book(chat_lead, rep, django_capture_on_commit_callbacks)
    # The visitor asks to move it: the bot answers with the manage link in the chat.
    reply = Reply()
    say_manage(reply, booked_meeting(chat_lead.conversation), zone="Europe/London")
    [pointer] = reply.messages
    bubble = Message.objects.create(conversation=chat_lead.conversation, sender="bot", text=visible_text(pointer))
    assert MANAGE_LINK.search(bubble.text)  # the chat bubble keeps it: it is the visitor's own
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meeting_reschedule(meeting=meeting, start=MONDAY_10_BERLIN + timedelta(hours=2), now=NOW)

    (visitor_email,) = sent_to(mailoutbox, "ada@analytical.example")
    assert MANAGE_LINK.search(visitor_email.body)  # and so does the visitor's own email

    (rep_email,) = sent_to(mailoutbox, rep.email)
    for text in (rep_email.body, html_body(rep_email)):
        assert "Our contact form leads go cold" in text  # the transcript is there...
        assert "Your meeting is" in text
        assert not MANAGE_LINK.search(text), text  # ...without the link

    event = rep_calendar.calendar.get_event_by_uid(meeting.calendar_uid).component
    assert "Our contact form leads go cold" in str(event["description"])
    assert not MANAGE_LINK.search(str(event["description"]))

    feed = client.get(reverse("scheduling:rep_feed", args=[rep.feed_token])).content.decode()
    assert "Our contact form leads go cold" in feed.replace("\r\n ", "")
    assert not MANAGE_LINK.search(feed.replace("\r\n ", ""))

    admin_user = get_user_model().objects.create_superuser("boss", "boss@vendor.example", "pw")
    client.force_login(admin_user)
    page = client.get(reverse("admin:chatbot_conversation_change", args=[chat_lead.conversation_id]))
    assert "Your meeting is" in page.content.decode()
    assert not MANAGE_LINK.search(page.content.decode())


def test_line_breaks_in_the_visitors_name_and_company_do_not_stop_the_reps_email(
    chat_lead,  # noqa: F811
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    from tests.scheduling.factories import SalesRepFactory

    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="Europe/Berlin")
    chat_lead.name = "Ada\nLovelace"
    chat_lead.company_name = "Analytical\r\nEngines\nBcc: everyone@example.com"
    chat_lead.save()
    book(chat_lead, rep, django_capture_on_commit_callbacks, visitor_name="Ada\r\nLovelace")

    (rep_email,) = sent_to(mailoutbox, "rita@vendor.example")
    assert rep_email.subject.startswith("New meeting: Ada Lovelace (Analytical Engines Bcc: everyone@example.com)")
    assert "\n" not in rep_email.subject and "\r" not in rep_email.subject
    message = rep_email.message()
    assert message["Bcc"] is None and "everyone@example.com" not in str(message.get_all("To"))
    assert len(sent_to(mailoutbox, "ada@analytical.example")) == 1
