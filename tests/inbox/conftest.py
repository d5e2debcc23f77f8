"""The reps' inbox over its real socket (config.asgi), signed in with a real session cookie."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
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
