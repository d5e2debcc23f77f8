"""The reps' inbox over its real socket (config.asgi), signed in with a real session cookie."""

from datetime import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from scheduling.models import WorkingHours
from tests.scheduling.conftest import chat_lead  # noqa: F401 (a fixture the records tests use)
from tests.scheduling.factories import SalesRepFactory, UserFactory


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def inbox_socket(user=None, *, origin: str = "http://testserver") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/inbox/", headers=headers)


async def inbox_open(user) -> tuple[WebsocketCommunicator, dict]:
    """A connected inbox and its first frame (the live list)."""
    communicator = await inbox_socket(user)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "list", first
    return communicator, first


async def next_frame(communicator, wanted: str, *, timeout: float = 5, **match) -> dict:
    """The next frame of a type (and matching fields), skipping others."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == wanted and all(frame.get(k) == v for k, v in match.items()):
            return frame


async def next_message(communicator, text: str, *, timeout: float = 5) -> dict:
    """The inbox's next transcript message with this text (other messages, e.g. the bot's, skipped)."""
    while True:
        frame = await next_frame(communicator, "message", timeout=timeout)
        if frame["message"]["text"] == text:
            return frame


def make_rep(name: str, *sites):
    user = UserFactory(username=name.lower().replace(" ", "-"), first_name=name)
    rep = SalesRepFactory(name=name, user=user)
    rep.sites.set(sites)
    return user


@pytest.fixture
def rep_for():
    return database_sync_to_async(make_rep)


def zone_where_it_is(hour: int) -> str:
    """A fixed-offset zone (Etc/GMT±n) whose wall clock shows ``hour`` o'clock now (the minutes as in UTC).

    The live web process answers with the real clock, so a test picks the rep's zone instead of the time.
    """
    from django.utils import timezone

    offset = (hour - timezone.now().hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def make_rep_at(name: str, *sites, local_hour: int):
    """A rep of ``sites`` working 09:00-17:00 every day in a zone where it is ``local_hour`` o'clock now
    (12: at work; 3: off, back at 09:00 their time)."""
    user = make_rep(name, *sites)
    rep = user.sales_rep
    rep.timezone = zone_where_it_is(local_hour)
    rep.save(update_fields=["timezone"])
    rep.working_hours.all().delete()
    WorkingHours.objects.bulk_create(WorkingHours(rep=rep, weekday=d, start=time(9), end=time(17)) for d in range(7))
    return user


class RecordingReceiver:
    """A local HTTP server standing in for Slack: records each POST, answers the next queued status (then 200)."""

    def __init__(self) -> None:
        import http.server
        import threading
        import time

        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": body,
                        "at": time.monotonic(),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, index: int = 0) -> dict:
        import json

        return json.loads(self.requests[index]["body"])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack():
    receiver = RecordingReceiver()
    yield receiver
    receiver.stop()
