"""Fault-injection tests: real processes (web, Rasa servers, Celery worker, Redis, PostgreSQL) killed,
stopped and restarted mid-conversation."""

import os

import pytest
from django.db import connection

from tests.conftest import ARTIFACTS
from tests.e2e.conftest import default_rules  # noqa: F401  (the shipped scoring rules)
from tests.servers import CeleryWorker, start_servers


def database_url_for_tests() -> str:
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return url.replace("@", f":{db['PASSWORD']}@", 1) if db.get("PASSWORD") else url


@pytest.fixture(scope="session")
def two_rasa_servers(django_db_setup, django_db_blocker):
    """The web process and two Rasa servers on the shared SQL tracker store and Redis lock store."""
    with django_db_blocker.unblock():
        database_url = database_url_for_tests()
    servers = start_servers(database_url=database_url, logs=ARTIFACTS / f"two-rasa-{os.getpid()}", rasa_count=2)
    yield servers
    servers.stop()


@pytest.fixture
def ring_settings(settings, two_rasa_servers):
    """This process's consumer talks to both servers, both up (a test that killed one starts it again)."""
    for rasa in two_rasa_servers.rasas:
        if rasa.process.poll() is not None:
            rasa.start().wait(two_rasa_servers.rasa_token)
    settings.RASA_URLS = two_rasa_servers.rasa_urls
    settings.RASA_PROBE_SECONDS = 1
    return two_rasa_servers


@pytest.fixture
def worker(transactional_db, tmp_path, ring_settings, settings):
    """A real Celery worker answering queued turns with both Rasa servers; this process queues to it."""
    from config.celery import app

    app.control.purge()
    process = CeleryWorker(
        tmp_path,
        database_url_for_tests(),
        env_extra={
            "RASA_URLS": ",".join(ring_settings.rasa_urls),
            "RASA_PROBE_SECONDS": "1",
            # Its pushes reach the tabs this test process holds open.
            "CHANNELS_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            # ...and it shares this process's cache (the once-marker of a queued conversation).
            "CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        },
    )
    process.start()
    eager = app.conf.CELERY_TASK_ALWAYS_EAGER
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    yield process
    app.conf.CELERY_TASK_ALWAYS_EAGER = eager
    process.stop()
    app.control.purge()
