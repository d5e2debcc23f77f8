"""The bot's answer to "can I talk to a person?" (and to "Talk now" beside offered times).

The request is flagged for the team (``chatbot.services.conversation_request_handoff``: the inbox
queues it, the routed rep is alerted or emailed). What the visitor is told depends on the routed reps
(``inbox.notify.handoff_request_prospect``: a first request follows the alert just made):

- one of them has the inbox open: they are asked to join (``utter_handoff_joining``);
- every one of them is outside their working hours: the team is offline, said at once with when it
  is back; a qualified visitor gets the next free times (booking as always) and an email follow-up
  button, anyone else the choice of booking (which asks the questions first) or email;
- "Talk now" pressed when nobody is online any more: the same, honestly, in working hours;
- otherwise (at work, not in the inbox) the bot offers a meeting or email, and the request waits the
  site's time for a rep (the chat consumer says so if nobody came).

In the two "nobody can come now" cases the request stays in the queue, its wait counts on until a rep
takes it, and the later "nobody came" message is not said (``handoff_said_unavailable``).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot import services as chat_services
from config import zones
from config.db import db
from inbox.notify import handoff_request_prospect
from qualification.actions import FORM, end_form_events, reading_of, said_in_a_row
from scheduling import services as scheduling_services
from scheduling.actions import TALK_NOW_PAYLOAD, TALK_NOW_RESPONSE, Reply, domain_button, say_offer
from scheduling.selectors import visitor_zone

HANDOFF_REPLIES = {"utter_handoff", "utter_handoff_email"}


def talk_now_pressed(tracker: Tracker, domain: dict[str, Any]) -> bool:
    """The visitor pressed "Talk now" (not another button or typed words asking for a person): the latest
    bot message with buttons offered it, and its payload came back."""
    if ((tracker.latest_message or {}).get("text") or "").strip() != TALK_NOW_PAYLOAD:
        return False
    talk_now = domain_button(domain, TALK_NOW_RESPONSE, TALK_NOW_PAYLOAD)
    for event in reversed(tracker.events):
        buttons = (event.get("data") or {}).get("buttons") if event.get("event") == "bot" else None
        if buttons:
            return talk_now in buttons
    return False


class ActionRequestHandoff(Action):
    """ "Can I talk to a person?": flag the conversation for the team and tell the visitor what happens now."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if (await reading_of(tracker)).tells_facts:
            # who they are as well: the form keeps the facts and flags the handoff if a person was asked for
            return [FollowupAction(FORM)]
        public_id = tracker.sender_id
        pressed = talk_now_pressed(tracker, domain)
        repeats = said_in_a_row(tracker, HANDOFF_REPLIES)
        zone_slot = tracker.get_slot("timezone")

        def act() -> Reply:
            reply = Reply()
            # recorded and routed (inbox/receivers.py: the rep online is alerted, or one is when the visitor asks
            # again after being told nobody could come); a button's request was recorded as it arrived
            requested = handoff_request_prospect(public_id=public_id)
            conversation, prospect = requested if requested is not None else (None, None)
            if prospect is not None and prospect.online is not None:
                reply.say("utter_handoff_joining")
                return reply
            if prospect is not None and (prospect.off_hours or pressed):
                offer = scheduling_services.slots_offer(conversation=conversation, zone=zone_slot)
                if prospect.off_hours or offer.code != "not_qualified":
                    chat_services.handoff_said_unavailable(public_id=public_id)
                    zone, _ = visitor_zone(conversation=conversation, zone=zone_slot)
                    back = {"back_at": zones.slot_text(prospect.back_at, zone)} if prospect.back_at else {}
                    if offer.code == "not_qualified":
                        reply.say("utter_handoff_offline", **back)  # book (questions first) or email
                        return reply
                    reply.say("utter_team_offline" if prospect.off_hours else "utter_talk_now_gone", **back)
                    say_offer(reply, offer, domain, intro="utter_offer_instead_of_chat", email_instead=True)
                    return reply
            reply.say("utter_handoff" if repeats < 2 else "utter_handoff_email")
            return reply

        said = (await db(act)()).send(dispatcher)
        return [*said, *end_form_events(tracker), SlotSet("off_topic_streak", 0.0)]
