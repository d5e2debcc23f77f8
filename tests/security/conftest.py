"""Fixtures of the abuse tests: each test counts on its own, and a real web process when the
test is about what a server does with bytes on a socket."""

import os
import subprocess
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection

from config.asgi import application
from tests.factories import TEST_ORIGIN
from tests.servers import ROOT, free_port, stop, wait_http, web_command


@pytest.fixture(autouse=True)
def own_counters(settings):
    """A fresh key prefix per test: no test inherits another's hits in the shared Redis."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex[:12]}:"


def communicator_from(ip: str | None, *, origin: str = TEST_ORIGIN, headers: list | None = None):
    """A widget socket whose peer address is ``ip`` (what an ASGI server puts in the scope)."""
    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", origin.encode()), *(headers or [])]
    )
    communicator.scope["client"] = (ip, 50000) if ip else None
    return communicator


def database_url() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace("@", f":{db['PASSWORD']}@", 1)
    return url


class LiveWeb:
    """The web process alone (uvicorn, as the Procfile runs it) on the test database."""

    def __init__(self, logs, env_extra: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / "web.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
            **(env_extra or {}),
        }
        self.process = subprocess.Popen(
            web_command(self.port), cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        try:
            wait_http(f"{self.url}/", timeout=60, process=self.process, log=self.log)
        except Exception:
            stop(self.process)
            raise

    def stop(self) -> None:
        stop(self.process)


@pytest.fixture
def live_web(transactional_db, tmp_path, request):
    """``@pytest.mark.parametrize("live_web", [{"ENV": "value"}], indirect=True)`` sets its environment."""
    web = LiveWeb(tmp_path, getattr(request, "param", None))
    yield web
    web.stop()
