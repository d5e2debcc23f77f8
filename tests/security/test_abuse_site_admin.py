"""The daily cap of new conversations per site, as marketing sees it in admin."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from access.groups import MARKETING
from tests.factories import ConversationFactory, SiteFactory
from tests.scheduling.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_marketing_sees_each_sites_daily_cap_and_todays_count(client):
    site = SiteFactory(name="Acme website", daily_conversation_limit=500)
    for _ in range(3):
        ConversationFactory(site=site)
    user = UserFactory(username="marketer")
    user.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(user)
    listing = client.get(reverse("admin:chatbot_site_changelist")).content.decode()
    assert "Acme website" in listing and "3 of 500" in listing
    page = client.get(reverse("admin:chatbot_site_change", args=[site.pk])).content.decode()
    assert "3 of 500" in page and "new conversations per day" in page.lower()


def test_a_new_site_gets_the_configured_daily_cap(settings):
    settings.CHAT_SITE_DAILY_CONVERSATION_LIMIT = 750
    assert SiteFactory().daily_conversation_limit == 750
