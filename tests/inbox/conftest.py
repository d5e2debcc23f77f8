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
