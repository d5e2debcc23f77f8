"""The site's Slack-compatible webhook: validated in admin, posted once per request for a person when
no routed rep has the inbox open, with the visitor's facts, score and a link to the conversation.
A local HTTP server plays Slack and records what it gets (retries on a real worker: test_timers_worker)."""

import pytest
from channels.db import database_sync_to_async
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from chatbot import services as chat_services
from chatbot.admin import SiteAdmin
from chatbot.models import Conversation, Site
from inbox import tasks
from qualification.models import Lead
from tests.factories import ConversationFactory, SiteFactory, acreate
from tests.inbox.conftest import inbox_open, make_rep, next_frame
from tests.qualification.factories import LeadFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rasa_down(settings):
    settings.RASA_URL = f"http://127.0.0.1:{free_port()}"
    settings.RASA_TIMEOUT_SECONDS = 2


def test_the_webhook_url_must_be_https(settings):
    site = SiteFactory()
    site.handoff_webhook_url = "https://hooks.slack.com/services/T1/B2/C3"
    site.full_clean()
    for bad in ("http://hooks.slack.com/services/T1/B2/C3", "ftp://hooks.example/x"):
        site.handoff_webhook_url = bad
        with pytest.raises(ValidationError) as error:
            site.full_clean()
        assert "https://" in " ".join(error.value.message_dict["handoff_webhook_url"])
    site.handoff_webhook_url = "http://127.0.0.1:9000/hook"
    site.full_clean()  # a local receiver: allowed in the tests (and with DEBUG)
    settings.WEBHOOK_ALLOW_LOCAL_HTTP, settings.DEBUG = False, False
    with pytest.raises(ValidationError):
        site.full_clean()


def test_admin_shows_the_field_and_refuses_plain_http(admin_user):
    site = SiteFactory()
    request = RequestFactory().get("/")
    request.user = admin_user
    form_class = SiteAdmin(Site, admin.site).get_form(request, site)
    assert "handoff_webhook_url" in form_class.base_fields
    data = {
        f: getattr(site, f)
        for f in form_class.base_fields
        if getattr(site, f, None) is not None and not isinstance(getattr(site, f), bool)
    }
    data.update({"is_active": "on", "handoff_webhook_url": "http://hooks.slack.com/x"})
    form = form_class(data=data, instance=site)
    assert not form.is_valid()
    assert form.errors["handoff_webhook_url"] == [
        "Enter an https:// address (http:// only for localhost while DEBUG is on)."
    ]


def asked_with_facts(url: str) -> Conversation:
    site = SiteFactory(name="Northwind", handoff_webhook_url=url, handoff_wait_seconds=90)
    make_rep("Ana", site)  # routed, but not in the inbox
    conversation = ConversationFactory(site=site, page_url="https://northwind.example/pricing")
    LeadFactory(
        conversation=conversation,
        name="Dana <!channel> Kim",
        company_name="Globex & Sons",
        role="VP Sales",
        score=85,
        outcome=Lead.Outcome.QUALIFIED,
    )
    return conversation


def test_nobody_online_posts_the_request_once(slack, settings, mailoutbox):
    settings.PUBLIC_BASE_URL = "https://chat.vendor.example"
    conversation = asked_with_facts(slack.url)
    chat_services.conversation_request_handoff(public_id=str(conversation.public_id))

    assert len(slack.requests) == 1
    assert slack.requests[0]["path"] == "/services/T000/B000/XXX"
    assert slack.requests[0]["content_type"] == "application/json"
    text = slack.json()["text"]
    assert "*Northwind*" in text
    assert "Dana &lt;!channel&gt; Kim" in text and "<!channel>" not in text  # a visitor cannot ping the channel
    assert "Globex &amp; Sons" in text and "VP Sales" in text
    assert "Score: 85 (Qualified)" in text
    assert "https://northwind.example/pricing" in text
    assert f"<https://chat.vendor.example/inbox/?conversation={conversation.public_id}|" in text
    assert len(mailoutbox) == 1  # the routed rep is emailed as before

    # Asked again, or the task run twice: still one post.
    chat_services.conversation_request_handoff(public_id=str(conversation.public_id))
    assert tasks.handoff_webhook_task.apply(args=(conversation.pk,)).get() == "already posted"
    assert len(slack.requests) == 1
    conversation.refresh_from_db()
    assert conversation.handoff_webhook_sent_at is not None


def test_a_refusal_is_not_retried_and_not_marked_posted(slack):
    slack.statuses = [404]
    conversation = asked_with_facts(slack.url)
    assert tasks.handoff_webhook_task.apply(args=(conversation.pk,)).get() == "refused:404"
    assert len(slack.requests) == 1
    conversation.refresh_from_db()
    assert conversation.handoff_webhook_sent_at is None


async def test_a_routed_rep_online_gets_the_alert_and_nothing_is_posted(slack):
    site = await acreate(SiteFactory, handoff_webhook_url=slack.url)
    ana = await database_sync_to_async(make_rep)("Ana", site)
    conversation = await acreate(ConversationFactory, site=site)
    inbox, _ = await inbox_open(ana)
    try:
        await database_sync_to_async(chat_services.conversation_request_handoff)(public_id=str(conversation.public_id))
        await next_frame(inbox, "alert")
        assert slack.requests == []
    finally:
        await inbox.disconnect()
