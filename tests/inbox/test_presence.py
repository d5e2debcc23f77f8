"""Presence per socket with a short TTL (Redis): a rep is online while one of their inbox sockets is
open and renewed; a socket whose process died stops counting when its TTL runs out. Visitors with the
widget open are "on the site", and a qualified one is in the inbox's "needs a person" queue until
they leave."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from chatbot import presence as chat_presence
from chatbot.models import Conversation
from inbox import presence
from qualification.models import Lead
from tests.chatbot.test_consumer import started
from tests.factories import SiteFactory, acreate
from tests.inbox.conftest import inbox_open, next_frame
from tests.qualification.factories import LeadFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_TIMEOUT_SECONDS = 2
    settings.RASA_API_TOKEN = ""


def test_presence_lives_in_redis_shared_by_every_process():
    from django.core.cache import caches

    assert chat_presence._redis() is not None
    presence.rep_arrive(user_id=900, socket="tab-1")
    client = caches["default"]._cache.get_client()
    assert client.zcard(caches["default"].make_key("presence:rep:900")) == 1


def test_a_rep_is_online_while_one_of_their_sockets_is_open():
    assert not presence.rep_online(user_id=901)
    presence.rep_arrive(user_id=901, socket="tab-1")
    presence.rep_arrive(user_id=901, socket="tab-2")
    assert presence.rep_online(user_id=901)
    assert not presence.rep_online(user_id=902)
    assert presence.rep_leave(user_id=901, socket="tab-1") is True  # the other tab is still open
    assert presence.rep_leave(user_id=901, socket="tab-2") is False
    assert not presence.rep_online(user_id=901)
    assert time.time() - presence.rep_last_seen(user_id=901) < 5


def test_a_socket_whose_process_died_stops_counting_after_the_ttl(settings):
    settings.PRESENCE_TTL_SECONDS = 1
    presence.rep_arrive(user_id=903, socket="crashed-process")  # never renewed, never closed
    assert presence.rep_online(user_id=903)
    time.sleep(1.2)
    assert not presence.rep_online(user_id=903)
    # A renewed socket (the heartbeat) keeps counting.
    presence.rep_arrive(user_id=904, socket="alive")
    time.sleep(0.6)
    presence.rep_arrive(user_id=904, socket="alive")
    time.sleep(0.6)
    assert presence.rep_online(user_id=904)


async def test_the_inbox_socket_heartbeat_keeps_the_rep_online(settings, rep_for):
    settings.PRESENCE_TTL_SECONDS = 0.9  # renewed every 0.3 s
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    inbox, _ = await inbox_open(ana)
    try:
        await asyncio.sleep(1.5)  # past the TTL: only the heartbeat keeps Ana online
        assert await database_sync_to_async(presence.rep_online)(user_id=ana.pk)
    finally:
        await inbox.disconnect()
    assert not await database_sync_to_async(presence.rep_online)(user_id=ana.pk)


@database_sync_to_async
def qualify(public_id: str) -> int:
    conversation = Conversation.objects.get(public_id=public_id)
    LeadFactory(conversation=conversation, outcome=Lead.Outcome.QUALIFIED, score=80)
    return conversation.pk


async def test_a_qualified_visitor_on_the_site_is_queued_until_they_leave(rep_for):
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    conversation_id = await qualify(session["conversation"])
    inbox, listing = await inbox_open(ana)
    try:
        (row,) = [r for r in listing["conversations"] if r["conversation"] == session["conversation"]]
        assert row["on_site"] and row["needs_person"] and row["score"] == 80
        assert row["handoff_requested_at"] is None  # queued without asking
        assert chat_presence.visitors_on_site(conversation_ids=[conversation_id]) == {conversation_id}

        await visitor.disconnect()
        left = await next_frame(inbox, "conversation", timeout=5)
        assert left["row"]["conversation"] == session["conversation"]
        assert not left["row"]["on_site"] and not left["row"]["needs_person"]
    finally:
        await inbox.disconnect()


async def test_an_unqualified_visitor_on_the_site_is_not_queued(rep_for):
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    inbox, listing = await inbox_open(ana)
    try:
        (row,) = [r for r in listing["conversations"] if r["conversation"] == session["conversation"]]
        assert row["on_site"] and not row["needs_person"]
    finally:
        await visitor.disconnect()
        await inbox.disconnect()
