"""The widget and the reps' inbox against WCAG 2.2 AA: axe-core in the real page, and a visitor who
only has a keyboard.

axe-core comes from the npm registry at the version pinned in scripts/node/package-lock.json,
installed into var/node by scripts/ensure-node-tools.sh (which `make test` runs). It is injected into
the page and checks the widget's open Shadow DOM with the page.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import expect

from tests.browser.test_inbox import inbox_page
from tests.browser.test_widget import browser, demo_site  # noqa: F401 (fixtures)
from tests.conftest import ARTIFACTS
from tests.inbox.conftest import make_rep
from tests.scheduling.factories import SalesRepFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("NODE_TOOLS_DIR", ROOT / "var" / "node")) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
QUALIFYING_NEED = "I'm VP of Sales at a 300-person fintech and we need better forecasting this quarter"


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run scripts/ensure-node-tools.sh (needs npm)")
    return AXE.read_text()


def axe_violations(page, axe_source: str) -> list[str]:
    """axe-core's WCAG 2.0-2.2 A/AA violations on the page as it is now, one readable line per node."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=axe_source)
    violations = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations)", WCAG_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}: {node['failureSummary']}"
        for v in violations
        for node in v["nodes"]
    ]


def focus_in_panel(page) -> bool:
    return page.evaluate(
        """() => {
          const host = document.activeElement, root = host && host.shadowRoot;
          return host && host.id === 'leadbot-widget' && !!root.activeElement
            && root.querySelector('.panel').contains(root.activeElement);
        }"""
    )


def focused_text(page) -> str:
    return page.evaluate(
        "() => { const r = document.activeElement.shadowRoot; return r && r.activeElement ? "
        "(r.activeElement.getAttribute('aria-label') || r.activeElement.textContent) : '' }"
    )


def test_a_keyboard_only_visitor_qualifies_and_picks_a_time_with_no_axe_violations(
    browser,  # noqa: F811
    live_servers,
    demo_site,  # noqa: F811
    axe_source,
):
    importlib.import_module("qualification.migrations.0004_default_rules").add_defaults(django_apps, None)
    rep = SalesRepFactory(name="Rita Rep", email="rita@northwind.example", min_notice_minutes=60)
    rep.sites.set([demo_site])
    page = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Berlin").new_page()
    page.goto(live_servers.web_url + "/")
    widget = page.locator("#leadbot-widget")
    launcher = widget.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()
    assert axe_violations(page, axe_source) == []

    # The demo page has nothing else to focus: the first Tab reaches the launcher, Enter opens the chat.
    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    dialog = widget.get_by_role("dialog", name="Northwind assistant")
    expect(dialog).to_be_visible()
    textbox = widget.get_by_label("Your message")
    expect(textbox).to_be_focused()
    log = widget.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("What brings you", timeout=15000)
    assert axe_violations(page, axe_source) == []

    # Tab and Shift+Tab go round the panel's controls and never leave it.
    stops = dialog.evaluate(
        "d => d.querySelectorAll('button, textarea, a[href]:not([hidden]), [tabindex=\"0\"]').length"
    )
    for key in ["Tab"] * (stops + 2) + ["Shift+Tab"] * (stops + 2):
        page.keyboard.press(key)
        assert focus_in_panel(page), f"{key} left the chat panel"
    for _ in range(stops):  # round again to the message box
        if textbox.evaluate("t => t.getRootNode().activeElement === t"):
            break
        page.keyboard.press("Tab")
    expect(textbox).to_be_focused()

    for line in ("hi", QUALIFYING_NEED, "Dana Kim, dana.kim@globex-fintech.com"):
        answers = log.locator(".bot").count()
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        expect(log.locator(".visitor").last).to_have_text("You said: " + line)
        expect(log.locator(".bot")).not_to_have_count(answers, timeout=60000)
    times = widget.get_by_role("group", name="Suggested replies").get_by_role("button")
    expect(times.first).to_be_visible(timeout=60000)
    # The new message was read out by the live region, not just drawn.
    expect(widget.locator(".say")).not_to_be_empty()
    assert axe_violations(page, axe_source) == []

    # Shift+Tab from the message box goes back through the buttons ("Other times", then the last
    # offered time); Enter picks it.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        chosen = focused_text(page)
        if chosen.endswith(" time"):
            break
    assert chosen.endswith(" time"), chosen
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-keyboard-time-focused.png"))
    page.keyboard.press("Enter")
    expect(log.locator(".visitor").last).to_have_text("You said: " + chosen)
    # The pressed button is gone; the focus went back to the message box, not to the page.
    expect(textbox).to_be_focused()
    expect(log).to_contain_text("You're booked", timeout=60000)
    expect(widget.locator(".say")).to_contain_text("You're booked")

    # Escape closes the chat and the focus is back on the launcher.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    assert axe_violations(page, axe_source) == []
    page.context.close()


def test_the_chatting_with_a_rep_state_and_the_inbox_have_no_axe_violations(
    browser,  # noqa: F811
    live_servers,
    demo_site,  # noqa: F811
    axe_source,
):
    ana = make_rep("Ana", demo_site)
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    visitor.goto(live_servers.web_url + "/")
    widget = visitor.locator("#leadbot-widget")
    widget.get_by_role("button", name="Open chat").click()
    log = widget.get_by_role("log")
    expect(log).to_contain_text("What brings you", timeout=15000)
    textbox = widget.get_by_label("Your message")
    textbox.fill("Can I talk to a real person please?")
    textbox.press("Enter")
    expect(log.locator(".bot")).to_have_count(2, timeout=30000)

    inbox = inbox_page(browser, live_servers, ana)
    expect(inbox.locator("#me")).to_have_text("(Ana)", timeout=15000)
    row = inbox.locator("#queue button.row")
    expect(row).to_have_count(1, timeout=15000)
    assert axe_violations(inbox, axe_source) == []
    row.click()
    inbox.get_by_role("button", name="Take over").click()

    # The visitor sees who holds the chat, and the rep's messages under their name.
    banner = widget.locator(".agent")
    expect(banner).to_be_visible(timeout=15000)
    expect(banner).to_contain_text("You're chatting with Ana")
    inbox.get_by_label("Reply").fill("Hi, I'm Ana from sales. How can I help?")
    inbox.get_by_role("button", name="Send").click()
    rep_line = log.locator(".rep").last
    expect(rep_line).to_contain_text("Hi, I'm Ana from sales. How can I help?", timeout=15000)
    expect(rep_line.locator(".name")).to_have_text("Ana")
    expect(widget.locator(".say")).to_contain_text("Ana: Hi, I'm Ana from sales. How can I help?")
    assert axe_violations(visitor, axe_source) == []
    ARTIFACTS.mkdir(exist_ok=True)
    visitor.screenshot(path=str(ARTIFACTS / "widget-chatting-with-rep.png"))
    assert axe_violations(inbox, axe_source) == []

    inbox.get_by_role("button", name="Hand back to bot").click()
    expect(banner).to_be_hidden(timeout=15000)
    for page in (visitor, inbox):
        page.context.close()
