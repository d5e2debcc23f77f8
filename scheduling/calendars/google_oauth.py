"""Connecting a rep's Google account: OAuth 2.0 authorization code with PKCE, offline access.

``google-auth-oauthlib``'s Flow builds the consent URL (with a fresh S256 code challenge and a
state) and exchanges the code, sending the code verifier; the caller keeps state and verifier
in the staff user's session between the two steps (scheduling.admin). The grant is stored
encrypted on the rep's connection (``connection_store_oauth_grant``), which then turns Google.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests.exceptions import RequestException

from scheduling.calendars import CalendarUnavailable, calendar_for, connection_store_oauth_grant
from scheduling.calendars.google_backend import SCOPES
from scheduling.models import CalendarConnection, SalesRep


@dataclass(frozen=True)
class AuthorizationStart:
    url: str  # where the staff user's browser goes to consent
    state: str
    code_verifier: str


def _flow(*, redirect_uri: str, state: str | None = None, code_verifier: str | None = None) -> Flow:
    client_config = {
        "web": {
            "client_id": settings.GOOGLE_OAUTH_CLIENT_ID,
            "client_secret": settings.GOOGLE_OAUTH_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_OAUTH_AUTH_URI,
            "token_uri": settings.GOOGLE_OAUTH_TOKEN_URI,
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(
        client_config,
        scopes=SCOPES,
        redirect_uri=redirect_uri,
        state=state,
        code_verifier=code_verifier,
        autogenerate_code_verifier=code_verifier is None,
    )


def google_authorization_start(*, redirect_uri: str) -> AuthorizationStart:
    flow = _flow(redirect_uri=redirect_uri)
    # prompt=consent: Google returns a refresh token only on a consent screen.
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    return AuthorizationStart(url=url, state=state, code_verifier=flow.code_verifier)


def google_authorization_finish(
    *, rep: SalesRep, redirect_uri: str, state: str, code: str, code_verifier: str
) -> CalendarConnection:
    """Exchange the code for a grant and make it the rep's calendar connection.

    Raises CalendarUnavailable when Google refuses the code or cannot be reached. A rep who
    had a CalDAV calendar is moved to Google; the calendars chosen before are kept.
    """
    flow = _flow(redirect_uri=redirect_uri, state=state, code_verifier=code_verifier)
    try:
        flow.fetch_token(code=code)
    except (OAuth2Error, RequestException, ValueError) as exc:
        raise CalendarUnavailable(f"Google refused the authorization: {exc}") from exc
    credentials = flow.credentials
    if not credentials.refresh_token:
        raise CalendarUnavailable("Google granted no offline access (no refresh token); connect again.")
    connection = CalendarConnection.objects.filter(rep=rep).first() or CalendarConnection(rep=rep)
    if connection.kind != CalendarConnection.Kind.GOOGLE:
        connection.url, connection.username, connection.password = "", "", ""
    connection.is_active = True
    expiry = credentials.expiry.replace(tzinfo=dt.timezone.utc) if credentials.expiry else None
    connection = connection_store_oauth_grant(
        connection=connection,
        kind=CalendarConnection.Kind.GOOGLE,
        access_token=credentials.token,
        refresh_token=credentials.refresh_token,
        expires_at=expiry,
    )
    # The primary calendar's id is the account's address: shown on the connection in admin.
    email = calendar_for(connection).account_email()
    CalendarConnection.objects.filter(pk=connection.pk).update(account_email=email)
    connection.account_email = email
    return connection
