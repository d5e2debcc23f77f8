"""What the visitor and the rep read in their inboxes (Django's locmem backend)."""

from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest

from scheduling import tasks
from scheduling.services import meeting_cancel, meeting_reschedule
from tests.scheduling.conftest import MONDAY_10_BERLIN, NOW, book_chat_lead, calendar_parts, html_body, shows_score
from tests.scheduling.factories import SalesRepFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc


@pytest.fixture
def rep(db):
    return SalesRepFactory(name="Rita Rep", email="rita@vendor.example", timezone="Europe/Berlin")


@pytest.fixture
def booked(rep, chat_lead, django_capture_on_commit_callbacks):
    return book_chat_lead(
        rep=rep,
        lead=chat_lead,
        visitor_timezone="America/New_York",
        capture_on_commit=django_capture_on_commit_callbacks,
    )


def sent_to(mailoutbox, address):
    return [m for m in mailoutbox if m.to == [address]]


def test_booking_emails_the_visitor_and_the_rep_once(booked, mailoutbox):
    assert len(sent_to(mailoutbox, "ada@analytical.example")) == 1
    assert len(sent_to(mailoutbox, "rita@vendor.example")) == 1
    # A duplicated task (retry, redelivered message) sends nothing more.
    tasks.meeting_changed(booked.pk, "booked")
    assert len(mailoutbox) == 2


def test_visitor_email_shows_their_own_time_and_the_links(booked, mailoutbox):
    (message,) = sent_to(mailoutbox, "ada@analytical.example")
    # 10:00 in Berlin is 04:00 in New York.
    assert "Mon 7 Dec 2026, 04:00–04:30 (America/New_York)" in message.subject
    assert "Mon 7 Dec 2026, 04:00–04:30 (America/New_York)" in message.body
    assert "Mon 7 Dec 2026, 04:00–04:30 (America/New_York)" in html_body(message)
    assert "http://127.0.0.1:8000/meetings/" in message.body
    assert message.reply_to == ["rita@vendor.example"]
    assert not shows_score(message.body, 72) and "transcript" not in message.body.lower()


def test_rep_email_has_who_when_need_score_reasons_and_transcript(booked, mailoutbox):
    (message,) = sent_to(mailoutbox, "rita@vendor.example")
    html = html_body(message)
    assert (
        message.subject
        == "New meeting: Ada Lovelace (Analytical Engines Ltd), Mon 7 Dec 2026, 10:00–10:30 (Europe/Berlin)"
    )
    assert message.reply_to == ["ada@analytical.example"]
    for body in (message.body, html):
        assert "Ada Lovelace" in body
        assert "ada@analytical.example" in body
        assert "Analytical Engines Ltd" in body
        assert "Mon 7 Dec 2026, 10:00–10:30 (Europe/Berlin)" in body
        assert "We lose half our inbound leads because nobody answers the contact form for days." in body
        assert "72" in body
        assert "Company size ≥ 50" in body and "+25" in body
        assert "Free-mail address" in body and "-5" in body
        assert "Our contact form leads go cold before anyone calls back." in body
        assert "How many people work at your company?" in body
        assert f"http://127.0.0.1:8000/admin/chatbot/conversation/{booked.conversation_id}/change/" in body
        assert "SYSTEM NOTE" not in body
    assert "Ada Lovelace: Our contact form leads go cold before anyone calls back." in message.body
    assert "Bot: Hi! What brings you to us today?" in message.body
    # Visitor text is shown as text in the HTML, never as markup.
    assert "About 120 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert calendar_parts(message) == []
    assert f"http://127.0.0.1:8000/calendar/{booked.rep.feed_token}.ics" in message.body


def test_reschedule_and_cancel_tell_both_sides(booked, mailoutbox, django_capture_on_commit_callbacks):
    later = MONDAY_10_BERLIN + timedelta(hours=5)  # 15:00 Berlin, 09:00 New York
    with django_capture_on_commit_callbacks(execute=True):
        booked = meeting_reschedule(meeting=booked, start=later, now=NOW)
    visitor, rep = sent_to(mailoutbox, "ada@analytical.example")[-1], sent_to(mailoutbox, "rita@vendor.example")[-1]
    assert visitor.subject.startswith("Moved:") and "09:00–09:30 (America/New_York)" in visitor.subject
    assert "moved" in visitor.body
    assert rep.subject.startswith("Moved:") and "15:00–15:30 (Europe/Berlin)" in rep.subject
    assert "MOVED" in rep.body

    with django_capture_on_commit_callbacks(execute=True):
        meeting_cancel(meeting=booked, reason="Budget frozen")
    visitor, rep = sent_to(mailoutbox, "ada@analytical.example")[-1], sent_to(mailoutbox, "rita@vendor.example")[-1]
    assert visitor.subject.startswith("Cancelled:") and "09:00–09:30 (America/New_York)" in visitor.subject
    assert "is cancelled" in visitor.body
    assert calendar_parts(visitor)[0].get_param("method") == "CANCEL"
    assert rep.subject.startswith("Cancelled:") and "CANCELLED" in rep.body
    assert len(mailoutbox) == 6


def test_held_or_no_show_sends_nothing(booked, mailoutbox):
    tasks.meeting_changed(booked.pk, "status")
    assert len(mailoutbox) == 2
