"""Which address the abuse limits count: the socket's peer, or a trusted proxy's header only."""

import asyncio
import ipaddress
import json
import subprocess
import sys

import pytest
import websockets

from chatbot.abuse import client_ip
from chatbot.models import Conversation
from tests.factories import SiteFactory, acreate
from tests.security.conftest import communicator_from
from tests.servers import ROOT


def scope(peer: str | None, **headers: str) -> dict:
    return {
        "client": (peer, 43210) if peer else None,
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.fixture
def behind_proxy(settings):
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def test_by_default_the_peer_counts_and_forwarding_headers_are_ignored():
    assert client_ip(scope("203.0.113.9", X_Forwarded_For="1.2.3.4", X_Real_IP="5.6.7.8")) == "203.0.113.9"
    assert client_ip(scope(None)) == "unknown"


def test_a_trusted_proxy_names_the_client(behind_proxy):
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="198.51.100.20")) == "198.51.100.20"
    # The client may send its own X-Forwarded-For: only the entry our proxy appended counts.
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="6.6.6.6, 198.51.100.20")) == "198.51.100.20"
    # A chain of our own proxies is walked from the right.
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="6.6.6.6, 198.51.100.20, 10.9.9.9")) == "198.51.100.20"
    # Ports and brackets as some proxies write them.
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="198.51.100.20:5123")) == "198.51.100.20"


def test_the_header_from_anyone_else_is_ignored(behind_proxy):
    assert client_ip(scope("203.0.113.50", X_Forwarded_For="198.51.100.20")) == "203.0.113.50"


def test_garbage_in_the_header_counts_as_the_proxy_not_as_a_new_client(behind_proxy):
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="not-an-ip")) == "10.1.2.3"
    assert client_ip(scope("10.1.2.3", X_Forwarded_For="")) == "10.1.2.3"


def test_ipv6_clients_count_per_64_block():
    one = client_ip(scope("2001:db8:1:2::1"))
    assert one == client_ip(scope("2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert one != client_ip(scope("2001:db8:1:3::1"))
    assert client_ip(scope("::ffff:198.51.100.1")) == "198.51.100.1"


@pytest.mark.django_db(transaction=True)
async def test_a_spoofed_header_does_not_escape_the_limit_through_the_consumer(settings):
    settings.CHAT_IP_CONVERSATION_RATE_LIMIT = "2/minute"
    site = await acreate(SiteFactory)
    codes = []
    for i in range(4):
        communicator = communicator_from("203.0.113.200", headers=[(b"x-forwarded-for", f"10.0.0.{i}".encode())])
        await communicator.connect()
        await communicator.send_json_to({"type": "start", "site": site.embed_key, "visitor": None})
        codes.append((await communicator.receive_json_from(timeout=5)).get("code", "session"))
        await communicator.disconnect()
    assert codes == ["session", "session", "too_many_conversations", "too_many_conversations"]
    assert await Conversation.objects.acount() == 2


@pytest.mark.parametrize(
    "live_web", [{"CHAT_IP_CONVERSATION_RATE_LIMIT": "2/minute", "CHAT_START_TIMEOUT_SECONDS": "30"}], indirect=True
)
async def test_the_running_web_process_counts_the_peer_not_a_forwarded_for_header(live_web):
    """uvicorn rewrites the peer from X-Forwarded-For for 127.0.0.1 unless told not to (the Procfile does)."""
    from channels.db import database_sync_to_async

    site = await database_sync_to_async(SiteFactory)(allowed_origins="https://www.customer.example")
    ws_url = live_web.url.replace("http://", "ws://") + "/ws/chat/"
    codes = []
    for i in range(3):
        async with websockets.connect(
            ws_url,
            origin="https://www.customer.example",
            additional_headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
        ) as ws:
            await ws.send(json.dumps({"type": "start", "site": site.embed_key, "visitor": None}))
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            codes.append(frame.get("code", frame["type"]))
    assert codes == ["session", "session", "too_many_conversations"]


def test_a_header_without_trusted_proxies_is_refused_at_start():
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.local", "CLIENT_IP_HEADER": "X-Forwarded-For", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CLIENT_IP_HEADER is only read from TRUSTED_PROXIES" in result.stderr
