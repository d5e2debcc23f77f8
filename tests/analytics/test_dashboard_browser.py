"""The dashboard's charts draw in Debian's chromium with Chart.js from our own static files."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from playwright.sync_api import sync_playwright

from access.groups import MARKETING
from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_marketing_user_sees_the_charts_drawn(live_server, known):
    from django.apps import apps

    from access.groups import groups_sync

    groups_sync(apps)  # transaction=True tests start from an empty database: recreate the groups
    user = User.objects.create_user("mia", "mia@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=MARKETING))
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    host = urlsplit(live_server.url).hostname

    requested_hosts, errors = set(), []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": host, "path": "/"}])
        page = context.new_page()
        page.on("request", lambda request: requested_hosts.add(urlsplit(request.url).hostname))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(
            f"{live_server.url}/admin/analytics/dashboard/?start=2026-11-01&end=2026-11-07&site={known.site_a.pk}"
        )
        drawn = page.evaluate(
            """() => ['chart-funnel', 'chart-dropoff', 'chart-fallback'].map(
                   id => { const c = Chart.getChart(document.getElementById(id)); return c ? c.data.datasets[0].data : null; })"""
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "analytics-dashboard.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/chatbot/conversation/{known.c2.pk}/change/")
        bubbles = page.locator(".transcript .turn .text").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "analytics-transcript.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/analytics/notunderstood/?start=2026-11-01&end=2026-11-07")
        page.screenshot(path=str(ARTIFACTS / "analytics-not-understood.png"), full_page=True)
        browser.close()
    assert errors == []
    assert requested_hosts == {host}  # nothing from a CDN
    funnel, answered, fallback_rates = drawn
    assert funnel == [6, 5, 3, 2, 2, 2, 1]
    assert answered == [4, 2]  # use_case, company_size
    assert fallback_rates == [16.7, 33.3]
    assert bubbles[:4] == ["Hi! What brings you here?", "hello", "What would you use it for?", "asdf 123 ??"]
