"""Connecting a rep's Google or Microsoft 365 account: OAuth 2.0 authorization code with PKCE.

Each vendor's own library runs the flow: ``google-auth-oauthlib``'s Flow and ``msal``'s
auth code flow both make a fresh S256 code challenge and a state, and send the verifier with
the code. ``oauth_start`` returns the consent URL and what must be kept until the browser
comes back (``pending``: JSON, kept in the staff user's session by scheduling.admin);
``oauth_finish`` exchanges the code and stores the grant encrypted on the rep's connection,
which then talks to that provider. Offline access is asked for, so a refresh token comes back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import msal
from django.conf import settings
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests.exceptions import RequestException

from scheduling.calendars import (
    CalendarUnavailable,
    calendar_for,
    connection_list_calendars,
    connection_store_oauth_grant,
    google_backend,
    microsoft_backend,
)
from scheduling.models import CalendarConnection, SalesRep

PROVIDERS = {"google": CalendarConnection.Kind.GOOGLE, "microsoft": CalendarConnection.Kind.MICROSOFT}


@dataclass(frozen=True)
class AuthorizationStart:
    url: str  # where the staff user's browser goes to consent
    state: str
    pending: dict  # kept until the callback (code verifier, msal's flow)


def _google_flow(*, redirect_uri: str, state: str | None = None, code_verifier: str | None = None) -> Flow:
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
        scopes=google_backend.SCOPES,
        redirect_uri=redirect_uri,
        state=state,
        code_verifier=code_verifier,
        autogenerate_code_verifier=code_verifier is None,
    )


def _msal_app() -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        settings.MICROSOFT_OAUTH_CLIENT_ID,
        client_credential=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
        authority=settings.MICROSOFT_OAUTH_AUTHORITY,
        instance_discovery=False,
        timeout=microsoft_backend.TIMEOUT_SECONDS,
    )


def oauth_start(*, provider: str, redirect_uri: str) -> AuthorizationStart:
    try:
        if provider == "google":
            flow = _google_flow(redirect_uri=redirect_uri)
            # prompt=consent: Google returns a refresh token only on a consent screen.
            url, state = flow.authorization_url(access_type="offline", prompt="consent")
            return AuthorizationStart(url=url, state=state, pending={"verifier": flow.code_verifier})
        if provider == "microsoft":
            # msal asks for offline_access itself; its flow holds the state, PKCE verifier and nonce.
            flow = _msal_app().initiate_auth_code_flow(microsoft_backend.SCOPES, redirect_uri=redirect_uri)
            return AuthorizationStart(url=flow["auth_uri"], state=flow["state"], pending={"flow": flow})
    except (RequestException, ValueError) as exc:
        raise CalendarUnavailable(f"{provider} sign-in could not start: {exc}") from exc
    raise ValueError(f"Unknown calendar provider {provider!r}")


def _exchange(*, provider: str, redirect_uri: str, pending: dict, params: dict) -> tuple[str, str, dt.datetime | None]:
    """(access token, refresh token, expiry) for the code in ``params``."""
    if provider == "google":
        flow = _google_flow(redirect_uri=redirect_uri, state=params.get("state"), code_verifier=pending["verifier"])
        try:
            flow.fetch_token(code=params.get("code", ""))
        except (OAuth2Error, RequestException, ValueError) as exc:
            raise CalendarUnavailable(f"Google refused the authorization: {exc}") from exc
        credentials = flow.credentials
        expiry = credentials.expiry.replace(tzinfo=dt.timezone.utc) if credentials.expiry else None
        return credentials.token, credentials.refresh_token or "", expiry
    try:
        answer = _msal_app().acquire_token_by_auth_code_flow(pending["flow"], params)
    except (RequestException, ValueError, RuntimeError) as exc:
        raise CalendarUnavailable(f"Microsoft refused the authorization: {exc}") from exc
    if "access_token" not in answer:
        raise CalendarUnavailable(
            f"Microsoft refused the authorization: {answer.get('error')}: {answer.get('error_description', '')}"
        )
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(answer.get("expires_in", 3600)))
    return answer["access_token"], answer.get("refresh_token", ""), expiry


def oauth_finish(*, provider: str, rep: SalesRep, redirect_uri: str, pending: dict, params: dict) -> CalendarConnection:
    """Exchange the code for a grant and make it the rep's calendar connection.

    Raises CalendarUnavailable when the provider refuses the code or cannot be reached. A rep
    who had another calendar is moved to this one; the calendars chosen before are kept when
    the provider is the same.
    """
    access, refresh, expiry = _exchange(provider=provider, redirect_uri=redirect_uri, pending=pending, params=params)
    if not refresh:
        raise CalendarUnavailable("No offline access was granted (no refresh token); connect again.")
    kind = PROVIDERS[provider]
    connection = CalendarConnection.objects.filter(rep=rep).first() or CalendarConnection(rep=rep)
    if connection.kind != kind:
        connection.url, connection.username, connection.password = "", "", ""
        connection.busy_calendars, connection.target_calendar = [], ""
    connection.is_active = True
    connection.changes_cursor = ""  # a new grant (perhaps another account): its changes are read afresh
    connection = connection_store_oauth_grant(
        connection=connection, kind=kind, access_token=access, refresh_token=refresh, expires_at=expiry
    )
    # Shown on the connection in admin (and Microsoft's busy times are asked for this address).
    email = calendar_for(connection).account_email()
    CalendarConnection.objects.filter(pk=connection.pk).update(account_email=email)
    connection.account_email = email
    # The account's calendars, offered in admin for what counts as busy and what receives meetings;
    # an account that cannot list them now is still connected (the list can be reloaded from admin).
    try:
        connection_list_calendars(connection=connection)
    except CalendarUnavailable:
        pass
    return connection
