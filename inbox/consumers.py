"""The reps' inbox socket (/ws/inbox/): the live list, one open transcript, take over, hand back.

Frames (JSON), client → server:
  {"type": "open", "conversation": ID}            show this transcript (as it grows); one at a time
  {"type": "take_over", "conversation": ID}       pause the bot; the visitor's messages come to this rep
  {"type": "hand_back", "conversation": ID}       the bot carries on, knowing what the visitor told the rep
  {"type": "message", "conversation": ID, "text": "..."}   only while holding it
  {"type": "typing", "conversation": ID}          the visitor sees "<name> is typing…"
server → client:
  {"type": "list", "me": NAME, "conversations": [ROW, ...]}     on connect, newest activity first
  {"type": "conversation", "row": ROW}                          a row changed (or is new)
  {"type": "alert", "row": ROW}                                 a request for a person routed to this rep
  {"type": "transcript", "conversation": ID, "messages": [...], "row": ROW}
  {"type": "message", "conversation": ID, "message": MESSAGE}    a new message in the open transcript
  {"type": "error", "code": "...", "message": "..."}

Staff only, and only the sites the user sees (inbox/selectors.py). Every frame is bounded and
validated before it is read, like the widget's (chatbot/consumers.py); services run off the loop.
"""

import asyncio
import contextlib
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chatbot import live, rasa_client
from chatbot import presence as chat_presence
from chatbot import selectors as chat_selectors
from chatbot import services as chat_services
from chatbot.errors import ChatError
from chatbot.frames import frame_read, typed_text
from chatbot.tasks import tasks_eager
from config.db import DatabaseOffLoop, db
from inbox import handback, presence, release, selectors, tasks
from inbox.handover import announce
from inbox.notify import user_group

log = logging.getLogger(__name__)
CLOSE_FORBIDDEN = 4403
# Without a worker (the embedded default): releases waiting for a rep who closed the inbox, kept
# referenced until they ran.
_releases: set[asyncio.Task] = set()


class InboxConsumer(DatabaseOffLoop, AsyncJsonWebsocketConsumer):
    user = None
    site_ids: list[int] = []
    open_id: str | None = None
    counted = False
    heartbeat = None  # renews this socket's presence while it is open
    sending = None  # sends the rows of the conversations touched meanwhile (inbox_touch)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.touched: set[str] = set()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
            await self.close(code=CLOSE_FORBIDDEN)  # before accept: the handshake is refused (403)
            return
        self.user = user
        self.site_ids = await db(selectors.inbox_site_ids)(user=user)
        self.name = await db(selectors.rep_display_name)(user=user)
        await self.accept()
        for site_id in self.site_ids:
            await self.channel_layer.group_add(live.inbox_site_group(site_id), self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)  # alerts routed to this rep
        await db(presence.rep_arrive)(user_id=user.pk, socket=self.channel_name)
        self.counted = True
        self.heartbeat = asyncio.create_task(self.beat())
        rows = await db(selectors.inbox_conversations)(user=user, site_ids=self.site_ids)
        await self.send_json({"type": "list", "me": self.name, "conversations": rows})

    async def beat(self) -> None:
        """While the socket is open, renew its presence; a process that died stops, and the rep goes
        offline within PRESENCE_TTL_SECONDS."""
        while True:
            await asyncio.sleep(chat_presence.heartbeat_seconds())
            try:
                await db(presence.rep_arrive)(user_id=self.user.pk, socket=self.channel_name)
            except Exception:  # Redis away for a moment: the next beat tries again
                log.warning("inbox presence heartbeat failed", exc_info=True)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        for task in (self.heartbeat, self.sending):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for site_id in self.site_ids:
            await self.channel_layer.group_discard(live.inbox_site_group(site_id), self.channel_name)
        await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        if self.open_id:
            await self.channel_layer.group_discard(live.conversation_group(self.open_id), self.channel_name)
        if self.counted:
            self.counted = False
            if not await db(presence.rep_leave)(user_id=self.user.pk, socket=self.channel_name):
                await release_later(user_id=self.user.pk)

    async def send_error(self, error: ChatError) -> None:
        await self.send_json({"type": "error", "code": error.code, "message": error.message})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = frame_read(text_data, bytes_data)
        except ChatError as error:
            await self.send_error(error)
            return
        handler = {
            "open": self.on_open,
            "take_over": self.on_take_over,
            "hand_back": self.on_hand_back,
            "message": self.on_message,
            "typing": self.on_typing,
        }.get(frame["type"])
        try:
            if handler is None:
                raise ChatError("unknown_type")
            conversation = frame.get("conversation")
            if not isinstance(conversation, str) or len(conversation) > 64:
                raise ChatError("malformed_frame")
            row = await db(selectors.inbox_conversation)(user=self.user, site_ids=self.site_ids, public_id=conversation)
            if row is None:
                raise ChatError("unknown_conversation")
            await handler(row, frame)
        except ChatError as error:
            await self.send_error(error)

    async def show(self, public_id: str) -> None:
        if self.open_id and self.open_id != public_id:
            await self.channel_layer.group_discard(live.conversation_group(self.open_id), self.channel_name)
        self.open_id = public_id
        await self.channel_layer.group_add(live.conversation_group(public_id), self.channel_name)
        messages = await db(selectors.inbox_transcript)(public_id=public_id)
        row = await db(selectors.inbox_conversation)(user=self.user, site_ids=self.site_ids, public_id=public_id)
        await self.send_json({"type": "transcript", "conversation": public_id, "messages": messages, "row": row})

    async def on_open(self, row: dict, frame: dict) -> None:
        await self.show(row["conversation"])

    async def on_take_over(self, row: dict, frame: dict) -> None:
        public_id = row["conversation"]
        handover = await db(chat_services.conversation_take_over)(
            public_id=public_id, user=self.user, rep_name=self.name
        )
        # The bot's memory records the pause too: it predicts nothing until it is resumed.
        await rasa_client.tracker_event(conversation_id=public_id, event="pause")
        await announce(handover, mode="agent", name=self.name)
        await self.show(public_id)

    async def on_hand_back(self, row: dict, frame: dict) -> None:
        public_id = row["conversation"]
        if not row["mine"]:
            raise ChatError("not_held")
        # the bot resumes knowing what the visitor told the rep (inbox/handback.py)
        if not await handback.bot_resume(public_id=public_id) and settings.RASA_API_TOKEN:
            # a bot that stays paused would leave the visitor unanswered: the rep keeps the chat
            raise ChatError("bot_unavailable")
        handover = await db(chat_services.conversation_hand_back)(public_id=public_id, user_id=self.user.pk)
        await announce(handover, mode="bot", name=None)

    async def on_message(self, row: dict, frame: dict) -> None:
        text = frame.get("text")
        if not isinstance(text, str):
            raise ChatError("malformed_frame")
        text = typed_text(text)
        message = await db(chat_services.message_record_rep)(public_id=row["conversation"], user=self.user, text=text)
        await self.channel_layer.group_send(
            live.conversation_group(row["conversation"]),
            {"type": "chat.rep", "frame": chat_selectors.message_frame(message)},
        )

    async def on_typing(self, row: dict, frame: dict) -> None:
        if row["mine"]:
            await self.channel_layer.group_send(
                live.conversation_group(row["conversation"]), {"type": "chat.rep_typing", "name": self.name}
            )

    # --- group events -------------------------------------------------------
    async def inbox_touch(self, event: dict) -> None:
        """A conversation changed: its row is sent soon, with the others that changed meanwhile, in one read.

        A busy site touches conversations many times a second (every message, every turn); this socket
        handles its events one at a time, so reading each row on its own would leave an alert waiting
        behind a queue of reads. Touches are only noted here; ``send_touched`` reads and sends them.
        """
        self.touched.add(event["conversation"])
        if self.sending is None or self.sending.done():
            self.sending = asyncio.create_task(self.send_touched())

    async def send_touched(self) -> None:
        await asyncio.sleep(settings.INBOX_TOUCH_BATCH_SECONDS)
        while self.touched:
            public_ids, self.touched = list(self.touched), set()
            try:
                rows = await db(selectors.inbox_conversation_rows)(
                    user_id=self.user.pk, site_ids=self.site_ids, public_ids=public_ids
                )
                for row in reversed(rows):  # oldest first: the newest ends on top of the list
                    await self.send_json({"type": "conversation", "row": row})
            except Exception:  # the live list is a convenience: the next change sends the row again
                log.warning("inbox rows of %s could not be sent", public_ids, exc_info=True)

    async def inbox_alert(self, event: dict) -> None:
        """A visitor's request for a person is routed to this rep (inbox/notify.py), with its row."""
        row = event.get("row") or await db(selectors.inbox_conversation)(
            user=self.user, site_ids=self.site_ids, public_id=event["conversation"]
        )
        if row is not None:
            await self.send_json({"type": "alert", "row": row})

    async def transcript_add(self, frame: dict) -> None:
        if self.open_id:
            await self.send_json({"type": "message", "conversation": self.open_id, "message": frame})

    async def chat_visitor(self, event: dict) -> None:
        await self.transcript_add(event["frame"])

    async def chat_bot(self, event: dict) -> None:
        for frame in event["frames"]:
            await self.transcript_add(frame)

    async def chat_rep(self, event: dict) -> None:
        await self.transcript_add(event["frame"])

    async def chat_mode(self, event: dict) -> None:
        await self.transcript_add(event["notice"])

    async def chat_rep_typing(self, event: dict) -> None:
        pass  # for the visitor's widget


async def release_later(*, user_id: int) -> None:
    """The rep's last inbox socket closed: after the grace time, their conversations go back to the bot
    (inbox/release.py). A worker's task keeps the time; without a worker, this process does."""
    if not tasks_eager():
        try:
            await db(tasks.rep_release_if_gone.apply_async)((user_id,), countdown=settings.INBOX_RELEASE_SECONDS)
            return
        except Exception:  # the broker is down: the worker's sweep releases them
            log.exception("could not queue the release of rep %s's conversations", user_id)
            return
    task = asyncio.create_task(release_when_gone(user_id=user_id))
    _releases.add(task)
    task.add_done_callback(_releases.discard)


async def release_when_gone(*, user_id: int) -> None:
    wait = settings.INBOX_RELEASE_SECONDS
    while wait is not None:
        await asyncio.sleep(wait)
        wait = await release.release_if_gone(user_id=user_id)
