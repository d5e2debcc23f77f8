"""Secrets in admin: a rep's ICS feed link can be replaced at once; visitor tokens are never shown whole."""

import html

import pytest
from django.contrib.auth.models import User

from chatbot.models import Visitor
from scheduling.models import SalesRep
from tests.factories import ConversationFactory, SiteFactory

# A visitor token as the widget holds it (secrets.token_urlsafe): a bearer secret that resumes the chat.
TOKEN = "Vq7ZkR2mXp9sLw4tNb8cYd3fHj6gKe1aUo5iPz0y"


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def rotate(client, reps):
    return client.post(
        "/admin/scheduling/salesrep/",
        {"action": "rotate_feed_token", "_selected_action": [rep.pk for rep in reps], "index": 0},
        follow=True,
    )


@pytest.mark.parametrize("role", ["superuser", "sales"])
def test_rotating_the_feed_token_kills_the_old_link_at_once(login, world, role):
    client = login(role)
    old = world.alice.feed_token
    assert client.get(f"/calendar/{old}.ics").status_code == 200
    page = text(rotate(client, [world.alice]))
    world.alice.refresh_from_db()
    assert world.alice.feed_token != old
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    feed = client.get(f"/calendar/{world.alice.feed_token}.ics")
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.content
    assert f"/calendar/{world.alice.feed_token}.ics" in page  # whoever rotated it can pass the new link on


def test_a_sales_user_cannot_rotate_another_reps_feed(login, world):
    old = world.bob.feed_token
    rotate(login("sales"), [world.bob])
    assert SalesRep.objects.get(pk=world.bob.pk).feed_token == old


def test_marketing_cannot_rotate_a_feed(login, world):
    old = world.alice.feed_token
    rotate(login("marketing"), [world.alice])
    assert SalesRep.objects.get(pk=world.alice.pk).feed_token == old


@pytest.mark.parametrize("role", ["sales", "superuser"])
def test_the_feed_link_is_shown_to_the_rep_and_superusers_only(login, world, role):
    page = text(login(role).get(f"/admin/scheduling/salesrep/{world.alice.pk}/change/"))
    assert f"/calendar/{world.alice.feed_token}.ics" in page
    marketing_page = text(login("marketing").get(f"/admin/scheduling/salesrep/{world.alice.pk}/change/"))
    assert world.alice.feed_token not in marketing_page


@pytest.fixture
def visitor_pages(client, db):
    site = SiteFactory()
    visitor = Visitor.objects.create(site=site, token=TOKEN)
    conversation = ConversationFactory(site=site, visitor=visitor)
    client.force_login(User.objects.create_superuser("boss", "boss@vendor.example", "pw"))
    return {
        "visitor list": client.get("/admin/chatbot/visitor/"),
        "visitor detail": client.get(f"/admin/chatbot/visitor/{visitor.pk}/change/"),
        "transcript": client.get(f"/admin/chatbot/conversation/{conversation.pk}/change/"),
        "visitor history": client.get(f"/admin/chatbot/visitor/{visitor.pk}/history/"),
    }


@pytest.mark.parametrize("page", ["visitor list", "visitor detail", "transcript", "visitor history"])
def test_visitor_tokens_are_shown_masked(visitor_pages, page):
    shown = text(visitor_pages[page])
    assert TOKEN[:4] + "…" in shown
    assert TOKEN[:5] not in shown  # never more than the first four characters
    assert TOKEN[-8:] not in shown
