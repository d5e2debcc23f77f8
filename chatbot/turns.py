"""Answering a conversation's pending visitor messages: in the order sent, each once, none lost.

A visitor message is stored (pending) before anything else happens to it. Then whoever holds
the conversation's lease (``services.conversation_lease_take``: the web process whose tab sent
it, another web process whose tab sent the next one, or a worker) sends the pending messages to
the bot one after another, oldest first, and stores and pushes each answer to every open tab
of the conversation through the channel layer; a tab that is closed reads it in the history on
its next visit. A message sent while earlier ones wait simply queues behind them.

When the bot is slow the tabs get a "still thinking" notice after CHAT_STILL_THINKING_SECONDS;
when it does not answer within RASA_TIMEOUT_SECONDS (or no Rasa server is up) the message is
queued, the visitor is told once (a system message, kept in the history) that it will be
answered here later, and a Celery task (``chatbot.tasks``) answers it once a server can. Sending a message again is safe: Rasa answers a message id it has
already handled from its record (chatbot/rasa_plugins/channel.py), and storing an answer twice
stores nothing the second time (``services.message_record_bot_replies``). A worker's sweep picks
up what a dead process or a lost task left pending.

"Still thinking" is a ``{"type": "notice", "code": ..., "message": ...}`` frame, shown where the
typing dots were and not kept; the words of both are in templates/chatbot/error_message.txt.
"""

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from chatbot import rasa_client, selectors, services
from chatbot.errors import error_text
from chatbot.live import conversation_group
from chatbot.models import Message
from config.db import db

log = logging.getLogger(__name__)


class Tab(Protocol):
    """The open socket whose message started this: answered directly, not through the layer."""

    channel_name: str
    closed: bool

    async def send_json(self, content: dict, close: bool = False) -> None: ...


group_name = conversation_group  # the conversation's group: the visitor's tabs and the rep's open transcript


def lease_seconds() -> float:
    """Long enough for one turn, with a retry on another server; a dead holder's lease runs out after it."""
    return 2 * settings.RASA_TIMEOUT_SECONDS + 10


async def push(public_id: str, event: dict, tab: Tab | None) -> None:
    """To the asking tab directly, to every other tab of the conversation through the channel layer.

    The tab that asked must not depend on the layer for its answer (a layer can drop a group
    message, django/channels#1683); and a worker has no tab, so everything goes to the group.
    """
    if tab is not None and not tab.closed:
        for frame in event_frames(event):
            await tab.send_json(frame)
    try:
        await get_channel_layer().group_send(
            group_name(public_id), {**event, "origin_channel": tab.channel_name if tab is not None else ""}
        )
    except Exception:  # the answer is stored: a tab that missed it reads it on its next visit
        log.exception("could not push to the tabs of %s", public_id)


def event_frames(event: dict) -> list[dict]:
    """The widget frames of a group event (``chat.bot`` or ``chat.notice``)."""
    if event["type"] == "chat.bot":
        return [{"type": "bot", **frame} for frame in event["frames"]]
    return [{"type": "notice", "code": event["code"], "message": event["message"]}]


async def notice(public_id: str, code: str, tab: Tab | None) -> None:
    await push(public_id, {"type": "chat.notice", "code": code, "message": error_text(code)}, tab)


async def conversation_answer(
    *, conversation_id: int, public_id: str, metadata: dict | None = None, tab: Tab | None = None
) -> bool:
    """Answer the conversation's waiting messages, oldest first, until none is left.

    True when nothing is left waiting on this call's account (answered, or another process holds
    the lease and answers them); False when the bot could not answer and the rest waits for later.
    Two trips to the database per turn: claim (or the previous turn's record) and record.
    """
    owner = uuid.uuid4().hex
    seconds = lease_seconds()
    message = await db(services.conversation_turn_claim)(conversation_id=conversation_id, owner=owner, seconds=seconds)
    if message is None:
        return True
    try:
        if metadata is None:
            conversation = await db(selectors.conversation_by_public_id)(public_id)
            metadata = selectors.bot_metadata(conversation=conversation)
        while message is not None:
            try:
                turn = await _bot_turn(message, public_id=public_id, metadata=metadata, tab=tab)
            except rasa_client.BotUnavailable:
                told = await db(services.message_queue_for_later)(
                    visitor_message=message, text=error_text("answer_later")
                )
                await db(services.conversation_lease_release)(conversation_id=conversation_id, owner=owner)
                if told is not None:
                    await push(public_id, {"type": "chat.bot", "frames": [selectors.message_frame(told)]}, tab)
                return False
            stored, message = await db(services.turn_record_and_next)(
                visitor_message=message,
                replies=turn.replies,
                interpretation=turn.interpretation,
                owner=owner,
                seconds=seconds,
            )
            if stored:
                frames = [selectors.message_frame(m) for m in stored]
                await push(public_id, {"type": "chat.bot", "frames": frames}, tab)
    except BaseException:
        # Not answered here (cancelled, the database went away): free the conversation for the next
        # sender now rather than when the lease runs out; what waits stays stored for it.
        with contextlib.suppress(Exception):
            await db(services.conversation_lease_release)(conversation_id=conversation_id, owner=owner)
        raise
    return True


async def _bot_turn(message: Message, *, public_id: str, metadata: dict, tab: Tab | None) -> rasa_client.BotTurn:
    """One message to the bot; the tabs hear "still thinking" when it takes a while."""
    turn = asyncio.ensure_future(
        rasa_client.bot_send(
            conversation_id=public_id,
            text=services.message_bot_text(message),
            metadata=metadata,
            message_id=str(message.pk),
        )
    )
    try:
        done, _ = await asyncio.wait({turn}, timeout=settings.CHAT_STILL_THINKING_SECONDS)
        if not done:
            await notice(public_id, "still_thinking", tab)
        return await turn
    finally:
        if not turn.done():
            turn.cancel()
