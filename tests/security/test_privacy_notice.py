"""The privacy notice in the widget, and nothing stored on the visitor's device before they write.

The browser test drives the real widget in Debian's chromium against the real web process and
Rasa server (as tests/browser/test_widget.py does); the others ask the web process for the
widget's configuration as a customer's page would.
"""

import json

import pytest
from playwright.sync_api import expect, sync_playwright

from chatbot.models import Conversation, Message, Site, Visitor
from chatbot.views import DEMO_SITE_NAME
from tests.browser.test_widget import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import ARTIFACTS
from tests.factories import TEST_ORIGIN, SiteFactory

NOTICE = "Northwind keeps this chat for 90 days so that Sam from sales can answer you."
POLICY = "https://northwind.example/privacy"


# --- The widget's configuration, as a customer's page reads it ------------------------------------------


@pytest.mark.django_db
def test_config_carries_the_sites_notice_and_policy_link_to_the_sites_own_pages(client):
    site = SiteFactory(privacy_notice=NOTICE, privacy_policy_url=POLICY, privacy_policy_label="How we use your data")

    response = client.get(f"/widget/{site.embed_key}/config.json", headers={"Origin": TEST_ORIGIN})

    assert response.status_code == 200
    assert response.json() == {
        "privacy": {"notice": NOTICE, "policy_url": POLICY, "policy_label": "How we use your data"}
    }
    # The customer's page may read it (CORS), for its own origin only.
    assert response["Access-Control-Allow-Origin"] == TEST_ORIGIN
    assert "Origin" in response["Vary"]

    other = client.get(f"/widget/{site.embed_key}/config.json", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "Access-Control-Allow-Origin" not in other
    assert client.get("/widget/site_unknown/config.json").status_code == 404
    Site.objects.filter(pk=site.pk).update(is_active=False)
    assert client.get(f"/widget/{site.embed_key}/config.json").status_code == 404


@pytest.mark.django_db
def test_a_new_site_has_a_sensible_notice_that_marketing_admins_edit(admin_client):
    site = SiteFactory()

    privacy = admin_client.get(f"/widget/{site.embed_key}/config.json").json()["privacy"]

    assert "chat" in privacy["notice"] and "delete" in privacy["notice"]
    assert (privacy["policy_url"], privacy["policy_label"]) == ("", "Privacy policy")
    assert site.retention_days == 365

    form = admin_client.get(f"/admin/chatbot/site/{site.pk}/change/").content.decode()
    for field in ("privacy_notice", "privacy_policy_url", "privacy_policy_label", "retention_days"):
        assert f'name="{field}"' in form
    response = admin_client.post(
        f"/admin/chatbot/site/{site.pk}/change/",
        {
            "name": site.name,
            "allowed_origins": site.allowed_origins,
            "welcome_message": site.welcome_message,
            "is_active": "on",
            "daily_conversation_limit": site.daily_conversation_limit,
            "handoff_wait_seconds": site.handoff_wait_seconds,
            "privacy_notice": NOTICE,
            "privacy_policy_url": POLICY,
            "privacy_policy_label": "Privacy",
            "retention_days": "90",
        },
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert (site.privacy_notice, site.privacy_policy_url, site.retention_days) == (NOTICE, POLICY, 90)
    # A policy link must be a web address, never a script.
    response = admin_client.post(
        f"/admin/chatbot/site/{site.pk}/change/",
        {
            "name": site.name,
            "welcome_message": site.welcome_message,
            "privacy_notice": NOTICE,
            "privacy_policy_url": "javascript:alert(1)",
            "privacy_policy_label": "Privacy",
            "retention_days": "0",
        },
    )
    assert response.status_code == 200 and "Enter a valid URL." in response.content.decode()
    site.refresh_from_db()
    assert site.privacy_policy_url == POLICY and site.retention_days == 90


# --- The real widget in the browser --------------------------------------------------------------------


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain
    # synchronous set-up and assertions, not code running inside that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def stored_keys(page) -> list[str]:
    return page.evaluate("Object.keys(window.localStorage)")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_notice_is_on_screen_before_anything_is_stored_and_the_device_keeps_nothing_until_the_visitor_writes(
    browser, live_servers
):
    site = Site.objects.create(
        name=DEMO_SITE_NAME,
        allowed_origins=live_servers.web_url,
        privacy_notice=NOTICE,
        privacy_policy_url=POLICY,
        privacy_policy_label="How we use your data",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    # Until the notice can be shown, the chat does not start (the config request fails here).
    page.route("**/config.json", lambda route: route.abort())
    page.goto(live_servers.web_url + "/")
    widget = page.locator("#leadbot-widget")
    launcher = widget.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()
    page.wait_for_timeout(1000)
    assert stored_keys(page) == []  # a page view stores nothing on the device

    launcher.click()
    page.wait_for_timeout(1500)
    notice = widget.get_by_role("note", name="Privacy notice")
    expect(notice).to_be_hidden()
    assert not Conversation.objects.exists()  # no notice on screen: nothing stored
    page.unroute("**/config.json")

    # The notice, with the site's own text and policy link, then the chat.
    expect(notice).to_be_visible(timeout=15000)
    expect(notice).to_contain_text(NOTICE)
    link = notice.get_by_role("link", name="How we use your data")
    expect(link).to_have_attribute("href", POLICY)
    expect(link).to_have_attribute("target", "_blank")
    log = widget.get_by_role("log")
    expect(log).to_contain_text("What brings you", timeout=15000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-privacy-notice.png"))
    assert not Message.objects.filter(sender=Message.Sender.VISITOR).exists()
    assert stored_keys(page) == []  # opening the chat to read the notice keeps nothing either

    textbox = widget.get_by_label("Your message")
    textbox.fill("hello")
    textbox.press("Enter")
    expect(log).to_contain_text("I'm the Northwind assistant", timeout=30000)

    assert stored_keys(page) == [f"leadbot:{site.embed_key}"]
    kept = json.loads(page.evaluate(f"window.localStorage.getItem('leadbot:{site.embed_key}')"))
    assert kept["visitor"] == Visitor.objects.get().token
    assert kept["conversation"] == str(Conversation.objects.get().public_id)
    expect(notice).to_be_visible()
    context.close()
