"""The bot takes a conversation back from a rep knowing what the visitor told the rep.

While a rep holds a chat the visitor's messages go to the rep, never to Rasa, so the bot's memory
(its tracker's slots) misses whatever the visitor said then: "I'm the CTO, we're about 300 people".
At hand back those messages are read, in order, by the parsers the qualification form uses
(``qualification.parsing.facts_told``, starting from the tracker's slots); what they tell is stored
on the Lead (the rep's meeting email and the scoring read it there) and set in the tracker in the
same request as ``resume``, with the form's next open question, so the bot never resumes without
them and asks only what is still missing. The rep's own messages are not the visitor's facts.
"""

import logging

from chatbot import rasa_client
from chatbot import selectors as chat_selectors
from chatbot.services import message_bot_text
from config.db import db
from qualification import parsing
from qualification import services as qualification_services
from qualification.actions import FORM, REQUESTED_SLOT, next_question, rules_say
from qualification.selectors import site_terms_for_conversation

log = logging.getLogger(__name__)


def told_to_rep(*, public_id: str, known: dict) -> parsing.Extraction:
    """What the visitor's messages of the latest takeover tell, beyond ``known`` (read, not stored)."""
    texts = [
        text
        for text in (message_bot_text(m) for m in chat_selectors.takeover_visitor_messages(public_id=public_id))
        if not text.startswith("/")  # a pressed button is no statement
    ]
    if not texts:
        return parsing.Extraction(slots={}, facts={}, raw={})
    return parsing.facts_told(texts, known=known, site=site_terms_for_conversation(public_id=public_id))


def resume_events(*, public_id: str, tracker: dict) -> list[dict]:
    """The tracker events that carry what the visitor told the rep, after storing it on the Lead.

    ``tracker`` is the conversation's tracker state (``slots``, ``active_loop``). With the form
    open, its next question is set too: the one it had open may have been answered meanwhile, and
    the visitor's next message must not be read as the answer to it. Nothing missing: the form is
    closed, and the next message leads on to the decision (the form opens, finds every answer and
    decides). Nothing told: no event, the bot carries on exactly where it stood.
    """
    slots = dict(tracker.get("slots") or {})
    told = told_to_rep(public_id=public_id, known=slots)
    if not told.slots:
        return []
    qualification_services.lead_record_for_conversation(public_id=public_id, facts=told.facts, raw=told.raw)
    events = [{"event": "slot", "name": name, "value": value} for name, value in told.slots.items()]
    if (tracker.get("active_loop") or {}).get("name") == FORM:
        question = next_question({**slots, **told.slots}, rules=rules_say(public_id=public_id))
        events.append({"event": "slot", "name": REQUESTED_SLOT, "value": question})
        if question is None:
            events.append({"event": "active_loop", "name": None})
    return events


async def bot_resume(*, public_id: str) -> bool:
    """Give the conversation back to the bot, with what the visitor told the rep, in one tracker request.

    False when Rasa's API is off (no RASA_API_TOKEN) or Rasa could not be reached: the tracker is then
    as it was (the Lead may hold the facts already: they are the visitor's words either way), and the
    caller decides (a rep's hand back keeps the chat; a released hold goes on).
    """
    tracker = await rasa_client.tracker_state(conversation_id=public_id)
    if tracker is None:
        return False
    events = await db(resume_events)(public_id=public_id, tracker=tracker)
    if events:
        log.info("hand back of %s carries %s", public_id, ", ".join(str(e.get("name")) for e in events))
    return await rasa_client.tracker_events(conversation_id=public_id, events=[*events, {"event": "resume"}])
