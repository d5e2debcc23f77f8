"""A rep who closed the inbox (or whose web process died) gives their conversations back to the bot.

A hold outlives the rep's last inbox socket by INBOX_RELEASE_SECONDS (a reload or a flaky network
keeps it). Then every conversation they held since before they were last seen goes back to the
bot: the hand-back is recorded as abandoned, Rasa's tracker resumes, the visitor is told.

When the last socket closes, a Celery task is queued with that countdown (``inbox.tasks``); a
process that crashed closes nothing, so the worker's periodic sweep looks at every holder too.
Both call ``release_if_gone``, which is safe to run twice or late. Without a worker (the embedded
default) the closing consumer keeps the time itself.
"""

import logging
import time

from django.conf import settings
from django.utils import timezone

from chatbot import services as chat_services
from chatbot.errors import ChatError
from chatbot.models import Conversation, Takeover
from config.db import db
from inbox import handback, presence
from inbox.handover import announce

log = logging.getLogger(__name__)


def holders() -> list[int]:
    """Users holding a conversation now (the sweep asks each whether they are gone)."""
    return list(
        Conversation.objects.filter(held_by__isnull=False).order_by().values_list("held_by_id", flat=True).distinct()
    )


def release_due_in(*, user_id: int) -> float | None:
    """Seconds until this rep's holds are released (0: now); None while the rep is online."""
    if presence.rep_online(user_id=user_id):
        return None
    seen = presence.rep_last_seen(user_id=user_id)
    if seen is None:
        return 0.0
    return max(0.0, seen + settings.INBOX_RELEASE_SECONDS - time.time())


async def release_if_gone(*, user_id: int) -> float | None:
    """Give back the conversations of a rep gone for the grace time. Returns the seconds still to wait
    when it is not time yet, else None (released, nothing held, or the rep is back)."""
    checked = timezone.now()
    due_in = await db(release_due_in)(user_id=user_id)
    if due_in is None:
        return None
    if due_in > 0:
        return due_in
    # Only holds taken before this check: a rep who comes back and takes a conversation meanwhile keeps it.
    since = checked
    for public_id in await db(chat_services.conversations_held_by)(user_id=user_id):
        try:
            handover = await db(chat_services.conversation_hand_back)(
                public_id=public_id, user_id=user_id, ended=Takeover.Ended.ABANDONED, since=since
            )
        except ChatError:
            continue  # taken again since, or handed back meanwhile
        await handback.bot_resume(public_id=public_id)  # with what the visitor told the rep
        await announce(handover, mode="bot", name=None)
    return None
