"""Calendar backends behind one interface (see base.CalendarBackend).

``calendar_for(connection)`` returns the backend of a rep's CalendarConnection: CalDAV,
Google or Microsoft 365. The rest of scheduling talks only to that interface.
"""

import datetime as dt
from collections.abc import Callable

from django.conf import settings

from scheduling.calendars.base import (
    BusyTime,
    CalendarBackend,
    CalendarGrantRevoked,
    CalendarInfo,
    CalendarUnavailable,
    ChangeSet,
    EventChange,
    OAuthTokens,
    WrittenEvent,
)
from scheduling.models import CalendarConnection

DEFAULT_TIMEOUT_SECONDS = 15


def calendar_for(
    connection: CalendarConnection,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_tokens: Callable[[OAuthTokens], None] | None = None,
) -> CalendarBackend:
    """The backend of ``connection``. ``timeout`` bounds each request (seconds); ``on_tokens`` receives
    a refreshed OAuth grant instead of storing it at once (for callers on other threads)."""
    if connection.kind == CalendarConnection.Kind.CALDAV:
        from scheduling.calendars.caldav_backend import CalDAVCalendar

        return CalDAVCalendar(
            url=connection.url,
            username=connection.username,
            password=connection.password,
            timezone=connection.rep.timezone,
            timeout=timeout,
        )
    if connection.kind == CalendarConnection.Kind.GOOGLE:
        from scheduling.calendars.google_backend import GoogleAppConfig, GoogleCalendar

        return GoogleCalendar(
            app=GoogleAppConfig(
                client_id=settings.GOOGLE_OAUTH_CLIENT_ID,
                client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
                token_uri=settings.GOOGLE_OAUTH_TOKEN_URI,
                api_endpoint=settings.GOOGLE_CALENDAR_API_ENDPOINT,
            ),
            tokens=_tokens(connection),
            busy_calendars=list(connection.busy_calendars or []),
            target_calendar=connection.target_calendar,
            on_tokens=on_tokens or token_store(connection),
            video_meetings=connection.video_meetings,
            timeout=timeout,
        )
    if connection.kind == CalendarConnection.Kind.MICROSOFT:
        from scheduling.calendars.microsoft_backend import MicrosoftAppConfig, MicrosoftCalendar

        return MicrosoftCalendar(
            app=MicrosoftAppConfig(
                client_id=settings.MICROSOFT_OAUTH_CLIENT_ID,
                client_secret=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
                authority=settings.MICROSOFT_OAUTH_AUTHORITY,
                graph_endpoint=settings.MICROSOFT_GRAPH_ENDPOINT,
            ),
            tokens=_tokens(connection),
            busy_calendars=list(connection.busy_calendars or [])
            or ([connection.account_email] if connection.account_email else []),
            target_calendar=connection.target_calendar,
            on_tokens=on_tokens or token_store(connection),
            video_meetings=connection.video_meetings,
            timezone=connection.rep.timezone,
            timeout=timeout,
        )
    raise ValueError(f"Unknown calendar kind {connection.kind!r}")


def _tokens(connection: CalendarConnection) -> OAuthTokens:
    from scheduling.calendars.token_crypto import token_decrypt

    return OAuthTokens(
        access_token=token_decrypt(connection.access_token_encrypted),
        refresh_token=token_decrypt(connection.refresh_token_encrypted),
        expires_at=connection.access_token_expires_at,
    )


def token_store(connection: CalendarConnection) -> Callable[[OAuthTokens], None]:
    """Stores a refreshed grant on the connection, encrypted."""
    from scheduling.calendars.token_crypto import token_encrypt

    def store(tokens: OAuthTokens) -> None:
        # Only the token columns: a refresh must not overwrite what admin changed meanwhile.
        CalendarConnection.objects.filter(pk=connection.pk).update(
            access_token_encrypted=token_encrypt(tokens.access_token),
            refresh_token_encrypted=token_encrypt(tokens.refresh_token),
            access_token_expires_at=tokens.expires_at,
        )

    return store


def connection_store_oauth_grant(
    *,
    connection: CalendarConnection,
    kind: str,
    access_token: str,
    refresh_token: str,
    expires_at: dt.datetime | None,
) -> CalendarConnection:
    """Store a (new) Google or Microsoft grant on the connection, encrypted, and mark it valid."""
    from scheduling.calendars.token_crypto import token_encrypt

    connection.kind = kind
    connection.access_token_encrypted = token_encrypt(access_token)
    connection.refresh_token_encrypted = token_encrypt(refresh_token)
    connection.access_token_expires_at = expires_at
    connection.grant_state = CalendarConnection.GrantState.VALID
    connection.last_error = ""
    connection.full_clean()
    connection.save()
    return connection


def connections_reencrypt_tokens() -> int:
    """Re-encrypt every stored OAuth token with the newest key (CALENDAR_TOKEN_KEYS[0]).

    Run after putting a new key first; the old key can be dropped once this has run.
    Returns the number of connections rewritten.
    """
    from django.db import transaction

    from scheduling.calendars.token_crypto import token_reencrypt

    count = 0
    with transaction.atomic():
        connections = CalendarConnection.objects.select_for_update().exclude(refresh_token_encrypted="")
        for connection in connections:
            CalendarConnection.objects.filter(pk=connection.pk).update(
                access_token_encrypted=token_reencrypt(connection.access_token_encrypted),
                refresh_token_encrypted=token_reencrypt(connection.refresh_token_encrypted),
            )
            count += 1
    return count


def connection_list_calendars(*, connection: CalendarConnection) -> list[CalendarInfo]:
    """Fetch the account's calendars and keep them on the connection (offered in admin). Raises
    CalendarUnavailable when the account cannot be read."""
    calendars = calendar_for(connection).list_calendars()
    listed = [
        {"id": c.id, "name": c.name, "primary": c.primary, "can_write": c.can_write, "video": c.video}
        for c in calendars
    ]
    CalendarConnection.objects.filter(pk=connection.pk).update(account_calendars=listed)
    connection.account_calendars = listed
    return calendars


__all__ = [
    "BusyTime",
    "CalendarBackend",
    "CalendarGrantRevoked",
    "CalendarInfo",
    "CalendarUnavailable",
    "ChangeSet",
    "EventChange",
    "WrittenEvent",
    "calendar_for",
    "connection_list_calendars",
    "connection_store_oauth_grant",
    "connections_reencrypt_tokens",
]
