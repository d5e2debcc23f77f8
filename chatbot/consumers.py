"""The widget's WebSocket: validates frames, calls services, forwards to Rasa."""

import asyncio
import contextlib
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chatbot import abuse, frames, live, presence, selectors, services, tasks, turns
from chatbot.errors import ChatError
from config import zones
from config.db import DatabaseOffLoop, db

log = logging.getLogger(__name__)
MAX_CLIENT_ID_LENGTH = 64
# Close codes after an error frame: 1008 a rule of the protocol was broken, 1013 try again
# later (the widget reconnects and sends its queued messages once admitted).
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
# A socket refused before it was counted against its address is held this long at most.
UNCOUNTED_HOLD_SECONDS = 5.0


group_name = turns.group_name


class ChatConsumer(DatabaseOffLoop, AsyncJsonWebsocketConsumer):
    """One visitor's socket. Abuse limits (chatbot/abuse.py) bound what it may cost:
    sockets per address, `start` frames per socket, a deadline for the first `start`,
    new conversations per address and per site (and per site and day), messages per
    visitor and per address. A refusal is an error frame the widget shows, never silence.
    """

    site = None
    conversation = None
    visitor = None
    socket_counted = False
    start_deadline = None
    closer = None
    closing = False
    closed = False
    answering = None  # the task sending this conversation's pending messages to the bot
    retrying = None  # without a worker (embedded default): this tab tries again while it is open
    handoff_watch = None
    heartbeat = None  # renews this socket's presence ("on the site right now") while it is open
    again = False  # a message arrived for the answering task to send

    async def connect(self) -> None:
        headers = dict(self.scope.get("headers") or [])
        self.origin = headers.get(b"origin", b"").decode("latin-1")
        self.ip = abuse.client_ip(self.scope)
        self.starts = 0
        await self.accept()
        if not abuse.socket_open(ip=self.ip):
            hold = min(UNCOUNTED_HOLD_SECONDS, settings.CHAT_REFUSAL_HOLD_SECONDS)
            await self.refuse(ChatError("too_many_connections"), code=CLOSE_TRY_AGAIN, hold=hold)
            return
        self.socket_counted = True
        self.start_deadline = asyncio.create_task(self.close_unless_started())

    async def close_unless_started(self) -> None:
        """A socket that never sends `start` only holds a connection: close it."""
        await asyncio.sleep(settings.CHAT_START_TIMEOUT_SECONDS)
        if not self.starts:
            await self.refuse(ChatError("start_timeout"), code=CLOSE_POLICY)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        if self.answering is not None and not self.answering.done():
            # A turn in flight is finished (its answer stored for the next visit, or queued), not dropped.
            await asyncio.wait({self.answering}, timeout=settings.RASA_TIMEOUT_SECONDS + 2)
        for task in (
            self.start_deadline,
            self.closer,
            self.answering,
            self.retrying,
            self.handoff_watch,
            self.heartbeat,
        ):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.conversation is not None:
            await self.leave_site()
        if self.socket_counted:
            self.socket_counted = False
            abuse.socket_close(ip=self.ip)
        if self.conversation is not None:
            with contextlib.suppress(Exception):  # the layer may be down; the subscription dies with it
                await self.channel_layer.group_discard(self.group, self.channel_name)

    async def send_error(self, error: ChatError) -> None:
        await self.send_json({"type": "error", "code": error.code, "message": error.message})

    async def refuse(self, error: ChatError, *, code: int, hold: float = 0) -> None:
        """Say why, then close: the socket may not go on.

        With ``hold``, the socket stays open (and deaf) that long before it closes: a refused
        new conversation is held until its window ends, so the widget reconnects once, when
        it will be let in, instead of retrying into the same refusal; and a script that
        reconnects as fast as it can waits as long, holding one of its address's sockets.
        """
        if self.closing:
            return
        self.closing = True
        await self.send_error(error)
        if self.conversation is not None:  # no more frames of the conversation to this socket
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hold > 0:
            self.closer = asyncio.create_task(self.close_later(hold, code))
        else:
            await self.close(code=code)

    async def close_later(self, seconds: float, code: int) -> None:
        await asyncio.sleep(seconds)
        await self.close(code=code)

    def hold_for(self, error: ChatError) -> float:
        """How long a refused socket is held: until the limit's window ends, within the setting."""
        retry_after = error.extra.get("retry_after")
        limit = settings.CHAT_REFUSAL_HOLD_SECONDS
        return min(float(retry_after), limit) if isinstance(retry_after, (int, float)) else limit

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return  # refused: frames still in flight are dropped, not answered
        try:
            await self.receive_json(frames.frame_read(text_data, bytes_data))
        except ChatError as error:
            await self.send_error(error)

    async def receive_json(self, content: dict, **kwargs) -> None:
        handler = {"start": self.on_start, "message": self.on_message}.get(content["type"])
        if handler is None:
            raise ChatError("unknown_type")
        await handler(content)

    async def on_start(self, frame: dict) -> None:
        self.starts += 1
        if self.starts > settings.CHAT_MAX_STARTS_PER_SOCKET:
            await self.refuse(
                ChatError("too_many_starts"), code=CLOSE_POLICY, hold=self.hold_for(ChatError("too_many_starts"))
            )
            return
        site_key = frame.get("site")
        visitor = frame.get("visitor")
        if not isinstance(site_key, str) or (visitor is not None and not isinstance(visitor, str)):
            raise ChatError("malformed_frame")
        visitor_token = (visitor or "")[:64] or None
        retry_after = abuse.conversation_refused_for(ip=self.ip) if visitor_token is None else 0
        if retry_after:
            # Refused moments ago: say so again without a query (a script reconnects at once).
            error = ChatError("too_many_conversations", retry_after=retry_after)
            await self.refuse(error, code=CLOSE_TRY_AGAIN, hold=self.hold_for(error))
            return
        site = await db(services.site_resolve)(embed_key=site_key[:64], origin=self.origin)
        if visitor_token is None or not await db(selectors.session_resumable)(site=site, visitor_token=visitor_token):
            # Only a new conversation costs anything; a visitor coming back is never limited.
            try:
                await db(abuse.conversation_admit)(site_id=site.pk, ip=self.ip)
            except ChatError as error:
                await self.refuse(error, code=CLOSE_TRY_AGAIN, hold=self.hold_for(error))
                return
        timezone_name = zones.zone_clean(frame.get("timezone"))
        if frame.get("timezone") and not timezone_name:
            await self.send_error(ChatError("invalid_timezone"))
        session = await db(services.session_start)(
            site=site,
            visitor_token=visitor_token,
            page_url=services.url_clean(frame.get("page")),
            referrer=services.url_clean(frame.get("referrer")),
            utm=services.utm_clean(frame.get("utm")),
        )
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.leave_site()
        self.site, self.visitor, self.conversation = site, session.visitor, session.conversation
        self.public_id = str(session.conversation.public_id)
        self.group = group_name(self.public_id)
        self.metadata = {
            "timezone": timezone_name or session.conversation.timezone,
            "page": services.url_clean(frame.get("page")),
            "utm": services.utm_clean(frame.get("utm")),
        }
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.arrive_on_site()
        await self.send_session()
        if await db(selectors.message_next_pending)(conversation_id=self.conversation.pk) is not None:
            await self.send_json({"type": "typing"})
            self.answer_pending()  # left waiting while the visitor was away: try now
        await self.watch_handoff()  # a visitor back while their request for a person waits

    async def send_session(self) -> None:
        """The conversation as it stands: the widget shows this history in place of what it showed."""
        await self.send_json(
            {
                "type": "session",
                "visitor": self.visitor.token,
                "conversation": self.public_id,
                "history": await db(selectors.conversation_history)(conversation=self.conversation),
                # the rep chatting with the visitor now (live handoff), else null: the bot answers
                "agent": await db(selectors.conversation_holder)(conversation_id=self.conversation.pk),
                "person_button": self.site.offer_person_button,  # show "Talk to a person" (Site in admin)
            }
        )

    async def on_message(self, frame: dict) -> None:
        if self.conversation is None:
            raise ChatError("no_session")
        text, client_id = frame.get("text"), frame.get("id", "")
        if not isinstance(text, str):
            raise ChatError("malformed_frame")
        if client_id is None:
            client_id = ""
        if not isinstance(client_id, (str, int)) or len(str(client_id)) > MAX_CLIENT_ID_LENGTH:
            raise ChatError("invalid_id")
        # Admitted, stored, for the rep while one holds the chat (live handoff: the bot is paused, and the
        # message reaches the rep's open transcript like any other, see ``chat_visitor``), and a "talk to
        # a person" button's request routed: one trip to the database (services.message_receive).
        recorded = await db(services.message_receive)(
            conversation=self.conversation,
            visitor_id=self.visitor.pk,
            ip=self.ip,
            text=frames.typed_text(text),
            client_id=str(client_id),
        )
        if recorded.duplicate:
            return  # a retried frame: the first copy is already being answered
        for_rep = recorded.for_rep
        visitor_frame = selectors.message_frame(recorded.message)
        try:
            await self.channel_layer.group_send(
                self.group, {"type": "chat.visitor", "frame": visitor_frame, "origin_channel": self.channel_name}
            )
        except Exception:  # the layer (Redis) is down: the other tabs read it in the history
            log.exception("could not show message %s to the other tabs", recorded.message.pk)
        await live.inbox_touch(site_id=self.site.pk, public_id=self.public_id)
        if for_rep:
            return
        await self.send_json({"type": "typing"})
        self.answer_pending()

    async def arrive_on_site(self) -> None:
        """The visitor is on the site now (the reps' inbox queues a qualified one): counted per socket,
        renewed while the socket is open, gone within PRESENCE_TTL_SECONDS if this process dies."""
        await self.here(self.conversation.pk, renewal=False)
        self.heartbeat = asyncio.create_task(self.beat(self.conversation.pk))
        with contextlib.suppress(Exception):  # the live list is a convenience
            await live.inbox_touch(site_id=self.site.pk, public_id=self.public_id)

    async def here(self, conversation_id: int, *, renewal: bool) -> None:
        try:
            known = await db(presence.visitor_arrive)(conversation_id=conversation_id, socket=self.channel_name)
        except Exception:  # Redis away for a moment: the next beat tries again
            log.warning("visitor presence heartbeat failed", exc_info=True)
            return
        if renewal and not known and not self.closing:
            # Redis lost this socket's entry: it restarted, and what the channel layer carried while its
            # subscriptions were coming back (a second or two) never reached this tab. The tab catches up
            # from the database (it shows each message once, by id).
            log.warning("presence of %s was lost (Redis restarted?): sending the conversation again", self.public_id)
            await self.send_session()

    async def beat(self, conversation_id: int) -> None:
        while True:
            await asyncio.sleep(presence.heartbeat_seconds())
            await self.here(conversation_id, renewal=True)

    async def leave_site(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
            self.heartbeat = None
        with contextlib.suppress(Exception):  # Redis away: the entry runs out by itself
            await db(presence.visitor_leave)(conversation_id=self.conversation.pk, socket=self.channel_name)
            await live.inbox_touch(site_id=self.site.pk, public_id=self.public_id)

    async def watch_handoff(self) -> None:
        """Never stranded, without a worker: once the visitor has asked for a person, wait the site's time
        for a rep; if none took the chat by then, the bot says so and offers a meeting or email (services).

        With a worker this is a Celery task queued when the visitor asked (``services.handoff_watch``),
        which a restart of this process does not lose; only the embedded default (eager tasks, no
        worker) keeps the time here, in the open tab, as it does for retries (``retry_while_open``).
        """
        if not tasks.tasks_eager():
            return
        if self.handoff_watch is not None and not self.handoff_watch.done():
            return
        remaining = await db(selectors.handoff_wait_remaining)(conversation_id=self.conversation.pk)
        if remaining is not None:
            self.handoff_watch = asyncio.create_task(self.handoff_unanswered_after(remaining))

    async def handoff_unanswered_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        message = await db(services.handoff_unanswered)(conversation_id=self.conversation.pk)
        if message is not None and not self.closing:
            await turns.push(self.public_id, {"type": "chat.bot", "frames": [selectors.message_frame(message)]}, self)
            await live.inbox_touch(site_id=self.site.pk, public_id=self.public_id)

    def answer_pending(self) -> None:
        """Send the conversation's pending messages to the bot, in order, while this socket reads on.

        One task per socket at a time. A message stored while it runs sets ``again`` (here, with no
        await between the flag and the check), and the task goes round once more before it ends, so a
        message never waits for a task that had already looked for pending messages.
        """
        self.again = True
        if self.answering is None or self.answering.done():
            self.answering = asyncio.create_task(self.answer())

    async def answer(self) -> bool:
        """True when nothing is left waiting on this socket's account (see ``turns.conversation_answer``)."""
        answered = True
        while self.again and answered:
            self.again = False
            try:
                answered = await turns.conversation_answer(
                    conversation_id=self.conversation.pk, public_id=self.public_id, metadata=self.metadata, tab=self
                )
            except Exception:  # the message is stored and pending: the worker's sweep answers it
                log.exception("answering conversation %s failed", self.public_id)
                return False
            if answered:
                await live.inbox_touch(site_id=self.site.pk, public_id=self.public_id)  # the turn may score the lead
                await self.watch_handoff()
        if answered:
            return True
        if tasks.conversation_answer_pending.app.conf.task_always_eager:
            if self.retrying is None or self.retrying.done():
                self.retrying = asyncio.create_task(self.retry_while_open())
        else:
            try:
                await db(tasks.answer_later)(conversation_id=self.conversation.pk)
            except Exception:  # the broker is down: the worker's sweep finds the queued message
                log.exception("could not queue conversation %s for the worker", self.public_id)
        return False

    async def retry_while_open(self) -> None:
        """No worker to queue the turn for (the embedded default): try again while the tab is open.

        Each try goes through the one answering loop (``answer_pending``), so a retry and a message the
        visitor sends meanwhile never send turns side by side.
        """
        delay = settings.RASA_PROBE_SECONDS
        while not self.closed:
            await asyncio.sleep(delay)
            if self.answering is None or self.answering.done():
                self.answer_pending()
                # asyncio.wait, not await: cancelling this retry must not cancel the answering task with it
                await asyncio.wait({self.answering})
                if not self.answering.cancelled() and self.answering.exception() is None and self.answering.result():
                    return
            delay = min(delay * 2, tasks.max_retry_seconds())

    # --- group events -------------------------------------------------------
    async def chat_visitor(self, event: dict) -> None:
        # Other tabs of the same visitor show what was typed here.
        if event.get("origin_channel") != self.channel_name:
            await self.send_json({"type": "visitor", **event["frame"]})

    async def chat_bot(self, event: dict) -> None:
        # The tab that asked already has these (turns.push).
        if event.get("origin_channel") != self.channel_name:
            for frame in turns.event_frames(event):
                await self.send_json(frame)

    chat_notice = chat_bot

    # --- live handoff (the rep's inbox sends these to the conversation's group) ----------------
    async def chat_rep(self, event: dict) -> None:
        frame = event["frame"]
        await self.send_json({"type": "agent", "id": frame["id"], "text": frame["text"], "name": frame["name"]})

    async def chat_rep_typing(self, event: dict) -> None:
        await self.send_json({"type": "agent_typing", "name": event["name"]})

    async def chat_mode(self, event: dict) -> None:
        # A rep joined ("agent", with their name) or left ("bot"); the notice is stored in the transcript.
        await self.send_json({"type": "mode", "mode": event["mode"], "name": event["name"], "notice": event["notice"]})
