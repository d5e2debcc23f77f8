"""The handoff's timers and its webhook run in a real Celery worker (its broker and beat on the test Redis), so a restart
of the web process loses none of them:

- "nobody came": queued with the site's wait as countdown when the visitor asks; the worker says it
  once, in the visitor's open tab; a request whose task was lost is said by the worker's sweep;
- a rep's hold: queued with INBOX_RELEASE_SECONDS when their last inbox socket closes; a rep whose web
  process died (no socket closed, no task queued) goes offline when their presence's TTL runs out,
  and the sweep releases their conversations;
- the site's Slack webhook: a 500 is retried with backoff, and the request is posted once.
"""

import asyncio
import datetime as dt
import time

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.utils import timezone

from chatbot import services as chat_services
from chatbot import tasks as chat_tasks
from chatbot.live import notice_text
from chatbot.models import Conversation, Message, Takeover
from inbox import presence
from tests.chatbot.test_consumer import started
from tests.factories import SiteFactory, acreate
from tests.inbox.conftest import inbox_open, make_rep, next_frame
from tests.resilience.conftest import database_url_for_tests
from tests.servers import CeleryWorker, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
RELEASE_SECONDS = 1


@pytest.fixture(scope="module")
def handoff_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker with beat for the module, sharing this process's channel layer and cache (presence)."""
    from config.celery import app

    with django_db_blocker.unblock():
        database_url = database_url_for_tests()
    app.control.purge()
    worker = CeleryWorker(
        tmp_path_factory.mktemp("handoff-worker"),
        database_url,
        env_extra={
            "CHANNELS_PREFIX": django_settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            "CACHE_PREFIX": django_settings.CACHES["default"]["KEY_PREFIX"],
            "INBOX_RELEASE_SECONDS": str(RELEASE_SECONDS),
            "CHAT_SWEEP_SECONDS": "1",
            "INBOX_WEBHOOK_RETRY_BASE_SECONDS": "1",
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "RASA_API_TOKEN": "",
        },
        beat=True,
    )
    worker.start()
    yield worker
    worker.stop()
    app.control.purge()


@pytest.fixture
def worker(handoff_worker, settings):
    """This process queues to the worker instead of running tasks in place."""
    from config.celery import app

    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_API_TOKEN = ""
    settings.INBOX_RELEASE_SECONDS = RELEASE_SECONDS
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield handoff_worker
    app.conf.task_always_eager = eager


def unanswered_notices(public_id: str) -> int:
    return Message.objects.filter(
        conversation__public_id=public_id, sender=Message.Sender.BOT, text=notice_text("unanswered")
    ).count()


async def test_the_worker_says_nobody_came_once_when_the_wait_is_over(worker):
    site = await acreate(SiteFactory, handoff_wait_seconds=2)
    visitor, session = await started(site)
    public_id = session["conversation"]
    try:
        asked = time.monotonic()
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=public_id)
        frame = await next_frame(visitor, "bot", timeout=30)
        assert frame["text"] == notice_text("unanswered")
        assert time.monotonic() - asked >= 1.9  # not before the site's wait
        assert await database_sync_to_async(unanswered_notices)(public_id) == 1
        # Run twice (acks_late: a worker that died after running it) or late: nothing more is said.
        conversation = await Conversation.objects.aget(public_id=public_id)
        assert await database_sync_to_async(chat_tasks.handoff_unanswered_check)(conversation_id=conversation.pk) == (
            "not due"
        )
        assert await visitor.receive_nothing(timeout=2.5)  # the sweep says nothing either
        assert await database_sync_to_async(unanswered_notices)(public_id) == 1
    finally:
        await visitor.disconnect()


async def test_a_lost_nobody_came_task_is_caught_by_the_sweep(worker):
    site = await acreate(SiteFactory, handoff_wait_seconds=5)
    visitor, session = await started(site)
    public_id = session["conversation"]
    try:
        # Asked 10 s ago, before this web process restarted: no task was ever queued.
        await Conversation.objects.filter(public_id=public_id).aupdate(
            handoff_requested=True, handoff_requested_at=timezone.now() - dt.timedelta(seconds=10)
        )
        frame = await next_frame(visitor, "bot", timeout=30)
        assert frame["text"] == notice_text("unanswered")
        assert await database_sync_to_async(unanswered_notices)(public_id) == 1
    finally:
        await visitor.disconnect()


async def test_a_rep_taking_over_in_time_stops_the_timer(worker, rep_for):
    site = await acreate(SiteFactory, handoff_wait_seconds=2)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    public_id = session["conversation"]
    inbox, _ = await inbox_open(ana)
    try:
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=public_id)
        await inbox.send_json_to({"type": "take_over", "conversation": public_id})
        assert (await next_frame(visitor, "mode"))["mode"] == "agent"
        assert await visitor.receive_nothing(timeout=4)
        assert await database_sync_to_async(unanswered_notices)(public_id) == 0
    finally:
        await inbox.disconnect()
        await visitor.disconnect()


async def test_the_worker_releases_a_closed_inbox_after_the_grace_time(worker, rep_for):
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    inbox, _ = await inbox_open(ana)
    try:
        await inbox.send_json_to({"type": "take_over", "conversation": session["conversation"]})
        assert (await next_frame(visitor, "mode"))["mode"] == "agent"
        closed = time.monotonic()
        await inbox.disconnect()
        back = await next_frame(visitor, "mode", timeout=30)
        assert back["mode"] == "bot"
        assert time.monotonic() - closed >= RELEASE_SECONDS - 0.1
        takeover = await Takeover.objects.aget(conversation__public_id=session["conversation"])
        assert takeover.ended == Takeover.Ended.ABANDONED
    finally:
        await visitor.disconnect()


async def test_a_reload_within_the_grace_time_keeps_the_hold(worker, rep_for):
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    inbox, _ = await inbox_open(ana)
    try:
        await inbox.send_json_to({"type": "take_over", "conversation": session["conversation"]})
        assert (await next_frame(visitor, "mode"))["mode"] == "agent"
        await inbox.disconnect()
        inbox, _ = await inbox_open(ana)  # the reload
        assert await visitor.receive_nothing(timeout=RELEASE_SECONDS + 3)
        conversation = await Conversation.objects.aget(public_id=session["conversation"])
        assert conversation.held_by_id == ana.pk
    finally:
        await inbox.disconnect()
        await visitor.disconnect()


async def test_a_rep_whose_web_process_died_goes_offline_and_is_released(worker, rep_for, settings):
    settings.PRESENCE_TTL_SECONDS = 2
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    try:
        # Ana's inbox socket lived in a process that crashed: it counted her in, then nothing more.
        await database_sync_to_async(presence.rep_arrive)(user_id=ana.pk, socket="crashed-web-process!abc")
        await database_sync_to_async(chat_services.conversation_take_over)(
            public_id=session["conversation"], user=ana, rep_name="Ana"
        )
        assert await database_sync_to_async(presence.rep_online)(user_id=ana.pk)
        started_at = time.monotonic()
        back = await next_frame(visitor, "mode", timeout=30)
        assert back["mode"] == "bot"
        # Not while her presence still counted (its TTL), and within a sweep or two after.
        assert time.monotonic() - started_at >= 2 - 0.5
        assert not await database_sync_to_async(presence.rep_online)(user_id=ana.pk)
        takeover = await Takeover.objects.aget(conversation__public_id=session["conversation"])
        assert takeover.ended == Takeover.Ended.ABANDONED
    finally:
        await visitor.disconnect()


async def test_many_sweeps_say_it_once(worker):
    """The sweep and the queued task may both find a request due: the row lock lets one speak."""
    site = await acreate(SiteFactory, handoff_wait_seconds=1)
    visitor, session = await started(site)
    public_id = session["conversation"]
    try:
        await Conversation.objects.filter(public_id=public_id).aupdate(
            handoff_requested=True, handoff_requested_at=timezone.now() - dt.timedelta(seconds=5)
        )
        said = await asyncio.gather(
            *(
                database_sync_to_async(chat_tasks.handoffs_unanswered_overdue, thread_sensitive=False)()
                for _ in range(4)
            )
        )
        assert sum(said) <= 1
        await next_frame(visitor, "bot", timeout=30)
        assert await database_sync_to_async(unanswered_notices)(public_id) == 1
    finally:
        await visitor.disconnect()


async def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await database_sync_to_async(condition)():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_the_webhook_is_retried_after_a_server_error_and_posted_once(worker, slack):
    slack.statuses = [500, 503]
    site = await acreate(SiteFactory, name="Northwind", handoff_webhook_url=slack.url)
    await database_sync_to_async(make_rep)("Ana", site)  # routed, offline
    visitor, session = await started(site)
    try:
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=session["conversation"])
        await wait_for(lambda: len(slack.requests) >= 3, timeout=30)
        assert [slack.json(i)["text"] for i in range(3)] == [slack.json(0)["text"]] * 3
        assert "*Northwind*" in slack.json(0)["text"] and session["conversation"] in slack.json(0)["text"]
        at = [r["at"] for r in slack.requests]
        assert at[1] - at[0] >= 0.9 and at[2] - at[1] >= 1.9  # backoff: 1 s, then 2 s
        await wait_for(
            lambda: Conversation.objects.filter(
                public_id=session["conversation"], handoff_webhook_sent_at__isnull=False
            ).exists(),
            timeout=10,
        )
        await asyncio.sleep(2)
        assert len(slack.requests) == 3  # two failures, one post; nothing after it
    finally:
        await visitor.disconnect()
