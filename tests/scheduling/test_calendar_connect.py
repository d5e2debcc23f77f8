"""Connecting a rep's Google or Microsoft 365 account from admin: OAuth authorization code with
PKCE, against the fake Google and the fake Microsoft identity platform.

The browser's trip to the consent screen is played by following the start view's redirect to
the fake, which checks the request (client, PKCE S256 challenge, offline access, state) and
sends the browser back to our callback with a code; the code is exchanged with its verifier.
"""

import os
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from scheduling.admin import OAUTH_SESSION_KEY, SALES_GROUP
from scheduling.calendar_sync import meeting_calendar_sync
from scheduling.calendars.token_crypto import token_decrypt
from scheduling.models import CalendarConnection
from tests.scheduling.conftest import connect_rep_google
from tests.scheduling.factories import MeetingFactory, SalesRepFactory, UserFactory

pytestmark = pytest.mark.django_db
UTC = dt_timezone.utc


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def consent(url: str) -> str:
    """What the consent screen does once the user agrees: the URL it sends the browser back to."""
    # The fake Microsoft's own certificate is trusted the way requests is told (tests/scheduling/conftest.py).
    context = ssl.create_default_context(cafile=os.environ.get("REQUESTS_CA_BUNDLE"))
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read()
        return redirect.headers["Location"]
    raise AssertionError("the consent screen did not redirect")


@pytest.fixture
def oauth_settings(settings, fake_google, monkeypatch):
    settings.GOOGLE_OAUTH_AUTH_URI = fake_google.auth_uri
    settings.PUBLIC_BASE_URL = "http://testserver"
    # oauthlib refuses plain http outside https; the fake listens on loopback http.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    return settings


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="boss", is_superuser=True))
    return client


def connect_through_admin(client, rep) -> "object":
    start = client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "google"]))
    assert start.status_code == 302
    back = urlsplit(consent(start["Location"]))
    assert back.path == reverse("admin:scheduling_salesrep_calendar_callback", args=["google"])
    return client.get(f"{back.path}?{back.query}")


def test_an_admin_connects_a_reps_google_account_and_meetings_land_on_it(
    superuser_client, fake_google, oauth_settings, django_capture_on_commit_callbacks
):
    rep = SalesRepFactory(name="Gina Google")
    page = superuser_client.get(reverse("admin:scheduling_salesrep_change", args=[rep.pk]))
    page = page.content.decode()
    assert "Connect Google Calendar" in page and "Connect Microsoft 365" in page

    done = connect_through_admin(superuser_client, rep)

    assert done.status_code == 302 and done["Location"] == reverse("admin:scheduling_salesrep_change", args=[rep.pk])
    connection = CalendarConnection.objects.get(rep=rep)
    assert connection.kind == CalendarConnection.Kind.GOOGLE
    assert connection.grant_state == CalendarConnection.GrantState.VALID
    assert connection.account_email == "gina@workspace.example"
    refresh = token_decrypt(connection.refresh_token_encrypted)
    assert refresh in {account.refresh_token for account in fake_google.accounts}
    page = superuser_client.get(done["Location"]).content.decode()
    assert "Connected to gina@workspace.example (Google Calendar)" in page
    assert refresh not in page and connection.refresh_token_encrypted not in page  # never shown

    meeting = MeetingFactory(rep=rep, start=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    meeting_calendar_sync(meeting=meeting)
    assert len(fake_google.live_events()) == 1


def test_a_callback_with_a_foreign_or_reused_state_stores_nothing(superuser_client, fake_google, oauth_settings):
    rep = SalesRepFactory()
    start = superuser_client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "google"]))
    back = urlsplit(consent(start["Location"]))
    callback = reverse("admin:scheduling_salesrep_calendar_callback", args=["google"])
    # An answer for another provider's callback is refused too.
    microsoft_callback = reverse("admin:scheduling_salesrep_calendar_callback", args=["microsoft"])
    assert superuser_client.get(f"{microsoft_callback}?{back.query}").status_code == 400

    forged = superuser_client.get(callback, {"code": "stolen", "state": "not-ours"})
    assert forged.status_code == 400
    assert superuser_client.get(f"{back.path}?{back.query}").status_code == 400  # used up by the refused try
    assert CalendarConnection.objects.filter(rep=rep).count() == 0
    start = superuser_client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "google"]))
    back = urlsplit(consent(start["Location"]))
    assert superuser_client.get(f"{back.path}?{back.query}").status_code == 302
    # The same answer again (a replay): its state was used up.
    assert superuser_client.get(f"{back.path}?{back.query}").status_code == 400
    assert superuser_client.session[OAUTH_SESSION_KEY] == {}
    assert CalendarConnection.objects.filter(rep=rep).count() == 1


def test_a_wrong_code_verifier_is_refused_by_google_and_nothing_is_stored(
    superuser_client, fake_google, oauth_settings
):
    rep = SalesRepFactory()
    start = superuser_client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "google"]))
    back = urlsplit(consent(start["Location"]))
    session = superuser_client.session
    for pending in session[OAUTH_SESSION_KEY].values():
        pending["verifier"] = "x" * 64
    session.save()

    done = superuser_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    assert not CalendarConnection.objects.filter(rep=rep).exists()
    messages = [str(m) for m in done.wsgi_request._messages]
    assert any("could not be connected" in m for m in messages)


def test_an_admin_connects_a_reps_microsoft_account_and_meetings_land_on_it(
    superuser_client, fake_microsoft, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "http://testserver"
    rep = SalesRepFactory(name="Mia Microsoft")
    start = superuser_client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "microsoft"]))
    assert start.status_code == 302 and start["Location"].startswith(fake_microsoft.authority)
    back = urlsplit(consent(start["Location"]))
    assert back.path == reverse("admin:scheduling_salesrep_calendar_callback", args=["microsoft"])
    done = superuser_client.get(f"{back.path}?{back.query}")

    assert done.status_code == 302
    connection = CalendarConnection.objects.get(rep=rep)
    assert connection.kind == CalendarConnection.Kind.MICROSOFT
    assert connection.grant_state == CalendarConnection.GrantState.VALID
    assert connection.account_email == "mia@contoso.example"
    assert token_decrypt(connection.refresh_token_encrypted) in {a.refresh_token for a in fake_microsoft.accounts}
    page = superuser_client.get(done["Location"]).content.decode()
    assert "Connected to mia@contoso.example (Microsoft 365)" in page

    meeting = MeetingFactory(rep=rep, start=datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    meeting_calendar_sync(meeting=meeting)
    assert len(fake_microsoft.live_events()) == 1


def test_a_revoked_grant_shows_on_the_rep_page_with_a_link_to_connect_again(
    superuser_client, fake_google, oauth_settings
):
    rep = SalesRepFactory()
    connect_rep_google(fake_google, rep, account_email="gina@workspace.example")
    CalendarConnection.objects.filter(rep=rep).update(grant_state=CalendarConnection.GrantState.REVOKED)
    page = superuser_client.get(reverse("admin:scheduling_salesrep_change", args=[rep.pk])).content.decode()
    assert "Access to gina@workspace.example (Google Calendar) was revoked or has expired" in page
    assert reverse("admin:scheduling_salesrep_calendar_connect", args=[rep.pk, "google"]) in page

    connect_through_admin(superuser_client, rep)
    assert CalendarConnection.objects.get(rep=rep).grant_state == CalendarConnection.GrantState.VALID


def test_a_sales_user_connects_only_their_own_calendar(client, fake_google, oauth_settings):
    group, _ = Group.objects.get_or_create(name=SALES_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="scheduling", codename__in=["view_salesrep", "change_salesrep"]
        )
    )
    user = UserFactory(username="gina")
    user.groups.add(group)
    own, other = SalesRepFactory(user=user), SalesRepFactory()
    client.force_login(user)

    assert client.get(reverse("admin:scheduling_salesrep_calendar_connect", args=[other.pk, "google"])).status_code in {
        403,
        404,
    }
    connect_through_admin(client, own)
    assert CalendarConnection.objects.get(rep=own).kind == CalendarConnection.Kind.GOOGLE
    assert not CalendarConnection.objects.filter(rep=other).exists()
