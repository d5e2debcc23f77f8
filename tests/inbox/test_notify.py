"""A request for a person goes to the routed rep: alerted in the inbox when online, else emailed.

Routing is booking's (scheduling.routing): with no rules every active rep is the pool, in fair
order (here: the rep created first). Only reps who see the conversation's site are candidates.
"""

import pytest
from channels.db import database_sync_to_async

from chatbot import services as chat_services
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
