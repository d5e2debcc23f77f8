"""PostgreSQL restarted mid-conversation (a private cluster): the web process's kept connections
are dead; the next visitor message after it is back is stored and answered (CONN_HEALTH_CHECKS)."""

import asyncio
import os
import subprocess
import sys
import uuid

import aiohttp
import psycopg
import pytest
from django.conf import settings

from tests.resilience.widget import Tab
from tests.servers import ROOT, PostgresCluster, free_port, start_web, stop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def private_postgres():
    cluster = PostgresCluster()
    cluster.start()
    cluster.createdb("leadbot")
    yield cluster
    cluster.remove()


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


async def test_after_a_postgres_restart_the_next_message_is_stored_and_answered(
    private_postgres, ring_settings, tmp_path
):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",  # kept connections, as in production
        "DATABASE_URL": private_postgres.url("leadbot"),
        "RASA_TRACKER_DATABASE_URL": settings.RASA_TRACKER_DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "CHANNELS_PREFIX": f"pg-{uuid.uuid4().hex[:8]}",
        "CACHE_PREFIX": f"pg-{uuid.uuid4().hex[:8]}",
        "RASA_URLS": ",".join(ring_settings.rasa_urls),
        "PYTHONUNBUFFERED": "1",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    key = manage(env, "shell", "-c", "from tests.factories import SiteFactory; print(SiteFactory().embed_key)").split()[
        -1
    ]
    port = free_port()
    web = start_web(port=port, env=env, log=tmp_path / "web.log")
    try:
        async with aiohttp.ClientSession() as http:
            tab = await Tab(http, f"ws://127.0.0.1:{port}/ws/chat/").open(type("Site", (), {"embed_key": key}))
            try:
                await tab.say("hello", "m1")
                await tab.answer()

                await asyncio.to_thread(private_postgres.restart)
                await tab.say("what do you do?", "m2")
                await tab.answer()
            finally:
                await tab.close()
    finally:
        stop(web)

    with psycopg.connect(private_postgres.url("leadbot")) as connection:
        rows = connection.execute(
            "SELECT text, delivery FROM chatbot_message WHERE sender = 'visitor' ORDER BY id"
        ).fetchall()
    assert rows == [("hello", "delivered"), ("what do you do?", "delivered")]
    assert "OperationalError" not in (tmp_path / "web.log").read_text()
