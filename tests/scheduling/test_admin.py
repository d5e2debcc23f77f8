from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from scheduling import tasks
from scheduling.admin import SALES_GROUP
from scheduling.models import Meeting
from tests.scheduling.factories import MeetingFactory, RoutingRuleFactory, SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.meeting_changed, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="boss", is_superuser=True))
    return client


def sales_user(username):
    group, _ = Group.objects.get_or_create(name=SALES_GROUP)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="scheduling", codename__in=["view_meeting", "change_meeting"])
    )
    user = UserFactory(username=username)
    user.groups.add(group)
    return user


def test_rep_pages_render_with_their_inlines(superuser_client):
    rep = SalesRepFactory(name="Rita Rep")
    response = superuser_client.get(reverse("admin:scheduling_salesrep_changelist"))
    assert response.status_code == 200 and "Rita Rep" in response.text
    response = superuser_client.get(reverse("admin:scheduling_salesrep_change", args=[rep.pk]))
    assert response.status_code == 200
    assert "Working hours" in response.text and "Time off" in response.text and "Calendar connection" in response.text
    assert superuser_client.get(reverse("admin:scheduling_salesrep_add")).status_code == 200


def test_routing_rule_pages_render(superuser_client):
    RoutingRuleFactory(name="Europe", field="region", value="europe", reps=[SalesRepFactory(name="Eva")])
    response = superuser_client.get(reverse("admin:scheduling_routingrule_changelist"))
    assert response.status_code == 200 and "Europe" in response.text and "Eva" in response.text
    response = superuser_client.get(reverse("admin:scheduling_routingrule_add"))
    assert response.status_code == 200 and "selectfilter" in response.text  # filter_horizontal widget


def test_meeting_list_shows_utc_and_the_reps_time(superuser_client):
    meeting = MeetingFactory(rep=SalesRepFactory(name="Rita Rep"), start=START, visitor_name="Ada")
    response = superuser_client.get(reverse("admin:scheduling_meeting_changelist"))
    assert response.status_code == 200
    assert "Mon 7 Dec 2026, 09:00 (UTC)" in response.text
    assert "Mon 7 Dec 2026, 10:00 (Europe/Berlin)" in response.text
    response = superuser_client.get(reverse("admin:scheduling_meeting_change", args=[meeting.pk]))
    assert response.status_code == 200 and "Mon 7 Dec 2026, 09:00 (Europe/London)" in response.text


def test_a_sales_user_sees_only_their_own_meetings(client):
    mine, theirs = SalesRepFactory(name="Mine"), SalesRepFactory(name="Theirs")
    user = sales_user("mine")
    mine.user = user
    mine.save()
    own = MeetingFactory(rep=mine, start=START, visitor_name="Own visitor")
    other = MeetingFactory(rep=theirs, start=START, visitor_name="Other visitor")
    client.force_login(user)
    response = client.get(reverse("admin:scheduling_meeting_changelist"))
    assert response.status_code == 200
    assert "Own visitor" in response.text and "Other visitor" not in response.text
    assert client.get(reverse("admin:scheduling_meeting_change", args=[own.pk])).status_code == 200
    assert client.get(reverse("admin:scheduling_meeting_change", args=[other.pk])).status_code == 404  # not theirs
    # A Sales user without a rep profile sees nothing.
    client.force_login(sales_user("no-profile"))
    assert "Own visitor" not in client.get(reverse("admin:scheduling_meeting_changelist")).text


def run_action(client, action, meetings):
    return client.post(
        reverse("admin:scheduling_meeting_changelist"),
        {"action": action, "_selected_action": [m.pk for m in meetings]},
        follow=True,
    )


def test_status_actions_call_the_services(superuser_client, queued, django_capture_on_commit_callbacks):
    rep = SalesRepFactory()
    held, no_show, cancelled = (MeetingFactory(rep=rep, start=START.replace(hour=h)) for h in (9, 10, 11))
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(superuser_client, "mark_held", [held])
        run_action(superuser_client, "mark_no_show", [no_show])
        run_action(superuser_client, "cancel", [cancelled])
    assert "1 meeting(s) marked held." in response.text
    statuses = dict(Meeting.objects.values_list("pk", "status"))
    assert statuses == {held.pk: "held", no_show.pk: "no_show", cancelled.pk: "cancelled"}
    assert (cancelled.pk, "cancelled") in queued and (held.pk, "status") in queued
    response = run_action(superuser_client, "mark_held", [cancelled])  # a service refusal is shown, not a 500
    assert response.status_code == 200 and "cancelled or has already taken place" in response.text


def test_a_sales_user_can_act_on_own_meetings_only(client, queued):
    mine, theirs = SalesRepFactory(), SalesRepFactory()
    user = sales_user("acting")
    mine.user = user
    mine.save()
    own = MeetingFactory(rep=mine, start=START)
    other = MeetingFactory(rep=theirs, start=START)
    client.force_login(user)
    run_action(client, "mark_held", [own, other])
    assert Meeting.objects.get(pk=own.pk).status == "held"
    assert Meeting.objects.get(pk=other.pk).status == "booked"


def test_retry_calendar_sync_queues_the_task(superuser_client, queued):
    meeting = MeetingFactory(start=START, sync_state=Meeting.SyncState.FAILED, sync_error="Connection refused")
    response = superuser_client.get(reverse("admin:scheduling_meeting_changelist"))
    assert "Connection refused" in response.text
    response = run_action(superuser_client, "retry_sync", [meeting])
    assert queued == [(meeting.pk, "sync")]
    assert "Calendar sync queued for 1 meeting(s)." in response.text
