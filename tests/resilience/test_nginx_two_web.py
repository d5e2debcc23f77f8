"""Two web processes behind Debian's nginx (deploy/nginx-site.conf), two Rasa servers, PostgreSQL and
Redis: a visitor's two tabs land on different web processes and each sees the other's messages; a
meeting booked through one process is seen by the other (its tab shows it, and the next visitor
there is not offered the booked time). The Rasa servers call the action endpoint through nginx too,
as in production (any web process answers an action)."""

import asyncio
import contextlib
import os
import re
import subprocess
import uuid

import aiohttp
import pytest
import yaml
from django.conf import settings

from chatbot.management.commands.bot_endpoints import endpoints_config
from scheduling.models import Meeting
from tests.factories import SiteFactory
from tests.resilience.conftest import database_url_for_tests
from tests.resilience.widget import Tab
from tests.scheduling.factories import SalesRepFactory
from tests.servers import ROOT, RasaServer, free_port, start_web, stop, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
VISITOR_EMAIL = "dana.kim@globex-fintech.com"


@pytest.fixture
def nginx_in_front(ring_settings, tmp_path):
    """Two web processes, nginx and two Rasa servers whose action endpoint is nginx, on free ports;
    yields (nginx url, [web ports], access log)."""
    nginx_port, ports = free_port(), [free_port(), free_port()]
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(endpoints_config(action_url=f"http://127.0.0.1:{nginx_port}/bot/actions/")))
    rasas = [
        RasaServer(port=free_port(), env=ring.env, endpoints=endpoints, log=tmp_path / f"rasa-{i}.log", cwd=tmp_path)
        for i, ring in enumerate(ring_settings.rasas)
    ]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "RASA_URLS": ",".join(rasa.url for rasa in rasas),
        "RASA_ACTION_TOKEN": settings.RASA_ACTION_TOKEN,  # what the endpoints file sends
        "CHANNELS_PREFIX": f"two-web-{uuid.uuid4().hex[:8]}",  # the same layer for both processes
        "CACHE_PREFIX": f"two-web-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    site = (ROOT / "deploy/nginx-site.conf").read_text()
    site = re.sub(r"(?m)^\s*server 127\.0\.0\.1:8000.*$", f"    server 127.0.0.1:{ports[0]};", site)
    site = re.sub(r"(?m)^\s*server 127\.0\.0\.1:8001.*$", f"    server 127.0.0.1:{ports[1]};", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{nginx_port};")
    access_log = tmp_path / "access.log"
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\nuser root;\n"
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    log_format upstream '$request_uri $upstream_addr $status';\n"
        f"    access_log {access_log} upstream;\n"
        + "".join(
            f"    {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + site
        + "\n}\n"
    )
    log = tmp_path / "nginx.log"
    with contextlib.ExitStack() as started:  # whatever started is stopped, also when a later start fails
        for rasa in rasas:
            rasa.start()
            started.callback(rasa.stop)
        for port in ports:
            started.callback(stop, start_web(port=port, env=env, log=tmp_path / f"web-{port}.log"))
        with log.open("wb") as out:
            nginx = subprocess.Popen(
                ["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)], stdout=out, stderr=subprocess.STDOUT
            )
        started.callback(stop, nginx)
        wait_http(f"http://127.0.0.1:{nginx_port}/", timeout=20, process=nginx, log=log)
        for rasa in rasas:
            rasa.wait(ring_settings.rasa_token)
        yield f"ws://127.0.0.1:{nginx_port}/ws/chat/", ports, access_log


def slot_buttons(frame: dict) -> list[dict]:
    return [b for b in frame.get("buttons") or [] if b["payload"].startswith("/choose_slot")]


async def qualify(tab: Tab, other: Tab | None = None, email: str = VISITOR_EMAIL) -> list[dict]:
    """Qualify as the e2e booking test does; the offered slot buttons."""
    for i, text in enumerate(
        ("hi", "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter")
    ):
        await tab.say(text, f"q{i}")
        await tab.answer()
        if other is not None:
            await other.answer()  # the other tab, on the other process, follows the conversation
    await tab.say(f"Dana Kim, {email}", "q9")
    offer = await tab.until(lambda f: f["type"] == "bot" and slot_buttons(f), 60)
    return slot_buttons(offer)


async def test_two_tabs_on_two_web_processes_and_a_booking_seen_by_both(nginx_in_front, default_rules):
    url, ports, access_log = nginx_in_front
    site = await asyncio.to_thread(SiteFactory)
    await asyncio.to_thread(SalesRepFactory, name="Rita Rep", email="rita@northwind.example", min_notice_minutes=60)
    async with aiohttp.ClientSession() as http:
        one = await Tab(http, url).open(site)
        two = await Tab(http, url).open(site, visitor=one.session["visitor"])
        try:
            buttons = await qualify(one, other=two)
            # Tab two shows what tab one typed and what the bot answered, across processes.
            await two.until(lambda f: f["type"] == "bot" and slot_buttons(f), 30)
            assert any(f["type"] == "visitor" and f["text"].startswith("Dana Kim") for f in two.frames)

            # The visitor books from tab two (the other process); tab one sees the confirmation.
            chosen = buttons[0]
            await two.say(chosen["payload"], "book")
            confirmation = await two.until(lambda f: f["type"] == "bot" and "booked" in f["text"], 60)
            assert chosen["title"] in confirmation["text"]
            await one.until(lambda f: f["type"] == "bot" and "booked" in f["text"], 30)
        finally:
            await one.close()
            await two.close()

        # The next visitor (on either process) is not offered the booked time.
        three = await Tab(http, url).open(site)
        try:
            offered = [b["title"] for b in await qualify(three, email="lee.park@initech-fintech.com")]
        finally:
            await three.close()
    assert offered and chosen["title"] not in offered
    assert await Meeting.objects.filter(visitor_email=VISITOR_EMAIL).acount() == 1

    # nginx sent the two tabs of the visitor to different web processes.
    await asyncio.sleep(0.5)
    requests = [line.split() for line in access_log.read_text().splitlines()]
    sockets = [r for r in requests if r[0].startswith("/ws/chat/")]
    assert len(sockets) >= 2
    assert {sockets[0][1], sockets[1][1]} == {f"127.0.0.1:{port}" for port in ports}
    # ...and the Rasa servers' action calls (form validation, booking) went through nginx and were answered.
    actions = [r for r in requests if r[0].startswith("/bot/actions/")]
    assert len(actions) >= 3
    assert {status for _, _, status in actions} == {"200"}
    assert {upstream for _, upstream, _ in actions} <= {f"127.0.0.1:{port}" for port in ports}
