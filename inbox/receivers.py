"""What the inbox does when the chat tells of a change (signals of chatbot.live, connected in InboxConfig.ready).

Both run after the request's commit, in the process that recorded it: the web process, as a "talk to a
person" button's message arrives or as the bot's action runs.
"""

import logging

from chatbot import services as chat_services
from chatbot.models import Conversation
from inbox.notify import handoff_alert_routed, handoff_online_rep
from inbox.tasks import handoff_notify_task

log = logging.getLogger(__name__)


def on_handoff_requested(sender, *, conversation_id: int, **kwargs) -> None:
    """A visitor asked for a person for the first time: alert the routed rep online now, from here (no queue
    between the visitor and the rep's alert); when nobody is online, the worker emails the rep and posts to the
    site's webhook (``handoff_notify``, which also alerts a rep who came online meanwhile)."""
    conversation = Conversation.objects.select_related("site").filter(pk=conversation_id).first()
    if conversation is None or conversation.held_by_id is not None:
        return
    try:
        if handoff_alert_routed(conversation=conversation) is not None:
            return
    except Exception:  # the channel layer or presence (Redis) is away: the worker tries the same
        log.warning("could not alert a rep of conversation %s at once", conversation_id, exc_info=True)
    handoff_notify_task.delay(conversation_id)


def on_handoff_requested_again(sender, *, conversation_id: int, **kwargs) -> None:
    """Asked again after the bot had said nobody could come: if a routed rep is online now, a new wait starts
    and they are alerted. (A request still waiting was alerted when it was made: no second alert.)"""
    conversation = Conversation.objects.select_related("site").filter(pk=conversation_id).first()
    if conversation is None or conversation.held_by_id is not None or conversation.handoff_unanswered_at is None:
        return
    try:
        if handoff_online_rep(conversation=conversation) is None:
            return
        if chat_services.handoff_request_renew(public_id=str(conversation.public_id)):
            handoff_alert_routed(conversation=conversation)
    except Exception:
        log.warning("could not alert a rep of conversation %s's new request", conversation_id, exc_info=True)
