"""`make run`'s process manager: Rasa killed with -9 is started again, and the web process stays up.

Runs what `make run` runs once the database is ready (scripts/honcho-start.sh: honcho over the
Procfile, every command in scripts/keep-running.sh) with the web process, one Rasa server and the
worker, and talks to the web process over a real WebSocket.
"""

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import aiohttp
import pytest
import yaml
from django.conf import settings

from chatbot.errors import error_text
from tests.factories import TEST_ORIGIN, SiteFactory
from tests.resilience.conftest import database_url_for_tests
from tests.servers import ROOT, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def pids_of(needle: str) -> list[int]:
    """Processes whose command line holds ``needle`` (a port only this test uses)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            words = [a.decode(errors="replace") for a in args]
            if needle in words and any(w.endswith("/rasa") for w in words) and "run" in words:
                found.append(int(entry.name))
    return found


@pytest.fixture
def honcho(tmp_path):
    from chatbot.management.commands.bot_endpoints import endpoints_config

    web_port, rasa_port = free_port(), free_port()
    var = tmp_path / "var"
    var.mkdir()
    (var / "endpoints.yml").write_text(
        yaml.safe_dump(endpoints_config(action_url=f"http://127.0.0.1:{web_port}/bot/actions/"))
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "RASA_TRACKER_DATABASE_URL": settings.RASA_TRACKER_DATABASE_URL,
        "WEB_PORT": str(web_port),
        "RASA_PORT": str(rasa_port),
        "RASA_PROCESSES": "1",
        "VAR_DIR": str(var),
        "CHANNELS_PREFIX": f"pm-{uuid.uuid4().hex[:8]}",
        "CACHE_PREFIX": f"pm-{uuid.uuid4().hex[:8]}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "RASA_PROBE_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts/honcho-start.sh"), "web", "rasa", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_http(f"http://127.0.0.1:{web_port}/", timeout=60, process=process, log=log)
        wait_http(f"http://127.0.0.1:{rasa_port}/", timeout=240, process=process, log=log)
        yield process, web_port, rasa_port, log
    finally:
        process.send_signal(signal.SIGINT)  # honcho stops every process it started, then exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def receive_until(ws, predicate, timeout: float) -> list[dict]:
    frames = []
    deadline = time.monotonic() + timeout
    while not frames or not predicate(frames[-1]):
        message = await ws.receive(timeout=max(deadline - time.monotonic(), 0.1))
        frames.append(json.loads(message.data))
    return frames


async def test_rasa_killed_under_make_run_is_restarted_and_the_web_process_stays_up(honcho):
    process, web_port, rasa_port, log = honcho
    site = await asyncio.to_thread(SiteFactory)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"ws://127.0.0.1:{web_port}/ws/chat/", headers={"Origin": TEST_ORIGIN}) as ws:
            await ws.send_json({"type": "start", "site": site.embed_key, "visitor": None, "timezone": "UTC"})
            assert (await receive_until(ws, lambda f: True, 10))[0]["type"] == "session"
            await ws.send_json({"type": "message", "text": "hello", "id": "m1"})
            await receive_until(ws, lambda f: f["type"] == "bot", 30)

            [rasa_pid] = pids_of(str(rasa_port))
            os.kill(rasa_pid, signal.SIGKILL)

            await ws.send_json({"type": "message", "text": "what do you do?", "id": "m2"})
            queued = await receive_until(ws, lambda f: f["type"] == "bot", 30)
            assert queued[-1]["sender"] == "system" and queued[-1]["text"] == error_text("answer_later")
            assert process.poll() is None
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=10) as response:
                assert response.status == 200  # the web process did not go down with Rasa

            # Rasa comes back by itself; the worker answers the queued message into this socket.
            answer = await receive_until(ws, lambda f: f["type"] == "bot" and f["sender"] == "bot", 240)
            assert answer[-1]["text"]

    new_pids = pids_of(str(rasa_port))
    assert len(new_pids) == 1 and new_pids != [rasa_pid]
    assert process.poll() is None, log.read_text()[-3000:]
    assert "keep-running: scripts/rasa-run.sh exited" in log.read_text()
