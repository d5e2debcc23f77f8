"""Who hears of a visitor asking for a person: the routed rep, in the inbox or by email.

The request goes the way a booking would (``scheduling.routing.route_lead``: the account's owner,
else the first matching rule's pool in fair order, else the default pool), narrowed to reps with
a login who see the conversation's site in the inbox. Of those who have the inbox open (``presence``),
the one with the fewest chats on their hands gets an alert there (in-page, and a browser notification),
sent by the web process as the request arrives (inbox/receivers.py); when none is online,
the first of them gets an email with a link to the inbox, and the site's Slack-compatible webhook,
if it has one, a post (inbox/webhook.py). Either way the request is in every
inbox's "needs a person" queue for the site.

What the bot tells the visitor (inbox/actions.py) follows the same reps: ``handoff_prospect`` says whether
one of them is online now (for a first request, the one just alerted: it is not routed twice), or whether
all of them are outside their working hours (scheduling's working hours, each in the rep's own zone) and
when the first is back; ``talk_now_offered`` is the check behind "Talk now" beside offered times
(registered with scheduling.live).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from chatbot import services as chat_services
from chatbot.models import Conversation
from chatbot.selectors import conversation_by_public_id
from inbox import presence
from inbox.selectors import inbox_conversation_rows
from qualification.models import Lead
from scheduling.models import SalesRep
from scheduling.routing import route_lead
from scheduling.selectors import team_hours

log = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"inbox.user.{user_id}"


def handoff_routed_reps(*, conversation: Conversation) -> list[SalesRep]:
    """The reps this request goes to, in routing order: those with a login who see the site."""
    lead = Lead.objects.filter(conversation=conversation).first()
    ordered = route_lead(lead=lead, conversation=conversation)
    seeing = set(
        SalesRep.objects.filter(pk__in=[r.pk for r in ordered], sites=conversation.site_id, user__is_active=True)
        .exclude(user=None)
        .values_list("pk", flat=True)
    )
    return [rep for rep in ordered if rep.pk in seeing]


def handoff_online_rep(*, conversation: Conversation, reps: list[SalesRep] | None = None) -> SalesRep | None:
    """The first routed rep (in routing order) who has the inbox open now, or None."""
    reps = handoff_routed_reps(conversation=conversation) if reps is None else reps
    online = presence.reps_online(user_ids=[rep.user_id for rep in reps])
    return next((rep for rep in reps if rep.user_id in online), None)


def handoff_alert(*, conversation: Conversation, rep: SalesRep) -> None:
    """The in-page alert (with sound and a browser notification) in the rep's open inbox tabs.

    The row the alert shows is read once here and travels with it, so none of the rep's tabs has to
    read it again before showing the alert (the rep sees the site: routing chose them for it)."""
    rows = inbox_conversation_rows(
        user_id=rep.user_id, site_ids=[conversation.site_id], public_ids=[str(conversation.public_id)]
    )
    async_to_sync(get_channel_layer().group_send)(
        user_group(rep.user_id),
        {"type": "inbox.alert", "conversation": str(conversation.public_id), "row": rows[0] if rows else None},
    )


def reps_open_chats(*, user_ids: list[int]) -> dict[int, int]:
    """How many chats each rep has on their hands now: conversations they hold, and requests for a person
    they were alerted to that nobody has taken or told "nobody came" yet (asked within the last day)."""
    counts = dict.fromkeys(user_ids, 0)
    held = (
        Conversation.objects.filter(held_by_id__in=user_ids, status=Conversation.Status.ACTIVE)
        .values("held_by_id")
        .annotate(n=Count("id"))
    )
    waiting = (
        Conversation.objects.filter(
            handoff_alerted_to_id__in=user_ids,
            held_by__isnull=True,
            handoff_requested_at__gte=timezone.now() - timedelta(days=1),
            handoff_unanswered_at__isnull=True,
            status=Conversation.Status.ACTIVE,
        )
        .exclude(takeovers__taken_at__gte=F("handoff_requested_at"))
        .values("handoff_alerted_to_id")
        .annotate(n=Count("id"))
    )
    for row in held:
        counts[row["held_by_id"]] += row["n"]
    for row in waiting:
        counts[row["handoff_alerted_to_id"]] += row["n"]
    return counts


def handoff_assign(*, conversation: Conversation, reps: list[SalesRep] | None = None) -> SalesRep | None:
    """The routed rep online now with the fewest chats on their hands (routing order breaks ties), recorded as
    the one alerted to this request; None when nobody routed is online.

    The online reps' rows are locked while the choice is made, so requests that arrive together (in several
    web processes) are dealt out one after the other instead of all going to the same rep.
    """
    reps = handoff_routed_reps(conversation=conversation) if reps is None else reps
    here = presence.reps_online(user_ids=[rep.user_id for rep in reps])
    online = [rep for rep in reps if rep.user_id in here]
    if not online:
        return None
    with transaction.atomic():
        list(SalesRep.objects.select_for_update().filter(pk__in=[rep.pk for rep in online]).order_by("pk"))
        load = reps_open_chats(user_ids=[rep.user_id for rep in online])
        chosen = min(online, key=lambda rep: load[rep.user_id])  # min keeps the first of equals: routing order
        Conversation.objects.filter(pk=conversation.pk).update(handoff_alerted_to=chosen.user_id)
    return chosen


def handoff_alert_routed(*, conversation: Conversation, reps: list[SalesRep] | None = None) -> SalesRep | None:
    """Alert the least busy routed rep online (``handoff_assign``) and return them; None when nobody is."""
    rep = handoff_assign(conversation=conversation, reps=reps)
    if rep is not None:
        handoff_alert(conversation=conversation, rep=rep)
    return rep


@dataclass(frozen=True)
class HandoffProspect:
    """Who could answer a visitor's request for a person right now."""

    online: SalesRep | None  # a routed rep with the inbox open: the one alerted to the request, or the first
    off_hours: bool  # nobody is online and every routed rep is outside their working hours (or on time off)
    back_at: datetime | None  # off hours: when the first of them is at work again (None: not within two weeks)


def handoff_prospect(
    *, conversation: Conversation, routed: bool = False, now: datetime | None = None
) -> HandoffProspect:
    """Online, off hours, or neither (at work but not in the inbox: the request waits the site's time).

    A rep online outside their hours still counts: they can take the chat. A conversation no rep could take
    in the inbox (nobody routed sees the site) is never "off hours": the request waits as it always did.

    ``routed``: the request was routed as it was recorded (``handoff_request_prospect``), and its choice stands
    in ``handoff_alerted_to``: the rep alerted is the one online, and nobody alerted means nobody was (or the
    alert could not be made now: the worker tries it). The reps are then routed again only for their hours.
    """
    if routed and conversation.handoff_alerted_to_id is not None:
        alerted = SalesRep.objects.filter(user_id=conversation.handoff_alerted_to_id).first()
        return HandoffProspect(online=alerted, off_hours=False, back_at=None)
    reps = handoff_routed_reps(conversation=conversation)
    online = None if routed else handoff_online_rep(conversation=conversation, reps=reps)
    if online is not None or not reps:
        return HandoffProspect(online=online, off_hours=False, back_at=None)
    hours = team_hours(reps=reps, now=now)
    return HandoffProspect(online=None, off_hours=not hours.working, back_at=hours.back_at)


def handoff_request_prospect(*, public_id: str) -> tuple[Conversation, HandoffProspect] | None:
    """Record the visitor's request for a person (``conversation_request_handoff``) and say who could answer it;
    None when there is no such conversation.

    A conversation's first request is routed as it commits, in this process (inbox/receivers.py alerts the
    least busy routed rep online, ``handoff_assign``): the answer follows that alert instead of routing again.
    A request made before (a button's, recorded as it arrived; asked again), or one an outer transaction
    holds (its receivers have not run yet), is routed here.
    """
    conversation = conversation_by_public_id(public_id)
    if conversation is None:
        return None
    first = conversation.handoff_requested_at is None and not transaction.get_connection().in_atomic_block
    chat_services.conversation_request_handoff(public_id=public_id)
    conversation = conversation_by_public_id(public_id)
    if conversation is None:
        return None
    return conversation, handoff_prospect(conversation=conversation, routed=first)


def talk_now_offered(conversation: Conversation) -> bool:
    """ "Talk now" beside offered times: the site offers it (admin, Sites), the bot has the chat, and a rep
    of the visitor's routed pool has the inbox open now."""
    if conversation.held_by_id is not None or not conversation.site.offer_talk_now:
        return False
    return handoff_online_rep(conversation=conversation) is not None


def handoff_notify(*, conversation_id: int) -> str:
    """Alert the routed rep who is online, or email the first routed rep; what was done, for tests and logs."""
    conversation = Conversation.objects.select_related("site").filter(pk=conversation_id).first()
    if conversation is None or conversation.held_by_id is not None:
        return "nobody"
    reps = handoff_routed_reps(conversation=conversation)
    rep = handoff_alert_routed(conversation=conversation, reps=reps)
    if rep is not None:
        return f"alerted:{rep.pk}"
    if conversation.site.handoff_webhook_url:
        from inbox.tasks import handoff_webhook_task  # the tasks module builds on this one

        handoff_webhook_task.delay(conversation.pk)  # the team's channel hears of it too (inbox/webhook.py)
    if not reps:
        return "nobody"
    rep = reps[0]
    context = {
        "site": conversation.site.name,
        "inbox_url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("inbox"),
        "wait_seconds": conversation.site.handoff_wait_seconds,
        "off_hours": not team_hours(reps=reps).working,
    }
    send_mail(
        subject=render_to_string("inbox/email/handoff_request_subject.txt", context).strip(),
        message=render_to_string("inbox/email/handoff_request.txt", context),
        from_email=None,
        recipient_list=[rep.email],
    )
    return f"emailed:{rep.pk}"
