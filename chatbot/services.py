"""Writes for the chat: sites, visitors, conversations and messages.

Every function owns its transaction and is called by the consumer through
database_sync_to_async; nothing here knows about WebSockets.
"""

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Now
from django.template.loader import render_to_string
from django.utils import timezone

from chatbot import abuse, live, selectors
from chatbot.bot_input import text_for_bot
from chatbot.errors import ChatError
from chatbot.models import Conversation, Message, Site, Takeover, Visitor
from chatbot.widget import WORDS_TEMPLATE
from config import zones

log = logging.getLogger(__name__)
VISITOR_TOKEN_BYTES = 24
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def origin_normalize(origin: str) -> str:
    """scheme://host[:port] in lower case, default ports dropped; '' when unusable."""
    parts = urlsplit((origin or "").strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return ""
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def site_resolve(*, embed_key: str, origin: str) -> Site:
    site = Site.objects.filter(embed_key=embed_key, is_active=True).first()
    if site is None:
        raise ChatError("unknown_site")
    allowed = {origin_normalize(o) for o in site.origin_list()}
    normalized = origin_normalize(origin)
    if not normalized or normalized not in allowed:
        raise ChatError("origin_not_allowed")
    return site


def utm_clean(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: str(value[k])[:200] for k in UTM_KEYS if isinstance(value.get(k), (str, int))}


def url_clean(value: object) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        return ""
    return value if urlsplit(value).scheme in {"http", "https"} else ""


@dataclass(frozen=True)
class Session:
    visitor: Visitor
    conversation: Conversation
    created: bool


def site_admit_conversation(*, site: Site) -> None:
    """Refuse a new conversation once the site has had its daily cap of them (UTC day).

    Counted in the database, so the cap holds at exactly the figure admin shows. Called
    inside the starting transaction; the site's row lock (NO KEY UPDATE, which the
    visitor's and conversation's foreign keys do not wait for) makes concurrent starts
    count one after another.
    """
    if not site.daily_conversation_limit:
        return
    limit = (
        Site.objects.select_for_update(no_key=True).values_list("daily_conversation_limit", flat=True).get(pk=site.pk)
    )
    if limit and selectors.site_conversations_today(site=site) >= limit:
        raise ChatError("site_daily_limit")


@transaction.atomic
def session_start(
    *,
    site: Site,
    visitor_token: str | None,
    page_url: str = "",
    referrer: str = "",
    utm: dict | None = None,
) -> Session:
    """Resume the visitor's open conversation on this site, or start a new one.

    The browser's time zone is not stored here: it travels to Rasa as message
    metadata and the bot's session-start action records it (chatbot/actions.py).
    A token from another site or one we never issued gets a fresh visitor: the
    token is a bearer secret and must not let one site read another's chats.
    """
    visitor = None
    if visitor_token:
        visitor = Visitor.objects.filter(token=visitor_token, site=site).first()
    if visitor is None:
        visitor = Visitor.objects.create(site=site, token=secrets.token_urlsafe(VISITOR_TOKEN_BYTES))
    else:
        visitor.save(update_fields=["last_seen"])

    conversation = (
        Conversation.objects.select_for_update()
        .filter(visitor=visitor, site=site, status=Conversation.Status.ACTIVE)
        .order_by("-started_at")
        .first()
    )
    if conversation is not None:
        return Session(visitor=visitor, conversation=conversation, created=False)

    site_admit_conversation(site=site)
    conversation = Conversation.objects.create(
        site=site,
        visitor=visitor,
        page_url=page_url,
        referrer=referrer,
        utm=utm or {},
    )
    Message.objects.create(conversation=conversation, sender=Message.Sender.BOT, text=site.welcome_message)
    return Session(visitor=visitor, conversation=conversation, created=True)


@dataclass(frozen=True)
class RecordedMessage:
    message: Message
    duplicate: bool


def visitor_text_resolve(*, conversation: Conversation, text: str) -> tuple[str, str]:
    """(text people read, what the bot receives when it differs, else '') for what the widget sent.

    A pressed button arrives as its payload ('/choose_slot{...}'): the transcript keeps
    the button's title and the bot gets the payload, an intent, but only when it equals
    a button of the bot's last message with buttons (the only ones the widget shows).
    Anything else reaches the bot through ``text_for_bot``, as plain words that cannot
    name an intent, set slots or skip the qualification.
    """
    last_buttons = (
        Message.objects.filter(conversation=conversation, sender=Message.Sender.BOT)
        .exclude(buttons=[])
        .order_by("-created_at", "-id")
        .values_list("buttons", flat=True)
        .first()
    )
    for button in last_buttons or []:
        if isinstance(button, dict) and button.get("payload") and button.get("payload") == text:
            return str(button.get("title") or text)[:500], text
    if text == live.PERSON_PAYLOAD:
        # the widget's own "talk to a person" button (the site can switch it off in admin): shown as its title
        return render_to_string(WORDS_TEMPLATE, {"word": "person"}).strip()[:500], text
    for_bot = text_for_bot(text)
    return text, "" if for_bot == text else for_bot[:500]


def message_bot_text(message: Message) -> str:
    """What Rasa receives for a stored visitor message.

    An offered button's payload (the only stored payload that starts with '/', see
    ``visitor_text_resolve``) as it is; anything typed through ``text_for_bot``, here at
    the one place the text leaves for the bot.
    """
    if message.payload.startswith("/"):
        return message.payload
    return text_for_bot(message.text)


def message_record_visitor(*, conversation: Conversation, text: str, client_id: str) -> RecordedMessage:
    """Store the visitor's message before anything else happens to it.

    A retried frame (same client id) returns the stored message instead of a
    second copy, so a flaky connection never duplicates a turn.
    """
    shown, payload = visitor_text_resolve(conversation=conversation, text=text)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                sender=Message.Sender.VISITOR,
                text=shown,
                payload=payload,
                client_id=client_id,
                delivery=Message.Delivery.PENDING,
            )
            Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now())
    except IntegrityError:
        existing = Message.objects.get(conversation=conversation, client_id=client_id)
        return RecordedMessage(message=existing, duplicate=True)
    return RecordedMessage(message=message, duplicate=False)


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict]


@dataclass(frozen=True)
class Interpretation:
    """Rasa's reading of a visitor message, and the form question the bot asked after it."""

    intent: str
    confidence: float | None
    entities: list[dict]
    requested_slot: str


NO_INTERPRETATION = Interpretation(intent="", confidence=None, entities=[], requested_slot="")


@transaction.atomic
def message_record_bot_replies(
    *, visitor_message: Message, replies: list[BotReply], interpretation: Interpretation = NO_INTERPRETATION
) -> list[Message]:
    """Store one bot turn: the replies, and the visitor message labelled with Rasa's intent.

    The bot's last reply carries the form question it asked (what analytics counts
    drop-offs by). Safe to run twice: a message already answered (by another process that
    sent it too) stores nothing more and returns [].
    """
    answered = Message.objects.filter(pk=visitor_message.pk, delivery__in=selectors.WAITING).update(
        delivery=Message.Delivery.DELIVERED,
        intent=interpretation.intent[:100],
        confidence=interpretation.confidence,
        entities=interpretation.entities,
    )
    if not answered:
        return []
    last = len(replies) - 1
    stored = Message.objects.bulk_create(
        Message(
            conversation_id=visitor_message.conversation_id,
            sender=Message.Sender.BOT,
            text=reply.text,
            buttons=reply.buttons,
            asked_slot=interpretation.requested_slot[:64] if i == last else "",
        )
        for i, reply in enumerate(replies)
    )
    Conversation.objects.filter(pk=visitor_message.conversation_id).update(last_activity_at=timezone.now())
    return stored


@transaction.atomic
def message_queue_for_later(*, visitor_message: Message, text: str) -> Message | None:
    """The bot could not answer in time: this message, and those sent after it, wait for a worker.

    The visitor is told once for each message newly queued (a message sent while earlier ones
    wait is queued behind them, and said so). Returns the stored notice, or None when nothing was
    newly queued (a retry of messages queued already).
    """
    queued = Message.objects.filter(
        conversation_id=visitor_message.conversation_id,
        delivery=Message.Delivery.PENDING,
        sender=Message.Sender.VISITOR,
    ).update(delivery=Message.Delivery.QUEUED)
    if not queued:
        return None
    return Message.objects.create(
        conversation_id=visitor_message.conversation_id, sender=Message.Sender.SYSTEM, text=text
    )


def conversation_lease_take(*, conversation_id: int, owner: str, seconds: float) -> bool:
    """Become (or stay) the one sending this conversation's pending messages to the bot, for ``seconds``.

    One conditional UPDATE: free, expired (its holder died) or already ours. Whoever holds it
    sends every pending message, oldest first, so turns reach the bot in the order they were sent
    whichever web process or worker took them in.
    """
    now = timezone.now()
    free = Q(bot_lease_until__isnull=True) | Q(bot_lease_until__lt=now) | Q(bot_lease_owner=owner)
    updated = Conversation.objects.filter(free, pk=conversation_id).update(
        bot_lease_owner=owner, bot_lease_until=now + dt.timedelta(seconds=seconds)
    )
    return updated == 1


def conversation_lease_release(*, conversation_id: int, owner: str) -> None:
    Conversation.objects.filter(pk=conversation_id, bot_lease_owner=owner).update(
        bot_lease_owner="", bot_lease_until=None
    )


@transaction.atomic
def conversation_turn_claim(*, conversation_id: int, owner: str, seconds: float) -> Message | None:
    """Take the conversation's lease and its oldest waiting message, in one transaction.

    None when another process holds the lease (it sends our message too) or nothing waits (then
    the lease is not kept).
    """
    if not conversation_lease_take(conversation_id=conversation_id, owner=owner, seconds=seconds):
        return None
    message = selectors.message_next_pending(conversation_id=conversation_id)
    if message is None:
        conversation_lease_release(conversation_id=conversation_id, owner=owner)
    return message


@transaction.atomic
def conversation_turn_next(*, conversation_id: int, owner: str, seconds: float) -> Message | None:
    """Let go of the lease unless a message waits; then keep it and return that message.

    The release comes first and the look second, in one transaction: a message stored by another
    process that found the lease taken is seen here (it was committed before that process tried),
    and one stored later finds the lease free; so no message is left waiting with nobody sending it.
    """
    conversation_lease_release(conversation_id=conversation_id, owner=owner)
    message = selectors.message_next_pending(conversation_id=conversation_id)
    if message is None or not conversation_lease_take(conversation_id=conversation_id, owner=owner, seconds=seconds):
        return None
    return message


@transaction.atomic
def turn_record_and_next(
    *,
    visitor_message: Message,
    replies: list[BotReply],
    interpretation: Interpretation,
    owner: str,
    seconds: float,
) -> tuple[list[Message], Message | None]:
    """One answered turn stored, and the next waiting message of the conversation (lease kept) or None."""
    stored = message_record_bot_replies(visitor_message=visitor_message, replies=replies, interpretation=interpretation)
    following = conversation_turn_next(conversation_id=visitor_message.conversation_id, owner=owner, seconds=seconds)
    return stored, following


def conversation_set_timezone(*, public_id: str, timezone_name: str) -> bool:
    """Called by the bot's session-start action with the browser's zone."""
    cleaned = zones.zone_clean(timezone_name)
    if not cleaned:
        return False
    return Conversation.objects.filter(public_id=public_id).update(timezone=cleaned) == 1


def conversation_request_handoff(*, public_id: str) -> bool:
    """The visitor asked for a person: flag the conversation for the team (admin lists it, the inbox
    queues it on top). The first request's time stays: the wait is counted from it."""
    with transaction.atomic():
        rows = list(
            Conversation.objects.filter(public_id=public_id).values_list("pk", "site_id", "handoff_requested_at")
        )
        if not rows:
            return False
        pk, site_id, asked_before = rows[0]
        Conversation.objects.filter(pk=pk).update(
            handoff_requested=True, handoff_requested_at=Coalesce(F("handoff_requested_at"), Now())
        )
        transaction.on_commit(lambda: live.inbox_touch_sync(site_id=site_id, public_id=str(public_id)))
        if asked_before is None:
            transaction.on_commit(lambda: live.handoff_requested.send(sender=Conversation, conversation_id=pk))
            transaction.on_commit(lambda: handoff_watch(conversation_id=pk))
        else:
            transaction.on_commit(lambda: live.handoff_requested_again.send(sender=Conversation, conversation_id=pk))
    return True


def handoff_said_unavailable(*, public_id: str) -> bool:
    """The bot told the visitor at once that nobody can chat now (the team is outside its working hours, or
    the rep who was online left): the request stays in the queue and its wait counts on, but the "nobody
    came" message is not said again later. False when nothing was waiting (no request, said already, held)."""
    now = timezone.now()
    told = Conversation.objects.filter(
        public_id=public_id,
        handoff_requested_at__isnull=False,
        handoff_unanswered_at__isnull=True,
        held_by__isnull=True,
    ).update(handoff_unanswered_at=now, last_activity_at=now)
    return told == 1


def handoff_request_renew(*, public_id: str) -> bool:
    """Asked for a person again after the bot had said nobody could come, now that a rep can: a new wait
    starts (the site's wait before "nobody came", the wait a takeover records). False when the earlier
    request was still waiting (its wait goes on) or there was none."""
    renewed = Conversation.objects.filter(
        public_id=public_id, handoff_unanswered_at__isnull=False, held_by__isnull=True
    ).update(handoff_requested=True, handoff_requested_at=Now(), handoff_unanswered_at=None)
    if renewed:  # the new wait gets its own "nobody came" check
        pk = Conversation.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
        transaction.on_commit(lambda: handoff_watch(conversation_id=pk))
    return renewed == 1


def handoff_watch(*, conversation_id: int) -> None:
    """Never stranded: have a worker check, when the site's wait is over, whether a rep came
    (``chatbot.tasks.handoff_unanswered_due``, queued with that countdown; the sweep catches a lost one).

    Without a worker (the embedded default, eager tasks) the visitor's open tab keeps the time instead
    (``ChatConsumer.watch_handoff``).
    """
    from chatbot import tasks  # tasks build on the services (turns): imported when used

    if tasks.tasks_eager():
        return
    remaining = selectors.handoff_wait_remaining(conversation_id=conversation_id)
    if remaining is None:
        return
    try:
        tasks.handoff_unanswered_due.apply_async((conversation_id,), countdown=remaining)
    except Exception:  # the broker is down: the sweep (handoffs_unanswered_overdue) says it when due
        log.exception("could not queue the handoff wait of %s", conversation_id)


@dataclass(frozen=True)
class Handover:
    """A change of who answers a conversation: the record, and the notice the visitor reads."""

    conversation: Conversation
    takeover: Takeover
    notice: Message


def conversation_take_over(*, public_id: str, user, rep_name: str) -> Handover:
    """A rep takes the conversation: from now on the visitor's messages go to them, not to the bot.

    One holder at a time, enforced by PostgreSQL: the take is one conditional UPDATE (``held_by IS
    NULL``), so of two reps clicking at once exactly one row update succeeds; a partial unique index
    (``takeover_one_open``) backs it. Taking a conversation one already holds is a no-op.
    """
    now = timezone.now()
    with transaction.atomic():
        taken = Conversation.objects.filter(
            public_id=public_id, held_by__isnull=True, status=Conversation.Status.ACTIVE
        ).update(held_by=user, held_by_name=rep_name, held_since=now)
        conversation = Conversation.objects.filter(public_id=public_id).first()
        if conversation is None:
            raise ChatError("unknown_conversation")
        if not taken:
            if conversation.held_by_id == user.pk:
                takeover = conversation.takeovers.get(released_at__isnull=True)
                notice = conversation.messages.filter(sender=Message.Sender.SYSTEM).order_by("-id").first()
                return Handover(conversation=conversation, takeover=takeover, notice=notice)
            if conversation.held_by_id is None:
                raise ChatError("conversation_closed")
            raise ChatError("already_held", name=conversation.held_by_name)
        asked = conversation.handoff_requested_at
        takeover = Takeover.objects.create(
            conversation=conversation,
            rep=user,
            rep_name=rep_name,
            taken_at=now,
            waited_seconds=(now - asked).total_seconds() if asked else None,
        )
        notice = Message.objects.create(
            conversation=conversation, sender=Message.Sender.SYSTEM, text=live.notice_text("joined", name=rep_name)
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now)
    return Handover(conversation=conversation, takeover=takeover, notice=notice)


def conversation_hand_back(
    *, public_id: str, user_id: int, ended: str = Takeover.Ended.HANDED_BACK, since=None
) -> Handover:
    """The rep gives the conversation back to the bot (or, ``ended=abandoned``, their inbox closed).

    With ``since``, only a hold taken before that time is released (a rep who came back and took the
    conversation again after their inbox closed keeps it).
    """
    now = timezone.now()
    with transaction.atomic():
        held = Conversation.objects.filter(public_id=public_id, held_by_id=user_id)
        if since is not None:
            held = held.filter(held_since__lte=since)
        conversation = held.select_for_update().first()
        if conversation is None:
            raise ChatError("not_held")
        name = conversation.held_by_name
        Conversation.objects.filter(pk=conversation.pk).update(
            held_by=None, held_by_name="", held_since=None, last_activity_at=now
        )
        takeover = conversation.takeovers.select_for_update().get(released_at__isnull=True)
        takeover.released_at, takeover.ended = now, ended
        takeover.save(update_fields=["released_at", "ended"])
        notice = Message.objects.create(
            conversation=conversation, sender=Message.Sender.SYSTEM, text=live.notice_text("left", name=name)
        )
    conversation.held_by_id, conversation.held_by_name = None, ""
    return Handover(conversation=conversation, takeover=takeover, notice=notice)


def conversations_held_by(*, user_id: int) -> list[str]:
    return [str(p) for p in Conversation.objects.filter(held_by_id=user_id).values_list("public_id", flat=True)]


def message_record_rep(*, public_id: str, user, text: str) -> Message:
    """A message the holding rep typed, marked as the rep's (author and the name the visitor saw)."""
    with transaction.atomic():
        conversation = Conversation.objects.filter(public_id=public_id, held_by=user).first()
        if conversation is None:
            raise ChatError("not_held")
        message = Message.objects.create(
            conversation=conversation,
            sender=Message.Sender.REP,
            text=text,
            author=user,
            author_name=conversation.held_by_name,
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now())
    return message


@dataclass(frozen=True)
class ReceivedMessage:
    message: Message
    duplicate: bool  # a retried frame: the first copy is already being answered
    for_rep: bool  # a rep holds the conversation: the rep answers it, the bot never sees it


def message_receive(
    *, conversation: Conversation, visitor_id: int, ip: str, text: str, client_id: str
) -> ReceivedMessage:
    """What happens to a visitor's message before the bot's turn, in one trip off the event loop: admitted
    (``abuse.message_admit``, ChatError("rate_limited") when not), stored, marked for the rep who holds the
    conversation, and a "talk to a person" button's request recorded and routed now (the rep's alert waits
    for nothing else; the bot's answer follows as usual, and its action finds the request recorded).

    One trip, not four: each is a thread hop and a connection check, and in a burst the visitors' trips
    queued for the threads stage by stage, so the first request's alert waited for every visitor's earlier
    stages.
    """
    abuse.message_admit(visitor_id=visitor_id, ip=ip)
    recorded = message_record_visitor(conversation=conversation, text=text, client_id=client_id)
    if recorded.duplicate:
        return ReceivedMessage(message=recorded.message, duplicate=True, for_rep=False)
    for_rep = message_mark_for_rep(message=recorded.message)
    if not for_rep and recorded.message.payload == live.PERSON_PAYLOAD:
        try:
            conversation_request_handoff(public_id=str(conversation.public_id))
        except Exception:  # the bot's action records it when it answers the message
            log.exception("could not record the request for a person in %s at once", conversation.public_id)
    return ReceivedMessage(message=recorded.message, duplicate=False, for_rep=for_rep)


def message_mark_for_rep(*, message: Message) -> bool:
    """A visitor message of a held conversation: the rep reads it, the bot never does.

    False when the conversation is not held (any more): the message goes to the bot as usual.
    Marked under the conversation's row lock, so a hand-back in between cannot leave it unanswered.
    """
    with transaction.atomic():
        held = (
            Conversation.objects.select_for_update().filter(pk=message.conversation_id, held_by__isnull=False).exists()
        )
        if held:
            Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.TO_REP)
    return held


# What the "nobody came" message offers: the same two ways on as the bot's own handoff answer
# (utter_handoff in the domain): the booking flow, which offers the routed rep's free times, or email.
UNANSWERED_BUTTONS = (("unanswered_book", "/request_demo"), ("unanswered_email", "/request_email_followup"))


def handoff_unanswered(*, conversation_id: int) -> Message | None:
    """Never stranded: the visitor asked for a person and nobody took the chat within the site's wait.

    Says so once (a bot message with the booking and email buttons), under the conversation's row
    lock, so of several tabs or processes watching the same request exactly one speaks. None when
    it is not due: nobody asked, a rep took it, or it was said already. The request stays queued.
    """
    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("site")
            .filter(
                pk=conversation_id,
                handoff_requested_at__isnull=False,
                handoff_unanswered_at__isnull=True,
                held_by__isnull=True,
                status=Conversation.Status.ACTIVE,
            )
            .first()
        )
        if conversation is None:
            return None
        asked = conversation.handoff_requested_at
        if now < asked + timedelta(seconds=conversation.site.handoff_wait_seconds):
            return None
        if conversation.takeovers.filter(taken_at__gte=asked).exists():
            return None
        Conversation.objects.filter(pk=conversation.pk).update(handoff_unanswered_at=now, last_activity_at=now)
        return Message.objects.create(
            conversation=conversation,
            sender=Message.Sender.BOT,
            text=live.notice_text("unanswered"),
            buttons=[{"title": live.notice_text(code), "payload": payload} for code, payload in UNANSWERED_BUTTONS],
        )
