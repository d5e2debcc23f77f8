"""Who hears of a visitor asking for a person: the routed rep, in the inbox or by email.

The request goes the way a booking would (``scheduling.routing.route_lead``: the account's owner,
else the first matching rule's pool in fair order, else the default pool), narrowed to reps with
a login who see the conversation's site in the inbox. The first of them who has the inbox open
(``presence``) gets an alert there (in-page, and a browser notification); when none is online,
the first of them gets an email with a link to the inbox, and the site's Slack-compatible webhook,
if it has one, a post (inbox/webhook.py). Either way the request is in every
inbox's "needs a person" queue for the site.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from chatbot.models import Conversation
from inbox import presence
from qualification.models import Lead
from scheduling.models import SalesRep
from scheduling.routing import route_lead

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


def handoff_notify(*, conversation_id: int) -> str:
    """Alert the routed rep who is online, or email the first routed rep; what was done, for tests and logs."""
    conversation = Conversation.objects.select_related("site").filter(pk=conversation_id).first()
    if conversation is None or conversation.held_by_id is not None:
        return "nobody"
    reps = handoff_routed_reps(conversation=conversation)
    for rep in reps:
        if presence.rep_online(user_id=rep.user_id):
            async_to_sync(get_channel_layer().group_send)(
                user_group(rep.user_id), {"type": "inbox.alert", "conversation": str(conversation.public_id)}
            )
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
    }
    send_mail(
        subject=render_to_string("inbox/email/handoff_request_subject.txt", context).strip(),
        message=render_to_string("inbox/email/handoff_request.txt", context),
        from_email=None,
        recipient_list=[rep.email],
    )
    return f"emailed:{rep.pk}"
