"""The live side of a conversation shared by the widget and the reps' inbox (inbox/).

Group names of the channel layer, and what the visitor reads when a rep joins or leaves
(templates/chatbot/handoff_notice.txt). The inbox listens on one group per site for its live
list (``inbox_site_group``) and on the conversation's own group (``conversation_group``, the
visitor's tabs are in it too) for the transcript of the conversation a rep has open.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import Signal
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
# A visitor asked for a person for the first time in a conversation (sent after commit, with
# ``conversation_id``). The inbox app listens (routing and alerting the rep); chatbot knows no listener.
handoff_requested = Signal()
# The same visitor asked again (a button or words; sent after commit, with ``conversation_id``): the inbox
# alerts a rep who is online now if the bot had already told the visitor nobody could come.
handoff_requested_again = Signal()
# A Rasa server that had been down answers again (sent by the process that noticed, with ``url``): what waits
# for the bot is answered now, not when each queued try's backed-off countdown runs out (chatbot.tasks).
rasa_server_back = Signal()
# What every "talk to a person" button sends: the widget's own, and "Talk now" beside offered times.
# The web process records and routes such a request as it arrives, before the bot answers it.
PERSON_PAYLOAD = "/request_human"
NOTICE_CODES = frozenset({"joined", "left", "unanswered", "unanswered_book", "unanswered_email"})


def conversation_group(public_id: str) -> str:
    return f"conv.{public_id}"


def inbox_site_group(site_id: int) -> str:
    return f"inbox.site.{site_id}"


def notice_text(code: str, **params: object) -> str:
    """What the visitor reads when a rep joins (``joined``), leaves (``left``), or nobody came (``unanswered``,
    with its two buttons' titles)."""
    if code not in NOTICE_CODES:
        raise KeyError(code)
    return render_to_string("chatbot/handoff_notice.txt", {"code": code, **params}).strip()


async def inbox_touch(*, site_id: int, public_id: str) -> None:
    """Tell the inboxes watching this site that a conversation changed (they reload its row).

    The live list is a convenience: a lost nudge (the channel layer's Redis is down) never fails
    the visitor's message or the write behind it; the inbox reads the row on its next change.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(inbox_site_group(site_id), {"type": "inbox.touch", "conversation": public_id})
    except Exception:
        log.warning("inbox nudge for %s failed", public_id, exc_info=True)


def inbox_touch_sync(*, site_id: int, public_id: str) -> None:
    async_to_sync(inbox_touch)(site_id=site_id, public_id=public_id)
