"""A request for a person goes to the routed rep: alerted in the inbox when online, else emailed.

Routing is booking's (scheduling.routing): with no rules every active rep is the pool, in fair
order (here: the rep created first). Only reps who see the conversation's site are candidates.
"""

import pytest
from channels.db import database_sync_to_async

from chatbot import services as chat_services
from chatbot.models import Conversation, Message
from tests.chatbot.test_consumer import started
from tests.factories import SiteFactory, acreate
from tests.inbox.conftest import inbox_open, make_rep, make_rep_at, next_frame
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_TIMEOUT_SECONDS = 2


@database_sync_to_async
def reps(site, other):
    return make_rep("Ana", site), make_rep("Bo", site), make_rep("Cy", other)


async def test_the_first_routed_rep_online_is_alerted_in_the_inbox(mailoutbox):
    site, other = await acreate(SiteFactory), await acreate(SiteFactory)
    ana, bo, cy = await reps(site, other)
    visitor, session = await started(site)
    bo_inbox, _ = await inbox_open(bo)  # Ana, first in the pool, is not online: Bo is
    cy_inbox, _ = await inbox_open(cy)
    try:
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=session["conversation"])
        alert = await next_frame(bo_inbox, "alert")
        assert alert["row"]["conversation"] == session["conversation"]
        assert alert["row"]["handoff_requested_at"]
        assert await cy_inbox.receive_nothing(timeout=1)  # another site's rep hears nothing
        assert mailoutbox == []
    finally:
        for communicator in (visitor, bo_inbox, cy_inbox):
            await communicator.disconnect()


async def test_nobody_online_the_first_routed_rep_is_emailed(mailoutbox, settings):
    settings.PUBLIC_BASE_URL = "https://chat.vendor.example"
    site, other = await acreate(SiteFactory, name="Northwind"), await acreate(SiteFactory)
    ana, bo, cy = await reps(site, other)
    visitor, session = await started(site)
    try:
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=session["conversation"])
        assert [m.to for m in mailoutbox] == [[(await database_sync_to_async(lambda: ana.sales_rep.email)())]]
        (email,) = mailoutbox
        assert "Northwind" in email.subject
        assert "https://chat.vendor.example/inbox/" in email.body
        # Asking again does not email again.
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=session["conversation"])
        assert len(mailoutbox) == 1
    finally:
        await visitor.disconnect()


async def test_a_request_off_hours_tells_the_emailed_rep_the_visitor_was_answered_at_once(mailoutbox):
    site = await acreate(SiteFactory)
    await database_sync_to_async(make_rep_at)("Ana", site, local_hour=3)
    at_work = await acreate(SiteFactory)
    await database_sync_to_async(make_rep_at)("Bo", at_work, local_hour=12)
    visitors = [await started(s) for s in (site, at_work)]
    try:
        for _, session in visitors:
            await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=session["conversation"])
        off, on = (" ".join(m.body.split()) for m in mailoutbox)
        assert "outside the team's working hours" in off and "told the visitor so at once" in off
        assert "outside the team's working hours" not in on and "within 60 seconds" in on
    finally:
        for communicator, _ in visitors:
            await communicator.disconnect()


async def alerts_until_quiet(communicator) -> list[str]:
    """The conversations of the alert frames an inbox gets until it has been quiet for a second."""
    alerts = []
    while not await communicator.receive_nothing(timeout=1):
        frame = await communicator.receive_json_from()
        if frame["type"] == "alert":
            alerts.append(frame["row"]["conversation"])
    return alerts


async def test_requests_that_arrive_together_are_dealt_out_to_the_least_busy_reps(mailoutbox):
    site = await acreate(SiteFactory)
    users = [await database_sync_to_async(make_rep)(name, site) for name in ("Ana", "Bo", "Cy")]
    inboxes = [(await inbox_open(user))[0] for user in users]
    visitors = [await started(site) for _ in range(7)]
    try:
        # Ana already holds a chat: she is the busiest before any request comes
        held = visitors[0][1]["conversation"]
        await database_sync_to_async(chat_services.conversation_take_over)(
            public_id=held, user=users[0], rep_name="Ana"
        )
        asked = [session["conversation"] for _, session in visitors[1:]]
        for public_id in asked:
            await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=public_id)
        got = [await alerts_until_quiet(inbox) for inbox in inboxes]
        assert sorted(sum(got, [])) == sorted(asked)  # each request alerted once, to one rep
        # Ana holds a chat: Bo and Cy get the first two requests, then the three take turns
        assert [len(g) for g in got] == [2, 2, 2]
        assert not set(asked[:2]) & set(got[0])
        assert mailoutbox == []
    finally:
        for communicator in [*inboxes, *(v for v, _ in visitors)]:
            await communicator.disconnect()


async def test_the_widgets_person_button_alerts_the_rep_before_the_bot_has_answered(mailoutbox):
    """Rasa is down here (``rasa_down``): the alert cannot come from the bot's turn."""
    site = await acreate(SiteFactory)
    user = await database_sync_to_async(make_rep)("Ana", site)
    inbox, _ = await inbox_open(user)
    visitor, session = await started(site)
    try:
        await visitor.send_json_to({"type": "message", "text": "/request_human", "id": "p1"})
        alert = await next_frame(inbox, "alert")
        assert alert["row"]["conversation"] == session["conversation"]
        message = await Message.objects.aget(conversation__public_id=session["conversation"], client_id="p1")
        assert message.text == "Talk to a person" and message.payload == "/request_human"
        conversation = await Conversation.objects.aget(public_id=session["conversation"])
        assert conversation.handoff_requested and conversation.handoff_alerted_to_id == user.pk
    finally:
        for communicator in (visitor, inbox):
            await communicator.disconnect()


async def test_asking_again_after_being_told_nobody_came_alerts_the_rep_online_now_once(mailoutbox):
    site = await acreate(SiteFactory)
    user = await database_sync_to_async(make_rep)("Ana", site)
    visitor, session = await started(site)
    public_id = session["conversation"]
    request = database_sync_to_async(chat_services.conversation_request_handoff)
    inbox = None
    try:
        await request(public_id=public_id)  # nobody online: Ana is emailed
        assert len(mailoutbox) == 1
        assert await database_sync_to_async(chat_services.handoff_said_unavailable)(public_id=public_id)
        inbox, _ = await inbox_open(user)
        await request(public_id=public_id)  # Ana is online now: a new wait, and her alert
        assert await alerts_until_quiet(inbox) == [public_id]
        conversation = await Conversation.objects.aget(public_id=public_id)
        assert conversation.handoff_unanswered_at is None and conversation.handoff_alerted_to_id == user.pk
        await request(public_id=public_id)  # asked a third time while she is alerted: no second alert
        assert await alerts_until_quiet(inbox) == []
        assert len(mailoutbox) == 1
    finally:
        for communicator in (visitor, inbox):
            if communicator is not None:
                await communicator.disconnect()
