"""A request for a person posted to the site's Slack-compatible webhook when no routed rep is online.

The message is Slack's incoming-webhook JSON (``{"text": ...}``, in Slack's mrkdwn), its words in
templates/inbox/webhook/handoff_request.txt: the visitor's facts, score and a link to the
conversation in the inbox. Everything the visitor typed is escaped the way Slack asks (``&``, ``<``,
``>``), so a visitor cannot make it ping a channel or link elsewhere.

Posted once per request: ``Conversation.handoff_webhook_sent_at`` records the post, and a short
lock in the cache keeps two runs of the task (acks_late) from posting side by side. A server error,
a 429 or no answer is retried by the task with a growing delay; any other refusal is logged, not retried.
"""

import logging

import requests
from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from chatbot.models import Conversation
from qualification.fact_fields import FACT_FIELDS
from qualification.models import Lead

log = logging.getLogger(__name__)
LOCK_SECONDS = 60


class WebhookUnavailable(Exception):
    """The receiver did not take the post this time (server error, 429, no answer): try again later."""


def slack_escape(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def conversation_inbox_url(conversation: Conversation) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('inbox')}?conversation={conversation.public_id}"


def handoff_webhook_payload(*, conversation: Conversation) -> dict:
    lead = Lead.objects.filter(conversation=conversation).first()
    facts = []
    if lead is not None:
        for field in FACT_FIELDS:
            value = getattr(lead, field)
            if value not in ("", None):
                facts.append((Lead._meta.get_field(field).verbose_name.capitalize(), slack_escape(value)))
    context = {
        "site": slack_escape(conversation.site.name),
        "facts": facts,
        "score": lead.score if lead is not None and lead.score is not None else "–",
        "outcome": lead.get_outcome_display() if lead is not None else "",
        "page": slack_escape(conversation.page_url),
        "conversation_url": conversation_inbox_url(conversation),
        "wait_seconds": conversation.site.handoff_wait_seconds,
    }
    return {"text": render_to_string("inbox/webhook/handoff_request.txt", context).strip()}


def handoff_webhook_post(*, conversation_id: int) -> str:
    """Post the request to the site's webhook unless it was posted already; what was done, for logs and tests.

    Raises ``WebhookUnavailable`` when the receiver should be asked again later.
    """
    conversation = Conversation.objects.select_related("site").filter(pk=conversation_id).first()
    if conversation is None or not conversation.site.handoff_webhook_url:
        return "no webhook"
    if conversation.handoff_webhook_sent_at is not None:
        return "already posted"
    lock = f"inbox:webhook-posting:{conversation_id}"
    if not cache.add(lock, 1, timeout=LOCK_SECONDS):
        raise WebhookUnavailable("another run is posting it")  # it may yet fail: look again later
    try:
        try:
            response = requests.post(
                conversation.site.handoff_webhook_url,
                json=handoff_webhook_payload(conversation=conversation),
                timeout=settings.INBOX_WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise WebhookUnavailable(repr(exc)) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise WebhookUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 300:
            log.error(
                "the webhook of site %s refused the handoff post: HTTP %s %s",
                conversation.site_id,
                response.status_code,
                response.text[:200],
            )
            return f"refused:{response.status_code}"
        Conversation.objects.filter(pk=conversation_id, handoff_webhook_sent_at__isnull=True).update(
            handoff_webhook_sent_at=timezone.now()
        )
        return "posted"
    finally:
        cache.delete(lock)
