"""The real widget in Debian's chromium, against the real web process and Rasa server."""

from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from chatbot import widget as widget_script
from chatbot.models import Conversation, Message, Site
from chatbot.views import DEMO_SITE_NAME
from tests.chatbot.test_widget_script import NASTY, words_template  # noqa: F401 (fixture)
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are
    # plain synchronous test set-up and assertions, not code running inside that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_site(live_servers):
    return Site.objects.create(name=DEMO_SITE_NAME, allowed_origins=live_servers.web_url)


def test_visitor_chats_reloads_and_sees_history(browser, live_servers, demo_site):
    context = browser.new_context(timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_servers.web_url}/?utm_source=linkedin&utm_campaign=launch")

    widget = page.locator("#leadbot-widget")
    launcher = widget.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()
    # Host page styles (pink 30px buttons) must not leak into the Shadow DOM.
    assert launcher.evaluate("b => getComputedStyle(b).fontSize") == "26px"
    launcher.click()
    log = widget.get_by_role("log")
    expect(log).to_contain_text("What brings you", timeout=15000)

    textbox = widget.get_by_label("Your message")
    expect(textbox).to_be_focused()
    textbox.fill("hello")
    textbox.press("Enter")
    expect(log).to_contain_text("I'm the Northwind assistant", timeout=30000)

    # An off-topic question brings quick-reply buttons; pressing one sends its payload.
    textbox.fill("what's the weather like in Paris today?")
    widget.get_by_role("button", name="Send").click()
    quick_reply = widget.get_by_role("group", name="Suggested replies").get_by_role("button", name="Start over")
    expect(quick_reply).to_be_visible(timeout=30000)
    quick_reply.click()
    expect(log.locator(".bot")).to_have_count(4, timeout=30000)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-conversation.png"))

    page.reload()
    # The returning visitor's conversation comes back without clicking: open the panel to see it.
    widget.get_by_role("button", name="Open chat").click()
    expect(log).to_contain_text("hello", timeout=15000)
    expect(log).to_contain_text("I'm the Northwind assistant")
    expect(log.locator(".visitor")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "widget-after-reload.png"))

    conversation = Conversation.objects.get()
    assert conversation.utm == {"utm_source": "linkedin", "utm_campaign": "launch"}
    assert conversation.timezone == "Asia/Tokyo"
    # The pressed button reads as its title in the transcript; Rasa got its payload.
    assert list(conversation.messages.filter(sender=Message.Sender.VISITOR).values_list("text", "payload")) == [
        ("hello", ""),
        ("what's the weather like in Paris today?", ""),
        ("Start over", "/greet"),
    ]
    context.close()


def test_widget_is_usable_by_keyboard_and_on_a_phone(browser, live_servers, demo_site):
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_servers.web_url + "/")
    widget = page.locator("#leadbot-widget")
    launcher = widget.get_by_role("button", name="Open chat")
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = widget.get_by_role("dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["width"] == 375 and box["height"] == 667  # full screen on a phone
    expect(widget.get_by_role("log")).to_contain_text("What brings you", timeout=15000)
    page.keyboard.type("are you a bot?")
    page.keyboard.press("Enter")
    expect(widget.get_by_role("log")).to_contain_text("I'm a bot", timeout=30000)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(widget.get_by_role("button", name="Open chat")).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    context.close()


def test_visitor_text_is_shown_as_text_not_html(browser, live_servers, demo_site):
    page = browser.new_page()
    page.goto(live_servers.web_url + "/")
    widget = page.locator("#leadbot-widget")
    widget.get_by_role("button", name="Open chat").click()
    textbox = widget.get_by_label("Your message")
    expect(widget.get_by_role("log")).to_contain_text("What brings you", timeout=15000)
    textbox.fill("<img src=x onerror=\"document.title='pwned'\"><b>bold</b>")
    textbox.press("Enter")
    expect(widget.get_by_role("log")).to_contain_text("<b>bold</b>", timeout=10000)
    assert widget.locator(".log img, .log b").count() == 0
    assert page.title() != "pwned"


WIDGET_BUDGET = 10 * 1024  # bytes, gzipped: everything the widget loads on a host page


def test_everything_the_widget_loads_stays_under_10_kb_gzipped(browser, live_servers, demo_site):
    """Every script, style sheet, font or image the widget brings onto a host page, as served, gzipped
    in Python (the config JSON it reads is data, not the widget)."""
    import gzip

    page = browser.new_page()
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request))
    page.goto(live_servers.web_url + "/")
    page.locator("#leadbot-widget").get_by_role("button", name="Open chat").click()
    expect(page.locator("#leadbot-widget").get_by_role("log")).to_contain_text("What brings you", timeout=15000)
    files = {}
    for request in loaded:
        if request.resource_type in ("script", "stylesheet", "font", "image"):
            path = urlsplit(request.url).path
            body = request.response().body()
            if path == reverse("widget_script"):
                # The script is the file in the repository with the words of its template put in.
                assert body == widget_script.widget_script().body, request.url
            else:
                # Any other file is served as it is in the repository (no build step in between).
                path = path.split("/static/", 1)[-1]
                assert body == open(finders.find(path), "rb").read(), request.url
            files[path] = len(gzip.compress(body, 9))
    assert "/widget.js" in files, files
    assert sum(files.values()) < WIDGET_BUDGET, f"widget files gzipped: {files}, {sum(files.values())} bytes in all"


def test_the_widget_says_the_words_of_its_template(browser, live_servers, demo_site):
    """The served widget names its controls with the words of templates/chatbot/widget_words.txt."""
    words = widget_script.widget_words()
    page = browser.new_page()
    page.goto(live_servers.web_url + "/")
    widget = page.locator("#leadbot-widget")
    launcher = widget.locator(".launch")
    expect(launcher).to_have_attribute("aria-label", words["open"])
    launcher.click()
    expect(launcher).to_have_attribute("aria-label", words["close"])
    expect(widget.get_by_role("log", name=words["log"])).to_contain_text("What brings you", timeout=15000)
    expect(widget.get_by_role("textbox", name=words["message"])).to_have_attribute("placeholder", words["placeholder"])
    expect(widget.get_by_role("button", name=words["send"], exact=True)).to_be_visible()
    expect(widget.get_by_role("button", name=words["person"], exact=True)).to_be_visible()
    page.close()


def test_a_word_with_quotes_or_a_script_end_tag_cannot_break_the_script(browser, client, words_template):  # noqa: F811
    """A word may hold anything: the script served with it runs, from its own address and pasted
    into a page's inline <script> alike, and says the word exactly."""
    words_template({**widget_script.widget_words(), "open": NASTY, "title": NASTY})
    script = client.get(reverse("widget_script")).content.decode()
    host = "http://customer.test"
    served = {
        "/inline": f'<!doctype html><html lang="en"><title>host</title><body><p>A host page</p><script data-site="k">{script}</script>',
        "/external": '<!doctype html><html lang="en"><title>host</title><body><p>A host page</p><script src="/widget.js" data-site="k"></script>',
        "/widget.js": script,
    }
    page = browser.new_page()
    page.route(
        f"{host}/**",
        lambda route: route.fulfill(
            body=served[urlsplit(route.request.url).path],
            content_type="text/javascript; charset=utf-8"
            if route.request.url.endswith(".js")
            else "text/html; charset=utf-8",
        ),
    )
    errors, dialogs = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in ("/inline", "/external"):
        page.goto(host + path)
        launcher = page.locator("#leadbot-widget .launch")
        expect(launcher).to_have_attribute("aria-label", NASTY)
        title = page.evaluate(
            "() => document.getElementById('leadbot-widget').shadowRoot.querySelector('h2').textContent"
        )
        assert title == NASTY
    assert errors == [] and dialogs == []
    page.close()
