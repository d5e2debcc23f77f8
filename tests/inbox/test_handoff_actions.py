"""The bot's answer to a request for a person, on hand-built trackers and the real test database.

Who can come decides it: a routed rep in the inbox (asked to join), the whole routed pool outside its
working hours (offline, said at once, with times or email), or at work but not in the inbox (the request
waits the site's time). "Talk now" beside offered times appears only while a routed rep is online.
"""

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop
from rasa_sdk.executor import CollectingDispatcher

from chatbot.models import Conversation
from inbox import presence
from inbox.actions import ActionRequestHandoff
from inbox.notify import handoff_request_prospect
from scheduling.actions import ActionOfferSlots
from tests.factories import ConversationFactory
from tests.inbox.conftest import make_rep, make_rep_at
from tests.scheduling.bot_domain import bot_domain, visible_text
from tests.scheduling.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)
DOMAIN = bot_domain()
FORM = "qualification_form"
TALK_NOW = {"title": DOMAIN["responses"]["utter_button_talk_now"][0]["text"], "payload": "/request_human"}
EMAIL_INSTEAD = {"title": DOMAIN["responses"]["utter_button_email_instead"][0]["text"], "payload": "/request_followup"}


def tracker(conversation, text="can I talk to a person?", intent="request_human", *, events=(), slots=None, form=False):
    return Tracker(
        sender_id=str(conversation.public_id),
        slots={"timezone": conversation.timezone or None, "requested_slot": "role" if form else None, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
        events=[*events, {"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={"name": FORM} if form else {},
        latest_action_name="action_listen",
    )


def bot_turns(*responses_per_turn):
    """Tracker events for earlier turns: a visitor message, then the responses the bot said."""
    events = []
    for responses in responses_per_turn:
        events.append({"event": "user", "text": "…"})
        events += [{"event": "bot", "text": name, "metadata": {"utter_action": name}} for name in responses]
    return events


async def run(action, track: Tracker) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, track, DOMAIN)
    for message in dispatcher.messages:
        assert message["text"] is None, "visitor text belongs in the domain"
        visible_text(message, DOMAIN)  # every response exists and can be filled
    return events, dispatcher.messages


def said(messages: list[dict]) -> list[str]:
    return [m["response"] for m in messages]


def slot_buttons(message: dict) -> list[dict]:
    return [b for b in message["buttons"] if b["payload"].startswith("/choose_slot")]


@database_sync_to_async
def chat(*, qualified=False, zone="America/New_York", offer_talk_now=True):
    conversation = ConversationFactory(timezone=zone, site__offer_talk_now=offer_talk_now)
    if qualified:
        LeadFactory(conversation=conversation, outcome="qualified", email="dana@globex.example")
    return conversation


@pytest.fixture
def online():
    """Mark reps' users as having the inbox open (as an inbox socket does); closed again after the test."""
    users = []

    def arrive(user):
        presence.rep_arrive(user_id=user.pk, socket="test-tab")
        users.append(user)

    yield arrive
    for user in users:
        presence.rep_leave(user_id=user.pk, socket="test-tab")


async def reload(conversation) -> Conversation:
    return await Conversation.objects.aget(pk=conversation.pk)


async def test_nobody_routed_in_the_inbox_flags_the_request_and_offers_a_meeting_or_email():
    conversation = await chat()

    events, messages = await run(ActionRequestHandoff(), tracker(conversation, form=True))

    assert said(messages) == ["utter_handoff"] and ActiveLoop(None) in events
    after = await reload(conversation)
    assert after.handoff_requested is True and after.handoff_unanswered_at is None  # it waits for a rep


async def test_asking_for_a_person_a_third_time_offers_email_instead():
    conversation = await chat()
    second = tracker(conversation, "a human please", events=bot_turns(["utter_handoff"]))
    third = tracker(conversation, "human!!", events=bot_turns(["utter_handoff"], ["utter_handoff"]))

    assert said((await run(ActionRequestHandoff(), second))[1]) == ["utter_handoff"]
    assert said((await run(ActionRequestHandoff(), third))[1]) == ["utter_handoff_email"]


async def test_a_routed_rep_in_the_inbox_is_asked_to_join(online):
    conversation = await chat()
    ana = await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=3)  # online off hours
    online(ana)

    _, messages = await run(ActionRequestHandoff(), tracker(conversation))

    assert said(messages) == ["utter_handoff_joining"]
    assert (await reload(conversation)).handoff_requested_at is not None


def test_a_first_request_is_routed_once_and_the_answer_follows_the_alert(online):
    conversation = ConversationFactory()
    ana = make_rep_at("Ana", conversation.site, local_hour=12)
    online(ana)

    with CaptureQueriesContext(connection) as queries:
        _, prospect = handoff_request_prospect(public_id=str(conversation.public_id))

    assert prospect.online is not None and prospect.online.user_id == ana.pk  # "joining": the rep alerted
    assert Conversation.objects.get(pk=conversation.pk).handoff_alerted_to_id == ana.pk
    routings = [q for q in queries.captured_queries if 'FROM "scheduling_routingrule"' in q["sql"]]
    assert len(routings) == 1  # by the receiver, as the request was recorded; the answer did not route again


async def test_an_alert_answers_only_the_request_it_was_made_for(online):
    conversation = await chat()
    ana = await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=12)
    online(ana)
    _, first = await run(ActionRequestHandoff(), tracker(conversation))
    await database_sync_to_async(presence.rep_leave)(user_id=ana.pk, socket="test-tab")

    _, again = await run(ActionRequestHandoff(), tracker(conversation, "a human please", events=bot_turns(said(first))))

    assert said(first) == ["utter_handoff_joining"]
    assert said(again) == ["utter_handoff"]  # routed again: Ana, alerted to the first request, has left
    assert (await reload(conversation)).handoff_alerted_to_id == ana.pk


async def test_off_hours_says_the_team_is_offline_and_when_it_is_back():
    conversation = await chat(zone="America/New_York")
    await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=3)  # back in about 6 hours

    _, messages = await run(ActionRequestHandoff(), tracker(conversation, form=True))

    (offline,) = messages
    assert offline["response"] == "utter_handoff_offline"  # not qualified: book (questions first) or email
    assert offline["back_at"].endswith("New York time")
    assert "back on " + offline["back_at"] in visible_text(offline, DOMAIN)
    after = await reload(conversation)
    assert after.handoff_requested and after.handoff_unanswered_at is not None  # queued; no "nobody came" later


async def test_off_hours_offers_a_qualified_visitor_the_next_times_or_email():
    conversation = await chat(qualified=True)
    await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=3)

    _, messages = await run(ActionRequestHandoff(), tracker(conversation))

    assert said(messages) == ["utter_team_offline", "utter_offer_instead_of_chat"]
    offer = messages[-1]
    assert 3 <= len(slot_buttons(offer)) <= 5 and offer["buttons"][-1] == EMAIL_INSTEAD
    assert TALK_NOW not in offer["buttons"]


async def test_a_request_at_work_but_nobody_in_the_inbox_waits_for_a_rep():
    conversation = await chat(qualified=True)
    await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=12)

    _, messages = await run(ActionRequestHandoff(), tracker(conversation))

    assert said(messages) == ["utter_handoff"]
    assert (await reload(conversation)).handoff_unanswered_at is None


async def test_talk_now_is_offered_beside_the_times_only_while_a_routed_rep_is_online(online):
    conversation = await chat(qualified=True)
    ana = await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=12)
    offer_slots = tracker(conversation, "/request_demo", "request_demo")

    _, offline = await run(ActionOfferSlots(), offer_slots)
    online(ana)
    _, with_rep = await run(ActionOfferSlots(), offer_slots)

    assert TALK_NOW not in offline[-1]["buttons"] and "utter_talk_now_offer" not in said(offline)
    assert said(with_rep) == ["utter_talk_now_offer", "utter_offer_slots"]
    assert with_rep[-1]["buttons"][0] == TALK_NOW and slot_buttons(with_rep[-1])


async def test_talk_now_is_not_offered_by_a_site_that_switched_it_off_nor_for_a_rep_of_another_site(online):
    switched_off = await chat(qualified=True, offer_talk_now=False)
    ana = await database_sync_to_async(make_rep_at)("Ana", switched_off.site, local_hour=12)
    elsewhere = await chat(qualified=True)
    online(ana)

    for conversation in (switched_off, elsewhere):
        _, messages = await run(ActionOfferSlots(), tracker(conversation, "/request_demo", "request_demo"))
        assert slot_buttons(messages[-1]) and TALK_NOW not in messages[-1]["buttons"]


async def test_talk_now_pressed_after_the_rep_left_falls_back_to_the_times(online):
    conversation = await chat(qualified=True)
    await database_sync_to_async(make_rep_at)("Ana", conversation.site, local_hour=12)  # at work, not in the inbox
    offered = [{"event": "bot", "text": "Pick a time", "data": {"buttons": [TALK_NOW]}}]

    _, messages = await run(ActionRequestHandoff(), tracker(conversation, "/request_human", events=offered))

    assert said(messages) == ["utter_talk_now_gone", "utter_offer_instead_of_chat"]
    assert slot_buttons(messages[-1]) and messages[-1]["buttons"][-1] == EMAIL_INSTEAD
    after = await reload(conversation)
    assert after.handoff_requested and after.handoff_unanswered_at is not None


async def test_asking_again_once_a_rep_is_online_alerts_them_and_starts_a_new_wait(online):
    conversation = await chat()
    user = await database_sync_to_async(make_rep)("Ana", conversation.site)
    await run(ActionRequestHandoff(), tracker(conversation))
    await Conversation.objects.filter(pk=conversation.pk).aupdate(handoff_unanswered_at=timezone.now())  # said: nobody
    first = (await reload(conversation)).handoff_requested_at
    online(user)

    _, messages = await run(ActionRequestHandoff(), tracker(conversation, "/request_human"))

    assert said(messages) == ["utter_handoff_joining"]
    after = await reload(conversation)
    assert after.handoff_unanswered_at is None and after.handoff_requested_at > first
