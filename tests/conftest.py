import os
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection

from chatbot import rasa_client
from config.asgi import application
from tests.factories import TEST_ORIGIN, SiteFactory
from tests.servers import RadicaleServer, start_servers

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Fixtures that start a Rasa server on the trained model.
MODEL_FIXTURES = frozenset({"live_servers", "two_rasa_servers"})


def pytest_collection_modifyitems(items):
    """Every test that starts a Rasa server is marked e2e, whatever its file says: `make test` runs
    the others while the model trains (scripts/test-suites.sh), so a test without the mark that
    needed the model would find none."""
    for item in items:
        if MODEL_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
async def rasa_session_cleanup():
    yield
    await rasa_client.session_close()


@pytest.fixture(autouse=True)
def live_turns_settled(request):
    """After a test that used the real servers, wait (at most 20 s) until no bot turn is in flight before the
    database is emptied for the next test: a turn still writing (it locks the conversation's row) and the
    flush's TRUNCATE can deadlock. A test may end as soon as the visitor's own words are on the screen."""
    yield
    if "live_servers" not in request.fixturenames:
        return
    import time

    from django.utils import timezone

    from chatbot.models import Conversation

    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if not Conversation.objects.filter(bot_lease_until__gt=timezone.now()).exists():
                return
            time.sleep(0.1)
    except Exception:  # no database access (nothing to flush either), or none allowed here
        return


@pytest.fixture
def site(db):
    return SiteFactory()


def chat_communicator(origin: str = TEST_ORIGIN) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, "/ws/chat/", headers=headers)


@pytest.fixture(scope="session")
def live_fake_google():
    """The fake Google (tests/fakes/google.py) the live web process's Google calendars talk to."""
    from tests.fakes.google import FakeGoogle

    fake = FakeGoogle().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def live_fake_microsoft(tmp_path_factory):
    """The fake Microsoft identity platform and Graph (tests/fakes/microsoft.py) the live web process's
    Microsoft 365 calendars talk to (it trusts the fake's certificate through REQUESTS_CA_BUNDLE)."""
    from tests.fakes.microsoft import FakeMicrosoft

    fake = FakeMicrosoft(tmp_path_factory.mktemp("fake-microsoft")).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def live_servers(django_db_setup, django_db_blocker, live_fake_google, live_fake_microsoft):
    """The real web process and the real Rasa server on the trained model, on the test database."""
    with django_db_blocker.unblock():
        db = connection.settings_dict
    database_url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    google = {
        "GOOGLE_OAUTH_CLIENT_ID": live_fake_google.client_id,
        "GOOGLE_OAUTH_CLIENT_SECRET": live_fake_google.client_secret,
        "GOOGLE_OAUTH_TOKEN_URI": live_fake_google.token_uri,
        "GOOGLE_CALENDAR_API_ENDPOINT": live_fake_google.api_endpoint,
    }
    microsoft = {
        "MICROSOFT_OAUTH_CLIENT_ID": live_fake_microsoft.client_id,
        "MICROSOFT_OAUTH_CLIENT_SECRET": live_fake_microsoft.client_secret,
        "MICROSOFT_OAUTH_AUTHORITY": live_fake_microsoft.authority,
        "MICROSOFT_GRAPH_ENDPOINT": live_fake_microsoft.graph_endpoint,
        "REQUESTS_CA_BUNDLE": str(live_fake_microsoft.cert_path),
    }
    servers = start_servers(
        database_url=database_url, logs=ARTIFACTS / f"servers-{os.getpid()}", env_extra=google | microsoft
    )
    yield servers
    servers.stop()


@pytest.fixture
def rasa_settings(settings, live_servers):
    """Point this process's consumer at the live Rasa server."""
    settings.RASA_URL = live_servers.rasa_url
    return live_servers


@pytest.fixture
def radicale(tmp_path):
    """A real Radicale CalDAV server for one test (scheduling and the end-to-end booking)."""
    server = RadicaleServer(tmp_path / "radicale")
    server.start()
    yield server
    server.stop()
