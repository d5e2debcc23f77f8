"""Fixtures of the scheduling tests: reps connected to the real Radicale CalDAV server (``radicale``, tests/conftest.py)."""

import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

import caldav
import pytest

from scheduling.models import CalendarConnection, SalesRep
from tests.servers import CeleryWorker, RadicaleServer


@dataclass
class RepCalendar:
    rep: SalesRep
    connection: CalendarConnection
    calendar: caldav.Calendar  # the same calendar, for the test to read and write directly

    def events(self) -> list:
        return self.calendar.events()


def connect_rep_calendar(server: RadicaleServer, rep: SalesRep) -> RepCalendar:
    username = f"rep{rep.pk}"
    client = server.client(username)
    calendar = client.principal().make_calendar(name=f"{rep.name} work", cal_id="work")
    connection = CalendarConnection.objects.create(rep=rep, url=str(calendar.url), username=username, password="secret")
    return RepCalendar(rep=rep, connection=connection, calendar=calendar)


@pytest.fixture
def rep_calendar(db, radicale) -> RepCalendar:
    """A rep (Mon-Fri 09:00-17:00 Europe/Berlin) whose CalDAV calendar lives in the test Radicale."""
    from tests.scheduling.factories import SalesRepFactory

    rep = SalesRepFactory(name="Rita Rep", email="rita@vendor.example", video_link="https://meet.example/rita")
    return connect_rep_calendar(radicale, rep)


@pytest.fixture
def chat_lead(db):
    """A qualified lead with a short chat transcript (what the rep's email and event describe)."""
    from tests.factories import ConversationFactory, MessageFactory
    from tests.scheduling.factories import LeadFactory

    conversation = ConversationFactory(timezone="Europe/London")
    lead = LeadFactory(
        conversation=conversation,
        name="Ada Lovelace",
        email="ada@analytical.example",
        company_name="Analytical Engines Ltd",
        need_text="We lose half our inbound leads because nobody answers the contact form for days.",
        score=72,
        outcome="qualified",
        reasons=[
            {"rule": 1, "text": "Company size ≥ 50", "points": 25, "knockout": False},
            {"rule": 2, "text": "Buying within 3 months", "points": 30, "knockout": False},
            {"rule": 3, "text": "Free-mail address", "points": -5, "knockout": False},
        ],
    )
    for sender, text in [
        ("bot", "Hi! What brings you to us today?"),
        ("visitor", "Our contact form leads go cold before anyone calls back."),
        ("bot", "How many people work at your company?"),
        ("visitor", "About 120 <script>alert(1)</script>"),
    ]:
        MessageFactory(conversation=conversation, sender=sender, text=text)
    MessageFactory(conversation=conversation, sender="system", text="SYSTEM NOTE NOT FOR REPS")
    return lead


# Monday 7 Dec 2026: 06:00 UTC, and 10:00 Berlin time (the meeting the email tests book).
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=dt_timezone.utc)
MONDAY_10_BERLIN = datetime(2026, 12, 7, 9, 0, tzinfo=dt_timezone.utc)


def book_chat_lead(*, rep, lead, visitor_timezone: str, capture_on_commit):
    """Book the chat lead with ``rep`` on Monday 10:00 Berlin, running the on-commit side effects."""
    from scheduling.services import meeting_book

    with capture_on_commit(execute=True):
        booking = meeting_book(
            rep_id=rep.pk,
            start=MONDAY_10_BERLIN,
            conversation=lead.conversation,
            lead=lead,
            visitor_email="ada@analytical.example",
            visitor_name="Ada Lovelace",
            visitor_timezone=visitor_timezone,
            now=NOW,
        )
    return booking.meeting


def calendar_parts(message) -> list:
    """The text/calendar MIME parts of a sent email (as a mail client sees them)."""
    return [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]


def html_body(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def shows_score(text: str, score: int) -> bool:
    """Whether a visitor-facing text mentions the lead's score: a number on its own in the prose
    (signed links are left out: their tokens may contain any digits)."""
    prose = re.sub(r"https?://\S+", "", text)
    return re.search(rf"\b{score}\b", prose) is not None or "score" in prose.lower()


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real worker; tasks queued by this test go through Redis to it (not run eagerly)."""
    from django.db import connection

    from config.celery import app

    db = connection.settings_dict
    database_url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    app.control.purge()
    worker = CeleryWorker(tmp_path, database_url)
    worker.start()
    # The Django-namespaced key is the one Celery reads (config_from_object(namespace="CELERY")).
    eager = app.conf.CELERY_TASK_ALWAYS_EAGER
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    yield worker
    app.conf.CELERY_TASK_ALWAYS_EAGER = eager
    worker.stop()
    app.control.purge()


@pytest.fixture
def fake_google(settings):
    """The fake Google (tests/fakes/google.py) with our settings pointed at it; a request it had
    to refuse as malformed fails the test."""
    from tests.fakes.google import FakeGoogle

    fake = FakeGoogle().start()
    settings.GOOGLE_OAUTH_CLIENT_ID = fake.client_id
    settings.GOOGLE_OAUTH_CLIENT_SECRET = fake.client_secret
    settings.GOOGLE_OAUTH_TOKEN_URI = fake.token_uri
    settings.GOOGLE_CALENDAR_API_ENDPOINT = fake.api_endpoint
    yield fake
    fake.stop()
    assert fake.violations == [], "requests Google would reject"


def connect_rep_google(fake, rep: SalesRep, *, expires_in: int = 3600, **fields) -> CalendarConnection:
    """Connect ``rep`` to a new account grant on the fake Google (as the OAuth callback would)."""
    from scheduling.calendars import connection_store_oauth_grant

    access, refresh, expiry = fake.grant(expires_in=expires_in)
    connection = CalendarConnection(rep=rep, **fields)
    return connection_store_oauth_grant(
        connection=connection,
        kind=CalendarConnection.Kind.GOOGLE,
        access_token=access,
        refresh_token=refresh,
        expires_at=expiry,
    )


@pytest.fixture
def google_rep(db, fake_google) -> SalesRep:
    """A rep (Mon-Fri 09:00-17:00 Europe/Berlin) whose calendar is a Google account on the fake."""
    from tests.scheduling.factories import SalesRepFactory

    rep = SalesRepFactory(name="Gina Google", email="gina@vendor.example", video_link="https://meet.example/gina")
    connect_rep_google(fake_google, rep)
    return rep


@pytest.fixture
def fake_microsoft(settings, tmp_path, monkeypatch):
    """The fake Microsoft identity platform and Graph (tests/fakes/microsoft.py), over TLS with a
    certificate of its own that requests (msal's and ours) is told to trust."""
    from tests.fakes.microsoft import FakeMicrosoft

    fake = FakeMicrosoft(tmp_path).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.cert_path))
    settings.MICROSOFT_OAUTH_CLIENT_ID = fake.client_id
    settings.MICROSOFT_OAUTH_CLIENT_SECRET = fake.client_secret
    settings.MICROSOFT_OAUTH_AUTHORITY = fake.authority
    settings.MICROSOFT_GRAPH_ENDPOINT = fake.graph_endpoint
    yield fake
    fake.stop()
    assert fake.violations == [], "requests Graph would reject"


def connect_rep_microsoft(fake, rep: SalesRep, *, expires_in: int = 3600, **fields) -> CalendarConnection:
    from scheduling.calendars import connection_store_oauth_grant

    access, refresh, expiry = fake.grant(expires_in=expires_in)
    return connection_store_oauth_grant(
        connection=CalendarConnection(rep=rep, account_email=fake.account_email, **fields),
        kind=CalendarConnection.Kind.MICROSOFT,
        access_token=access,
        refresh_token=refresh,
        expires_at=expiry,
    )
