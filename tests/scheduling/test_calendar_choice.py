"""After connecting a Google or Microsoft 365 account in admin, the account's own calendars (Google
calendarList, Graph /me/calendars) are offered on the rep's page: several that count as busy, one that
receives meetings (writable ones only); what is chosen is what busy times are read from and where
meetings land. The list can be reloaded, and a rep's calendars read on demand from the reps list.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from scheduling.admin import CalendarConnectionForm
from scheduling.calendar_sync import calendar_refresh_busy, meeting_calendar_sync
from scheduling.models import BusyBlock, CalendarConnection
from tests.scheduling.factories import MeetingFactory, SalesRepFactory, UserFactory
from tests.scheduling.test_calendar_connect import connect_through_admin, consent

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday


def utc(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def admin_client(client, settings, monkeypatch):
    settings.PUBLIC_BASE_URL = "http://testserver"
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake Google listens on loopback http
    client.force_login(UserFactory(username="boss", is_superuser=True))
    return client


def change_page(client, rep) -> str:
    return client.get(reverse("admin:scheduling_salesrep_change", args=[rep.pk])).content.decode()


def choose(connection: CalendarConnection, **data) -> CalendarConnection:
    """What saving the rep's page does with the calendar inline (its form, as admin builds it)."""
    form = CalendarConnectionForm(
        data={"kind": connection.kind, "is_active": "on", "target_calendar": "", "busy_calendars": []} | data,
        instance=connection,
    )
    assert form.is_valid(), form.errors
    return form.save()


def test_google_calendars_are_offered_for_busy_and_for_meetings_and_used(admin_client, fake_google, settings):
    settings.GOOGLE_OAUTH_AUTH_URI = fake_google.auth_uri
    fake_google.calendars |= {"team-offsites", "holidays"}
    fake_google.calendar_names |= {"team-offsites": "Team offsites", "holidays": "Holidays in Germany"}
    fake_google.read_only_calendars.add("holidays")
    fake_google.calendars_without_meet.add("holidays")
    rep = SalesRepFactory(name="Gina Google")

    connect_through_admin(admin_client, rep)

    connection = CalendarConnection.objects.get(rep=rep)
    assert [(c["id"], c["can_write"]) for c in connection.account_calendars] == [
        ("gina@workspace.example", True),
        ("holidays", False),
        ("team-offsites", True),
    ]
    page = change_page(admin_client, rep)
    assert 'type="checkbox" name="calendar-0-busy_calendars" value="holidays"' in page
    assert "Holidays in Germany (read only)" in page and "Team offsites (video meetings)" in page
    target = page[page.index('name="calendar-0-target_calendar"') :].split("</select>")[0]
    assert 'value="team-offsites"' in target and 'value="holidays"' not in target  # read only: no meetings there
    with pytest.raises(AssertionError):
        choose(connection, target_calendar="holidays")

    connection = choose(
        connection, busy_calendars=["gina@workspace.example", "holidays"], target_calendar="team-offsites"
    )

    fake_google.add_event("holidays", {"start": {"date": "2026-12-08"}, "end": {"date": "2026-12-09"}})
    fake_google.add_event(
        "team-offsites", {"start": {"dateTime": "2026-12-07T12:00:00Z"}, "end": {"dateTime": "2026-12-07T13:00:00Z"}}
    )
    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=3))
    [(_, _, asked)] = [call for call in fake_google.calls if call[0] == "calendar.freebusy.query"]
    assert [item["id"] for item in asked["items"]] == ["gina@workspace.example", "holidays"]
    assert list(BusyBlock.objects.filter(rep=rep).values_list("start", "end")) == [(utc(0, day=8), utc(0, day=9))]

    meeting_calendar_sync(meeting=MeetingFactory(rep=rep, start=utc(9)))
    assert fake_google.live_events("primary") == [] and len(fake_google.live_events("team-offsites")) == 2


def test_microsoft_calendars_are_offered_and_a_chosen_one_is_read_by_calendar_view(admin_client, fake_microsoft):
    fake_microsoft.calendars |= {"AAMkShifts="}
    fake_microsoft.calendar_names["AAMkShifts="] = "Shifts"
    fake_microsoft.calendars_without_teams.add("AAMkShifts=")
    rep = SalesRepFactory(name="Mia Microsoft", timezone="Europe/Berlin")
    start = admin_client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "microsoft"]))
    back = urlsplit(consent(start["Location"]))
    admin_client.get(f"{back.path}?{back.query}")

    connection = CalendarConnection.objects.get(rep=rep)
    assert [(c["id"], c["primary"], c["video"]) for c in connection.account_calendars] == [
        ("default", True, True),
        ("AAMkShifts=", False, False),
    ]
    assert "Shifts" in change_page(admin_client, rep)
    connection = choose(connection, busy_calendars=["AAMkShifts="])

    # On the Shifts calendar: an all-day Monday (a day in Berlin, not in UTC), a busy afternoon, a free hour.
    fake_microsoft.add_event(utc(0), utc(0, day=8), calendar="AAMkShifts=", isAllDay=True, showAs="oof")
    fake_microsoft.add_event(utc(13, day=8), utc(15, day=8), calendar="AAMkShifts=", showAs="tentative")
    fake_microsoft.add_event(utc(9, day=9), utc(10, day=9), calendar="AAMkShifts=", showAs="free")
    fake_microsoft.add_busy(utc(10, day=9), utc(11, day=9))  # the account's own schedule: not chosen

    calendar_refresh_busy(rep=rep, start=NOW, end=NOW + timedelta(days=3))

    assert sorted(BusyBlock.objects.filter(rep=rep).values_list("start", "end")) == [
        (NOW, datetime(2026, 12, 7, 23, 0, tzinfo=UTC)),  # midnight Berlin ends Monday
        (utc(13, day=8), utc(15, day=8)),
    ]
    assert fake_microsoft.called("calendarView") == 1 and fake_microsoft.called("getSchedule") == 0


def test_the_list_is_reloaded_and_calendars_read_on_demand(admin_client, fake_google, settings):
    from tests.scheduling.conftest import connect_rep_google

    rep = SalesRepFactory(name="Gina Google")
    connect_rep_google(fake_google, rep)
    assert CalendarConnection.objects.get(rep=rep).account_calendars == []
    fake_google.calendars.add("new-team")

    reloaded = admin_client.get(reverse("admin:scheduling_salesrep_calendar_list", args=[rep.pk]))

    assert reloaded.status_code == 302
    ids = [c["id"] for c in CalendarConnection.objects.get(rep=rep).account_calendars]
    assert ids == ["gina@workspace.example", "new-team"]

    fake_google.add_event(
        "primary", {"start": {"dateTime": "2026-12-07T09:00:00Z"}, "end": {"dateTime": "2026-12-07T10:00:00Z"}}
    )
    done = admin_client.post(
        reverse("admin:scheduling_salesrep_changelist"),
        {"action": "read_calendars", "_selected_action": [rep.pk]},
        follow=True,
    )
    assert "Gina Google: 1 busy time(s); 0 meeting(s) moved and 0 cancelled" in done.content.decode()
    connection = CalendarConnection.objects.get(rep=rep)
    assert connection.last_synced_at and connection.changes_read_at and connection.changes_cursor
