"""The Marketing and Sales groups from analytics' data migration, enforced by admin."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User

from access.groups import MARKETING, SALES
from scheduling.models import SalesRep
from tests.analytics.factories import SalesRepFactory


def _user(name, *groups, **flags):
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True, **flags)
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def marketing_client(client, db):
    client.force_login(_user("mia", MARKETING))
    return client


def test_groups_exist_with_their_permissions(db):
    marketing = set(Group.objects.get(name=MARKETING).permissions.values_list("content_type__app_label", "codename"))
    assert {
        ("analytics", "view_dashboard"),
        ("chatbot", "view_conversation"),
        ("qualification", "view_lead"),
        ("scheduling", "view_meeting"),
    } <= marketing
    assert not {
        p
        for p in marketing
        if p[1].startswith(("add_", "change_", "delete_")) and not p[1].endswith(("qualificationrule", "scoringpolicy"))
    }
    sales = set(Group.objects.get(name=SALES).permissions.values_list("content_type__app_label", "codename"))
    assert ("scheduling", "view_meeting") in sales and ("analytics", "view_dashboard") not in sales


def test_marketing_sees_dashboard_conversations_and_not_understood(marketing_client, known):
    for url in (
        "/admin/analytics/dashboard/",
        "/admin/analytics/notunderstood/",
        "/admin/chatbot/conversation/",
        f"/admin/chatbot/conversation/{known.c1.pk}/change/",
        "/admin/chatbot/conversation/export-csv/",
    ):
        assert marketing_client.get(url).status_code == 200, url


def test_marketing_cannot_change_sites_or_reps(marketing_client, known):
    response = marketing_client.post(f"/admin/chatbot/site/{known.site_a.pk}/change/", {"name": "Hijacked"})
    assert response.status_code == 403
    known.site_a.refresh_from_db()
    assert known.site_a.name == "Site A"
    assert marketing_client.post("/admin/chatbot/site/add/", {"name": "New"}).status_code == 403
    if SalesRep in admin.site._registry:  # SalesRep's admin belongs to the scheduling team
        rep = SalesRepFactory()
        response = marketing_client.post(f"/admin/scheduling/salesrep/{rep.pk}/change/", {"name": "X"})
        assert response.status_code == 403
        assert marketing_client.get("/admin/scheduling/salesrep/add/").status_code == 403


def test_user_without_the_permission_gets_403_on_the_dashboard(client, known):
    client.force_login(_user("sam", SALES))
    assert client.get("/admin/analytics/dashboard/").status_code == 403
    assert client.get("/admin/analytics/notunderstood/").status_code == 403
    assert client.get("/admin/analytics/dashboard/", {"export": "funnel"}).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "/admin/analytics/dashboard/" not in index


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/admin/analytics/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_marketing_edits_qualification_rules(client, db):
    user = _user("rita", MARKETING)
    for action in ("view", "add", "change", "delete"):
        assert user.has_perm(f"qualification.{action}_qualificationrule"), action
    assert not user.has_perm("scheduling.change_routingrule")
    client.force_login(user)
    assert client.get("/admin/qualification/qualificationrule/").status_code == 200
    assert client.get("/admin/qualification/qualificationrule/add/").status_code == 200
    assert client.get("/admin/scheduling/routingrule/add/").status_code == 403
