"""Celery tasks of the chat: visitor messages the bot could not answer in time, answered later.

The database is the record of what is still unanswered (pending visitor messages), so a task
lost with the broker (Redis restarted without persistence, a worker killed before it took the
task) costs only time: the sweep queues the conversation again. Tasks are acknowledged late and
safe to run twice (chatbot/turns.py explains why).
"""

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from chatbot import live, rasa_client, selectors, services, turns
from chatbot.models import Conversation, Message

log = logging.getLogger(__name__)


def tasks_eager() -> bool:
    """No worker (the embedded default): tasks run at once in the caller, so nothing can wait in the broker."""
    return bool(conversation_answer_pending.app.conf.task_always_eager)


def max_retry_seconds() -> float:
    """Seconds between tries while no Rasa server answers: RASA_PROBE_SECONDS, doubling up to this (60 s)."""
    return 20 * settings.RASA_PROBE_SECONDS


def marker_seconds() -> float:
    """How long "a task is queued for this conversation" holds without the task renewing it: a task
    lost with the broker stops renewing, and the sweep queues the conversation again after this."""
    return 2 * max_retry_seconds()


def _queued_key(conversation_id: int) -> str:
    return f"chat:answer-queued:{conversation_id}"


def answer_later(*, conversation_id: int) -> None:
    """Queue the conversation's pending messages for the worker, once (a task already queued answers them).

    The marker lives in the cache (Redis): when Redis is down or lost it, a second task may be
    queued, which does no harm.
    """
    try:
        if not cache.add(_queued_key(conversation_id), 1, timeout=marker_seconds()):
            return
    except Exception:
        log.warning("cache unavailable; queueing conversation %s without the once-marker", conversation_id)
    conversation_answer_pending.apply_async((conversation_id,), countdown=settings.RASA_PROBE_SECONDS)


async def _answer(conversation_id: int, public_id: str) -> bool:
    try:
        return await turns.conversation_answer(conversation_id=conversation_id, public_id=public_id)
    finally:
        await rasa_client.session_close()  # this loop ends with the call


@shared_task(bind=True, acks_late=True, max_retries=None)
def conversation_answer_pending(self, conversation_id: int) -> None:
    """Answer the conversation's pending messages in order; try again later while no Rasa server can."""
    public_id = Conversation.objects.filter(pk=conversation_id).values_list("public_id", flat=True).first()
    if public_id is None:
        return
    answered = async_to_sync(_answer)(conversation_id, str(public_id))
    # "Answered" may mean another process holds the conversation and is sending: done only when
    # nothing waits any more (the holder may yet fail), else look again later.
    if answered and selectors.message_next_pending(conversation_id=conversation_id) is None:
        try:
            cache.delete(_queued_key(conversation_id))
        except Exception:
            log.warning("cache unavailable; the once-marker of conversation %s expires by itself", conversation_id)
        return
    if self.request.is_eager:
        return  # without a worker, the sweep (or the visitor's next message or visit) answers it
    try:
        cache.set(_queued_key(conversation_id), 1, timeout=marker_seconds())
    except Exception:
        pass
    countdown = min(max_retry_seconds(), settings.RASA_PROBE_SECONDS * 2**self.request.retries)
    raise self.retry(countdown=countdown)


@shared_task
def conversations_answer_waiting() -> int:
    """Queue every conversation whose pending message nobody is sending (periodic; returns how many)."""
    since = timezone.now() - dt.timedelta(seconds=turns.lease_seconds())
    waiting = selectors.conversations_waiting(since=since)
    for conversation_id in waiting:
        answer_later(conversation_id=conversation_id)
    return len(waiting)


@shared_task
def conversations_answer_now() -> int:
    """A Rasa server is back: queue every conversation waiting for the bot at once, even one whose own
    try is queued with a backed-off countdown (up to a minute away). Running twice is safe: one sender
    at a time (the lease), and a try that finds nothing pending ends."""
    waiting = selectors.conversations_waiting(since=timezone.now())
    for conversation_id in waiting:
        conversation_answer_pending.delay(conversation_id)
    return len(waiting)


def on_rasa_server_back(sender, *, url: str, **kwargs) -> None:
    """Connected to ``live.rasa_server_back`` (ChatbotConfig.ready). Without a worker (eager tasks), the
    visitors' open tabs try again by themselves (``ChatConsumer.retry_while_open``)."""
    if not tasks_eager():
        conversations_answer_now.delay()


# --- Never stranded: a visitor's request for a person that no rep took in time -------------------------


async def handoff_unanswered_say(message: Message) -> None:
    """Show the "nobody came" message in the visitor's open tabs and refresh the inbox rows."""
    public_id = str(message.conversation.public_id)
    await turns.push(public_id, {"type": "chat.bot", "frames": [selectors.message_frame(message)]}, None)
    await live.inbox_touch(site_id=message.conversation.site_id, public_id=public_id)


def handoff_unanswered_check(*, conversation_id: int) -> str:
    """Say "nobody came" when it is due (once: ``services.handoff_unanswered`` decides under a row lock)."""
    message = services.handoff_unanswered(conversation_id=conversation_id)
    if message is None:
        return "not due"
    try:
        async_to_sync(handoff_unanswered_say)(message)
    except Exception:  # stored: the visitor reads it in the history
        log.warning("could not show the handoff notice of %s", conversation_id, exc_info=True)
    return "said"


@shared_task(bind=True, acks_late=True, max_retries=None)
def handoff_unanswered_due(self, conversation_id: int) -> str:
    """Queued when the visitor asks for a person, to run when the site's wait is over: safe to run
    twice or late (it speaks once), and early it waits again."""
    remaining = selectors.handoff_wait_remaining(conversation_id=conversation_id)
    if remaining is None:
        return "nothing to wait for"  # a rep took it, it was said, or nobody asked
    if remaining > 0 and not self.request.is_eager:
        raise self.retry(countdown=remaining)
    return handoff_unanswered_check(conversation_id=conversation_id)


@shared_task
def handoffs_unanswered_overdue() -> int:
    """Periodic: say "nobody came" where the wait is over and its task was lost (a restart, the broker)."""
    said = 0
    for conversation_id in selectors.handoffs_overdue():
        said += handoff_unanswered_check(conversation_id=conversation_id) == "said"
    return said
