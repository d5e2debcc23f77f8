"""Redis restarted mid-conversation (a private redis-server): the channel layer, the rate limits'
counters and the Celery broker all live there. Open sockets keep working, a tab still sees the
other tab's messages, a message sent while Redis is down is stored and answered (the rate limits
count locally meanwhile), and a turn queued for the worker before the restart is answered after it."""

import asyncio
import os
import signal
import uuid

import aiohttp
import pytest
from django.conf import settings

from chatbot.models import Message
from tests.factories import SiteFactory
from tests.resilience.conftest import database_url_for_tests
from tests.resilience.widget import Tab
from tests.servers import CeleryWorker, RedisServer, free_port, start_web, stop

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def web_and_worker(private_redis, ring_settings, tmp_path):
    """A web process and a worker on the private Redis and both Rasa servers."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": private_redis.url,
        "RASA_URLS": ",".join(ring_settings.rasa_urls),
        "RASA_TIMEOUT_SECONDS": "5",
        "RASA_PROBE_SECONDS": "1",
        "CHAT_SWEEP_SECONDS": "5",
        "CHANNELS_PREFIX": f"redis-{uuid.uuid4().hex[:8]}",
        "CACHE_PREFIX": f"redis-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    web = start_web(port=port, env=env, log=tmp_path / "web.log")
    # Supervised as in production: when the broker goes away while the worker restores a task it had
    # not acknowledged, kombu can stop the worker ("Unrecoverable error: AttributeError ... 'hostname'");
    # the process manager starts it again, and the sweep queues what the dead worker held.
    worker = CeleryWorker(tmp_path, database_url_for_tests(), env_extra=env, beat=True, supervised=True)
    worker.start()
    yield f"ws://127.0.0.1:{port}/ws/chat/", worker
    worker.stop()
    stop(web)


async def wait_until(condition, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def pause(servers, sig) -> None:
    for rasa in servers.rasas:
        os.kill(rasa.process.pid, sig)


async def test_a_redis_restart_loses_no_socket_message_or_queued_turn(private_redis, web_and_worker, ring_settings):
    await asyncio.wait_for(redis_restarts(private_redis, web_and_worker, ring_settings), 480)


async def redis_restarts(private_redis, web_and_worker, ring_settings) -> None:
    url, worker = web_and_worker
    site = await asyncio.to_thread(SiteFactory)
    async with aiohttp.ClientSession() as http:
        one = await Tab(http, url).open(site)
        two = await Tab(http, url).open(site, visitor=one.session["visitor"])
        try:
            await one.say("hello", "m1")
            await one.reply_to("m1")
            await two.reply_to("m1")  # the other tab hears it through the channel layer

            listening = private_redis.subscriptions()
            private_redis.restart()
            # Pub/sub keeps nothing for a subscriber that is away: the web process's subscriber
            # reconnects and subscribes again by itself within a second or two; frames published
            # before that reach other tabs only through their history (README, "Redis restarts").
            await wait_until(lambda: private_redis.subscriptions() >= listening, 20)
            await one.say("what do you do?", "m2")
            await one.reply_to("m2")
            # The layer's subscriptions came back with Redis: the other tab still follows.
            await two.until(lambda f: f["type"] == "visitor" and f["text"] == "what do you do?", 20)
            await two.reply_to("m2")

            listening = private_redis.subscriptions()
            private_redis.stop()
            await one.say("do you integrate with Salesforce?", "m3")  # Redis down: counted locally, stored, answered
            await one.reply_to("m3")
            private_redis.start()
            await wait_until(lambda: private_redis.subscriptions() >= listening, 20)

            pause(ring_settings, signal.SIGSTOP)
            try:
                await one.say("thanks, bye", "m4")
                queued = await one.until(lambda f: f["type"] == "bot" and f["sender"] == "system", 20)
                assert queued["text"]
                listening = private_redis.subscriptions()
                # The queued task is in Redis (its append-only file) or already with the worker; if a
                # restart loses it, the worker's sweep queues the conversation again.
                private_redis.restart()
                await wait_until(lambda: private_redis.subscriptions() >= listening, 20)
            finally:
                pause(ring_settings, signal.SIGCONT)
            await one.reply_to("m4", timeout=90)  # answered by the worker, pushed through the restarted layer
        finally:
            await one.close()
            await two.close()

    deliveries = [
        (m.text, m.delivery)
        async for m in Message.objects.filter(sender="visitor", conversation__visitor__token=one.session["visitor"])
    ]
    assert deliveries == [
        ("hello", "delivered"),
        ("what do you do?", "delivered"),
        ("do you integrate with Salesforce?", "delivered"),
        ("thanks, bye", "delivered"),
    ], worker.log.read_text()[-3000:]
    assert settings.REDIS_URL != private_redis.url  # the machine's Redis was never touched
