"""Live handoff in two browsers at once: a visitor on the demo page, reps in the inbox.

Real chromium, the real web process and Rasa server (tests/servers.py); the reps are signed in
with a real session (the cookie of a session stored in the shared test database).
"""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chatbot.live import notice_text
from chatbot.models import Conversation, Message, Takeover
from tests.browser.test_widget import browser, demo_site  # noqa: F401 (fixtures)
from tests.conftest import ARTIFACTS
from tests.inbox.conftest import make_rep, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def inbox_page(browser, live_servers, user):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    host = live_servers.web_url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "domain": host, "path": "/"}]
    )
    page = context.new_page()
    page.goto(f"{live_servers.web_url}/inbox/")
    return page


def test_visitor_asks_for_a_person_a_rep_takes_over_and_hands_back(browser, live_servers, demo_site):  # noqa: F811
    ana, bo = make_rep("Ana", demo_site), make_rep("Bo", demo_site)
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    visitor.goto(live_servers.web_url + "/")
    widget = visitor.locator("#leadbot-widget")
    widget.get_by_role("button", name="Open chat").click()
    log = widget.get_by_role("log")
    expect(log).to_contain_text("What brings you", timeout=15000)
    inbox = inbox_page(browser, live_servers, ana)
    expect(inbox.locator("#me")).to_have_text("(Ana)", timeout=15000)

    textbox = widget.get_by_label("Your message")
    textbox.fill("Can I talk to a real person please?")
    textbox.press("Enter")
    expect(log.locator(".bot")).to_have_count(2, timeout=30000)

    # The rep is alerted and the visitor is in the "needs a person" queue, without a reload.
    expect(inbox.get_by_role("alert")).to_contain_text("asked for a person", timeout=15000)
    queued = inbox.locator("#queue button.row")
    expect(queued).to_have_count(1)
    queued.click()
    expect(inbox.locator("#transcript")).to_contain_text("Can I talk to a real person please?")
    inbox.get_by_role("button", name="Take over").click()
    expect(widget.locator(".agent")).to_contain_text("You're chatting with Ana", timeout=15000)
    expect(log).to_contain_text(notice_text("joined", name="Ana"))
    expect(inbox.locator("#transcript .system", has_text=notice_text("joined", name="Ana"))).to_have_count(1)
    expect(inbox.locator("#queue button.row")).to_have_count(0)

    # A second rep sees who holds it and cannot take it.
    other = inbox_page(browser, live_servers, bo)
    other.locator("#list button.row").first.click()
    expect(other.locator("#holder")).to_have_text("With Ana", timeout=15000)
    expect(other.get_by_role("button", name="Take over")).to_be_hidden()

    # They talk both ways.
    textbox.fill("Hi, do you integrate with HubSpot?")
    textbox.press("Enter")
    expect(inbox.locator("#transcript")).to_contain_text("Hi, do you integrate with HubSpot?", timeout=15000)
    inbox.get_by_label("Reply").fill("Yes we do, natively. I'm Ana from sales.")
    expect(widget.locator(".typing")).to_contain_text("Ana is typing", timeout=15000)
    inbox.get_by_role("button", name="Send").click()
    rep_line = log.locator(".rep").last
    expect(rep_line).to_contain_text("Yes we do, natively. I'm Ana from sales.", timeout=15000)
    expect(rep_line.locator(".name")).to_have_text("Ana")
    ARTIFACTS.mkdir(exist_ok=True)
    visitor.screenshot(path=str(ARTIFACTS / "handoff-visitor.png"))
    inbox.screenshot(path=str(ARTIFACTS / "handoff-inbox.png"))

    inbox.get_by_role("button", name="Hand back to bot").click()
    expect(log).to_contain_text(notice_text("left", name="Ana"), timeout=15000)
    expect(widget.locator(".agent")).to_be_hidden()
    bot_lines = log.locator(".bot:not(.rep)").count()
    textbox.fill("ok thanks, what does it cost?")
    textbox.press("Enter")
    # the bot answers again (the price, and maybe its open question after it)
    expect(log.locator(".bot:not(.rep)").nth(bot_lines)).to_be_visible(timeout=30000)

    conversation = Conversation.objects.get()
    assert conversation.held_by_id is None and conversation.handoff_requested
    takeover = Takeover.objects.get(conversation=conversation)
    assert takeover.rep_id == ana.pk and takeover.ended == Takeover.Ended.HANDED_BACK
    delivered = dict(conversation.messages.filter(sender=Message.Sender.VISITOR).values_list("text", "delivery"))
    assert delivered["Hi, do you integrate with HubSpot?"] == Message.Delivery.TO_REP
    assert delivered["ok thanks, what does it cost?"] == Message.Delivery.DELIVERED
    for page in (visitor, inbox, other):
        page.context.close()
