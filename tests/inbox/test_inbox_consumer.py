"""The inbox socket: staff only, each rep sees only their sites, bad frames get error frames,
the live list updates without reload, and a takeover routes the visitor to the rep and back.

Rasa is unreachable here (the bot's answer is then the stored "unavailable" notice), so a
message that reached the bot is visible as that notice; Rasa's own pause is tested in
tests/inbox/test_takeover_rasa.py against the real server.
"""

import collections
import json
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from chatbot import services as chat_services
from chatbot.errors import error_text
from chatbot.live import notice_text
from chatbot.models import Conversation, Message, Takeover
from tests.chatbot.test_consumer import started
from tests.factories import SiteFactory, acreate
from tests.inbox.conftest import inbox_open, inbox_socket, next_frame, next_message
from tests.scheduling.factories import UserFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_TIMEOUT_SECONDS = 2
    settings.RASA_API_TOKEN = ""


async def test_anonymous_and_non_staff_are_refused():
    communicator = await inbox_socket(None)
    connected, _ = await communicator.connect(timeout=10)
    assert not connected
    visitor_like = await acreate(UserFactory, username="not-staff", is_staff=False)
    communicator = await inbox_socket(visitor_like)
    connected, _ = await communicator.connect(timeout=10)
    assert not connected


async def test_foreign_origin_is_refused(rep_for):
    site = await acreate(SiteFactory)
    user = await rep_for("Ana", site)
    communicator = await inbox_socket(user, origin="https://evil.example")
    connected, _ = await communicator.connect(timeout=10)
    assert not connected


async def test_rep_sees_only_their_sites(rep_for):
    mine, theirs = await acreate(SiteFactory), await acreate(SiteFactory)
    visitor_mine, session_mine = await started(mine)
    visitor_theirs, session_theirs = await started(theirs)
    user = await rep_for("Ana", mine)
    inbox, listing = await inbox_open(user)
    try:
        ids = [row["conversation"] for row in listing["conversations"]]
        assert session_mine["conversation"] in ids
        assert session_theirs["conversation"] not in ids
        assert listing["me"] == "Ana"
        await inbox.send_json_to({"type": "open", "conversation": session_theirs["conversation"]})
        error = await next_frame(inbox, "error")
        assert error["code"] == "unknown_conversation"
        await inbox.send_json_to({"type": "take_over", "conversation": session_theirs["conversation"]})
        assert (await next_frame(inbox, "error"))["code"] == "unknown_conversation"
        held = await Conversation.objects.aget(public_id=session_theirs["conversation"])
        assert held.held_by_id is None
    finally:
        for communicator in (inbox, visitor_mine, visitor_theirs):
            await communicator.disconnect()


async def test_bad_frames_get_error_frames(rep_for):
    site = await acreate(SiteFactory)
    user = await rep_for("Ana", site)
    inbox, _ = await inbox_open(user)
    try:
        await inbox.send_to(text_data="{not json")
        assert (await next_frame(inbox, "error"))["code"] == "malformed_json"
        await inbox.send_json_to(["a list"])
        assert (await next_frame(inbox, "error"))["code"] == "malformed_frame"
        await inbox.send_json_to({"type": "dance", "conversation": "x"})
        assert (await next_frame(inbox, "error"))["code"] == "unknown_type"
        await inbox.send_json_to({"type": "open", "conversation": 42})
        assert (await next_frame(inbox, "error"))["code"] == "malformed_frame"
        await inbox.send_json_to({"type": "open", "conversation": "not-a-uuid"})
        assert (await next_frame(inbox, "error"))["code"] == "unknown_conversation"
        await inbox.send_to(text_data=json.dumps({"type": "open", "conversation": "x" * 40000}))
        assert (await next_frame(inbox, "error"))["code"] == "frame_too_large"
    finally:
        await inbox.disconnect()


async def test_live_list_and_transcript_update_without_reload(rep_for):
    site = await acreate(SiteFactory)
    user = await rep_for("Ana", site)
    inbox, listing = await inbox_open(user)
    visitor, session = await started(site)
    conversation = session["conversation"]
    try:
        assert listing["conversations"] == []
        arrived = (await next_frame(inbox, "conversation"))["row"]  # a visitor on the site now
        assert arrived["conversation"] == conversation and arrived["on_site"]
        await visitor.send_json_to({"type": "message", "text": "We need better forecasts", "id": "m1"})
        row = (await next_frame(inbox, "conversation"))["row"]
        assert row["conversation"] == conversation and row["last_message"] == "We need better forecasts"
        assert row["handoff_requested_at"] is None

        await inbox.send_json_to({"type": "open", "conversation": conversation})
        transcript = await next_frame(inbox, "transcript")
        assert [m["sender"] for m in transcript["messages"]][:2] == ["bot", "visitor"]
        await visitor.send_json_to({"type": "message", "text": "Anyone there?", "id": "m2"})
        shown = await next_message(inbox, "Anyone there?")
        assert shown["conversation"] == conversation and shown["message"]["sender"] == "visitor"

        # The bot flags a request for a person: the row comes back marked, for the queue on top.
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=conversation)
        while True:
            row = (await next_frame(inbox, "conversation", timeout=5))["row"]
            if row["handoff_requested_at"]:
                break
        assert row["held_by"] is None
    finally:
        await visitor.disconnect()
        await inbox.disconnect()


async def test_a_burst_of_changes_sends_each_row_once_with_its_latest_state(rep_for):
    """A busy site touches a conversation many times a second: the inbox reads and sends its row once."""
    from chatbot import live

    site = await acreate(SiteFactory)
    user = await rep_for("Ana", site)
    inbox, _ = await inbox_open(user)
    visitors = [await started(site) for _ in range(3)]
    ids = [session["conversation"] for _, session in visitors]
    try:
        while not await inbox.receive_nothing(timeout=0.5):  # the visitors' arrival rows
            await inbox.receive_json_from()
        for id_ in ids:
            await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=id_)
        while not await inbox.receive_nothing(timeout=1):  # the requests' own rows
            await inbox.receive_json_from()
        for _ in range(20):
            for id_ in ids:
                await live.inbox_touch(site_id=site.pk, public_id=id_)
        rows = []
        while not await inbox.receive_nothing(timeout=1):
            frame = await inbox.receive_json_from()
            if frame["type"] == "conversation":
                rows.append(frame["row"])
        counts = collections.Counter(row["conversation"] for row in rows)
        # read in one or a few batches (a slow machine splits the burst), not once per touch (20 times)
        assert set(counts) == set(ids) and max(counts.values()) <= 3
        assert all(row["handoff_requested_at"] for row in rows)  # as they are now
    finally:
        for communicator in [inbox, *(v for v, _ in visitors)]:
            await communicator.disconnect()


async def test_take_over_talk_and_hand_back(rep_for):
    site = await acreate(SiteFactory)
    ana, bo = await rep_for("Ana", site), await rep_for("Bo", site)
    visitor, session = await started(site)
    conversation = session["conversation"]
    await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=conversation)
    inbox, _ = await inbox_open(ana)
    other, _ = await inbox_open(bo)
    try:
        await inbox.send_json_to({"type": "take_over", "conversation": conversation})
        mode = await next_frame(visitor, "mode")
        assert mode["mode"] == "agent" and mode["name"] == "Ana"
        assert mode["notice"]["text"] == notice_text("joined", name="Ana")
        transcript = await next_frame(inbox, "transcript")
        assert transcript["row"]["mine"] and transcript["row"]["held_by"] == "Ana"

        # A second rep cannot take it.
        await other.send_json_to({"type": "take_over", "conversation": conversation})
        refused = await next_frame(other, "error")
        assert refused["code"] == "already_held" and "Ana" in refused["message"]
        await other.send_json_to({"type": "message", "conversation": conversation, "text": "me too"})
        assert (await next_frame(other, "error"))["code"] == "not_held"

        # The visitor's message goes to the rep, not to the bot (which is down: it would answer a notice).
        await visitor.send_json_to({"type": "message", "text": "Hi, is this a person?", "id": "v1"})
        relayed = await next_message(inbox, "Hi, is this a person?")
        assert relayed["message"]["sender"] == "visitor"
        assert await visitor.receive_nothing(timeout=1)
        stored = await Message.objects.aget(conversation__public_id=conversation, client_id="v1")
        assert stored.delivery == Message.Delivery.TO_REP

        await inbox.send_json_to({"type": "typing", "conversation": conversation})
        assert await next_frame(visitor, "agent_typing") == {"type": "agent_typing", "name": "Ana"}
        await inbox.send_json_to({"type": "message", "conversation": conversation, "text": "Yes, I'm Ana."})
        agent = await next_frame(visitor, "agent")
        assert agent["text"] == "Yes, I'm Ana." and agent["name"] == "Ana"
        rep_message = await Message.objects.select_related("author").aget(pk=agent["id"])
        assert rep_message.sender == Message.Sender.REP and rep_message.author.username == "ana"

        # A reload shows who is chatting, and the rep's message with their name.
        again, resumed = await started(site, visitor=session["visitor"])
        assert resumed["agent"] == "Ana"
        assert {"sender": "rep", "name": "Ana", "text": "Yes, I'm Ana."}.items() <= resumed["history"][-1].items()
        await again.disconnect()

        # Bo cannot hand it back; Ana can, and the bot answers again.
        await other.send_json_to({"type": "hand_back", "conversation": conversation})
        assert (await next_frame(other, "error"))["code"] == "not_held"
        await inbox.send_json_to({"type": "hand_back", "conversation": conversation})
        back = await next_frame(visitor, "mode")
        assert back["mode"] == "bot" and back["notice"]["text"] == notice_text("left", name="Ana")
        await visitor.send_json_to({"type": "message", "text": "thanks", "id": "v2"})
        answered = await next_frame(visitor, "bot", timeout=10)
        assert answered["text"] == error_text("answer_later")  # it went to the bot again

        takeover = await Takeover.objects.aget(conversation__public_id=conversation)
        assert takeover.rep_name == "Ana" and takeover.ended == Takeover.Ended.HANDED_BACK
        assert takeover.released_at > takeover.taken_at and takeover.waited_seconds > 0
    finally:
        for communicator in (visitor, inbox, other):
            await communicator.disconnect()


async def test_a_closed_inbox_releases_its_conversations_after_the_grace_time(rep_for, settings):
    settings.INBOX_RELEASE_SECONDS = 0.5
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    inbox, _ = await inbox_open(ana)
    try:
        await inbox.send_json_to({"type": "take_over", "conversation": session["conversation"]})
        assert (await next_frame(visitor, "mode"))["mode"] == "agent"
        await inbox.disconnect()
        back = await next_frame(visitor, "mode", timeout=5)
        assert back["mode"] == "bot"
        conversation = await Conversation.objects.aget(public_id=session["conversation"])
        assert conversation.held_by_id is None
        takeover = await Takeover.objects.aget(conversation=conversation)
        assert takeover.ended == Takeover.Ended.ABANDONED
    finally:
        await visitor.disconnect()


def test_two_reps_at_once_one_holds(transactional_db):
    """Both click "Take over" at the same moment: PostgreSQL lets exactly one update the row."""
    from tests.factories import ConversationFactory
    from tests.inbox.conftest import make_rep

    conversation = ConversationFactory()
    users = [make_rep(f"Rep {i}", conversation.site) for i in range(2)]
    barrier = threading.Barrier(2)
    results: list = []

    def take(user):
        try:
            barrier.wait()
            chat_services.conversation_take_over(
                public_id=str(conversation.public_id), user=user, rep_name=user.first_name
            )
            results.append(("held", user.pk))
        except Exception as exc:  # noqa: BLE001 - the refusal is the point
            results.append(("refused", getattr(exc, "code", repr(exc))))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results) == ["held", "refused"]
    assert [r[1] for r in results if r[0] == "refused"] == ["already_held"]
    conversation.refresh_from_db()
    assert conversation.held_by_id == next(r[1] for r in results if r[0] == "held")
    assert Takeover.objects.filter(conversation=conversation).count() == 1


async def test_a_hand_back_rasa_does_not_take_leaves_the_chat_with_the_rep(rep_for, settings):
    """Rasa's API is on but unreachable: the bot cannot resume (nor learn what the visitor said), so the
    rep keeps the chat, and the visitor's messages still go to the rep."""
    settings.RASA_API_TOKEN = "t" * 32
    site = await acreate(SiteFactory)
    ana = await rep_for("Ana", site)
    visitor, session = await started(site)
    conversation = session["conversation"]
    inbox, _ = await inbox_open(ana)
    try:
        await inbox.send_json_to({"type": "take_over", "conversation": conversation})
        assert (await next_frame(visitor, "mode"))["name"] == "Ana"
        await visitor.send_json_to({"type": "message", "text": "I'm the CTO, we're about 300 people", "id": "v1"})
        await next_message(inbox, "I'm the CTO, we're about 300 people")

        await inbox.send_json_to({"type": "hand_back", "conversation": conversation})
        assert (await next_frame(inbox, "error", timeout=10))["code"] == "bot_unavailable"
        held = await Conversation.objects.aget(public_id=conversation)
        assert held.held_by_id == ana.pk
        assert not await Takeover.objects.filter(conversation=held, released_at__isnull=False).aexists()
        await visitor.send_json_to({"type": "message", "text": "hello?", "id": "v2"})
        await next_message(inbox, "hello?")
        assert await visitor.receive_nothing(timeout=1)  # no bot answer: still the rep's
    finally:
        for communicator in (visitor, inbox):
            await communicator.disconnect()
