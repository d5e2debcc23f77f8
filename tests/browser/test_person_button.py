"""The widget's "Talk to a person" button: real chromium, the real web process and Rasa server, a rep
in the inbox. It asks for a person the way the bot's own buttons do, and is not there when the site
switched it off or while a rep is chatting with the visitor."""

import json
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from chatbot import widget as widget_script
from scheduling.actions import TALK_NOW_PAYLOAD
from tests.browser.test_accessibility import axe_source, axe_violations  # noqa: F401 (fixture)
from tests.browser.test_inbox import inbox_page
from tests.browser.test_widget import browser, demo_site  # noqa: F401 (fixtures)
from tests.conftest import ARTIFACTS
from tests.inbox.conftest import make_rep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HANDOFF = yaml.safe_load((Path(__file__).resolve().parents[2] / "chatbot/bot/domain/handoff.yml").read_text())
JOINING = [r["text"] for r in HANDOFF["responses"]["utter_handoff_joining"]]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def visitor_page(browser, live_servers):  # noqa: F811
    """The demo page, and the JSON frames its widget sends and receives."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sent, received = [], []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framesent", lambda payload: sent.append(json.loads(payload))),
            ws.on("framereceived", lambda payload: received.append(json.loads(payload))),
        ),
    )
    page.goto(live_servers.web_url + "/")
    return page, sent, received


def test_talk_to_a_person_asks_for_one_and_is_hidden_while_a_rep_chats(
    browser,  # noqa: F811
    live_servers,
    demo_site,  # noqa: F811
    axe_source,  # noqa: F811
):
    words = widget_script.widget_words()
    ana = make_rep("Ana", demo_site)
    inbox = inbox_page(browser, live_servers, ana)
    expect(inbox.locator("#me")).to_have_text("(Ana)", timeout=15000)

    visitor, sent, _ = visitor_page(browser, live_servers)
    widget = visitor.locator("#leadbot-widget")
    widget.get_by_role("button", name=words["open"]).click()
    log = widget.get_by_role("log")
    expect(log).to_contain_text("What brings you", timeout=15000)
    person = widget.get_by_role("button", name=words["person"], exact=True)
    expect(person).to_be_visible()
    assert axe_violations(visitor, axe_source) == []
    ARTIFACTS.mkdir(exist_ok=True)
    visitor.screenshot(path=str(ARTIFACTS / "widget-person-button.png"))

    # Keyboard: from the message box, Tab goes to Send, then round the dialog to the header's button.
    textbox = widget.get_by_label(words["message"])
    expect(textbox).to_be_focused()
    visitor.keyboard.press("Tab")
    visitor.keyboard.press("Tab")
    expect(person).to_be_focused()
    visitor.keyboard.press("Enter")

    # The visitor's line says the button's words; the bot gets its payload, as from a quick reply.
    expect(log.locator(".visitor").last).to_have_text(words["you_said"] + " " + words["person"])
    assert [f["text"] for f in sent if f["type"] == "message"] == [TALK_NOW_PAYLOAD]
    # Ana is online: the bot says she is asked to join, and she is alerted.
    answer = re.compile("|".join(re.escape(text) for text in JOINING))
    expect(log.locator(".bot").last).to_contain_text(answer, timeout=30000)
    expect(inbox.get_by_role("alert")).to_contain_text("asked for a person", timeout=15000)

    # While she chats with the visitor, the button is gone (also after a reload); back to the bot, it is back.
    queued = inbox.locator("#queue button.row")
    expect(queued).to_have_count(1)
    queued.click()
    inbox.get_by_role("button", name="Take over").click()
    expect(widget.locator(".agent")).to_contain_text(words["with_rep"].replace("{name}", "Ana"), timeout=15000)
    expect(person).to_be_hidden()
    visitor.reload()
    widget.get_by_role("button", name=words["open"]).click()
    expect(widget.locator(".agent")).to_be_visible(timeout=15000)
    expect(person).to_be_hidden()
    # the stored transcript says the button's words too, never its payload
    expect(log).to_contain_text(words["you_said"] + " " + words["person"])
    expect(log).not_to_contain_text(TALK_NOW_PAYLOAD)
    assert axe_violations(visitor, axe_source) == []
    inbox.get_by_role("button", name="Hand back to bot").click()
    expect(widget.locator(".agent")).to_be_hidden(timeout=15000)
    expect(person).to_be_visible()
    for page in (visitor, inbox):
        page.context.close()


def test_a_site_can_switch_talk_to_a_person_off(browser, live_servers, demo_site):  # noqa: F811
    demo_site.offer_person_button = False
    demo_site.save(update_fields=["offer_person_button"])
    visitor, _, received = visitor_page(browser, live_servers)
    widget = visitor.locator("#leadbot-widget")
    widget.get_by_role("button", name=widget_script.widget_words()["open"]).click()
    expect(widget.get_by_role("log")).to_contain_text("What brings you", timeout=15000)
    assert [f["person_button"] for f in received if f["type"] == "session"] == [False]
    expect(widget.locator(".person")).to_be_hidden()
    expect(widget.get_by_role("button", name=widget_script.widget_words()["person"])).to_have_count(0)
    visitor.context.close()
