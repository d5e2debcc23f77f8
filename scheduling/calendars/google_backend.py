"""Google Calendar through Google's own client (``google-api-python-client`` + ``google-auth``).

- Busy times: ``freeBusy.query`` over the connection's busy calendars (Google decides what is
  busy: opaque, not declined events, out-of-office included; all-day events in the calendar's
  own zone). freeBusy names no events, so the busy times carry no uid.
- Meetings: ``events.insert`` with an id derived from the meeting's stable UID, so a retried
  insert whose first try did land answers 409 and becomes an ``events.patch`` of that same
  event: a meeting lands exactly once however often its write is retried. Cancel is
  ``events.delete``; an event already gone (404/410) is not an error.
- OAuth: the access token is refreshed by google-auth before it expires (and once on a 401);
  a refreshed token is handed to ``on_tokens`` to be stored (encrypted). A refresh refused
  with ``invalid_grant`` means the rep revoked access or the grant expired:
  CalendarGrantRevoked. 429 and 5xx (and 403 rate limits) are CalendarUnavailable with the
  server's Retry-After, so the write is tried again later.

The request shapes come from the discovery document shipped inside the client library
(``static_discovery=True``); ``GOOGLE_CALENDAR_API_ENDPOINT`` and ``GOOGLE_OAUTH_TOKEN_URI``
point it elsewhere (the tests' fake server).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from scheduling.calendars.base import BusyTime, CalendarGrantRevoked, CalendarUnavailable, OAuthTokens

if TYPE_CHECKING:
    from scheduling.models import Meeting

TIMEOUT_SECONDS = 15
SCOPES = ["https://www.googleapis.com/auth/calendar"]
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
PRIMARY = "primary"
# Statuses that mean "try again later" (403 only with a rate-limit reason, see _unavailable).
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


@dataclass(frozen=True)
class GoogleAppConfig:
    client_id: str
    client_secret: str
    token_uri: str = DEFAULT_TOKEN_URI
    api_endpoint: str = ""  # empty: Google's own


def google_event_id(calendar_uid: str) -> str:
    """A Google event id for the meeting: 40 characters of base32hex (0-9a-f), stable per UID."""
    return hashlib.sha1(calendar_uid.encode()).hexdigest()


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _retry_after(error: HttpError) -> float | None:
    value = error.resp.get("retry-after") if error.resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class GoogleCalendar:
    def __init__(
        self,
        *,
        app: GoogleAppConfig,
        tokens: OAuthTokens,
        busy_calendars: list[str],
        target_calendar: str,
        on_tokens: Callable[[OAuthTokens], None],
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.busy_calendars = busy_calendars or [PRIMARY]
        self.target_calendar = target_calendar or PRIMARY
        self.on_tokens = on_tokens

    def _credentials(self) -> Credentials:
        expiry = self.tokens.expires_at
        return Credentials(
            token=self.tokens.access_token or None,
            refresh_token=self.tokens.refresh_token,
            token_uri=self.app.token_uri,
            client_id=self.app.client_id,
            client_secret=self.app.client_secret,
            scopes=SCOPES,
            # google-auth compares naive UTC datetimes.
            expiry=expiry.astimezone(dt.timezone.utc).replace(tzinfo=None) if expiry else None,
        )

    def _call(self, what: str, request: Callable) -> dict:
        """Run ``request(service)`` and store a refreshed access token, mapping failures."""
        credentials = self._credentials()
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=TIMEOUT_SECONDS))
        options = {"api_endpoint": self.app.api_endpoint} if self.app.api_endpoint else None
        try:
            service = build(
                "calendar", "v3", http=http, static_discovery=True, cache_discovery=False, client_options=options
            )
            return request(service)
        except RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise CalendarGrantRevoked(f"Google {what}: the grant was revoked or has expired ({exc})") from exc
            raise CalendarUnavailable(f"Google {what}: token refresh failed: {exc}") from exc
        except HttpError as exc:
            raise self._unavailable(what, exc) from exc
        except (TransportError, httplib2.HttpLib2Error, OSError, TimeoutError) as exc:
            raise CalendarUnavailable(f"Google {what}: {exc}") from exc
        finally:
            self._store_if_refreshed(credentials)

    def _store_if_refreshed(self, credentials: Credentials) -> None:
        if credentials.token and credentials.token != self.tokens.access_token:
            expiry = credentials.expiry.replace(tzinfo=dt.timezone.utc) if credentials.expiry else None
            self.tokens = OAuthTokens(
                access_token=credentials.token,
                refresh_token=credentials.refresh_token or self.tokens.refresh_token,
                expires_at=expiry,
            )
            self.on_tokens(self.tokens)

    def _unavailable(self, what: str, exc: HttpError) -> CalendarUnavailable:
        status = exc.resp.status
        reasons = {detail.get("reason") for detail in (exc.error_details or []) if isinstance(detail, dict)}
        if status == 401:
            # google-auth already refreshed once and the new token was refused too.
            return CalendarGrantRevoked(f"Google {what}: access refused ({status}): {exc.reason}")
        if status in RETRY_STATUSES or (status == 403 and reasons & RATE_LIMIT_REASONS):
            return CalendarUnavailable(f"Google {what}: HTTP {status}: {exc.reason}", retry_after=_retry_after(exc))
        return CalendarUnavailable(f"Google {what}: HTTP {status}: {exc.reason}")

    def account_email(self) -> str:
        """The account's address: the id of its primary calendar (calendars.get)."""
        answer = self._call("account", lambda service: service.calendars().get(calendarId=PRIMARY).execute())
        return answer.get("id", "")

    def busy_times(self, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "timeZone": "UTC",
            "items": [{"id": calendar_id} for calendar_id in self.busy_calendars],
        }
        answer = self._call("free/busy", lambda service: service.freebusy().query(body=body).execute())
        busy = []
        for calendar_id, calendar in (answer.get("calendars") or {}).items():
            if calendar.get("errors"):
                reasons = ", ".join(error.get("reason", "?") for error in calendar["errors"])
                raise CalendarUnavailable(f"Google free/busy of {calendar_id}: {reasons}")
            for period in calendar.get("busy", []):
                span = (max(_parse(period["start"]), start), min(_parse(period["end"]), end))
                if span[1] > span[0]:
                    busy.append(BusyTime(start=span[0], end=span[1]))
        return sorted(set(busy), key=lambda b: (b.start, b.end))

    def _event_body(self, meeting: Meeting) -> dict:
        from scheduling.ics import meeting_title
        from scheduling.notifications import rep_summary_text

        body = {
            "summary": meeting_title(meeting, audience="rep"),
            "description": rep_summary_text(meeting),
            "start": {"dateTime": _rfc3339(meeting.start), "timeZone": "UTC"},
            "end": {"dateTime": _rfc3339(meeting.end), "timeZone": "UTC"},
            "status": "confirmed",
            "transparency": "opaque",
            "extendedProperties": {"private": {"leadbotMeeting": str(meeting.public_id)}},
        }
        if meeting.rep.video_link:
            body["location"] = meeting.rep.video_link
        return body

    def upsert_event(self, meeting: Meeting) -> None:
        event_id = google_event_id(meeting.calendar_uid)
        body = self._event_body(meeting)

        def write(service) -> dict:
            events = service.events()
            try:
                # sendUpdates=none: the visitor's invitation is ours (scheduling.notifications).
                return events.insert(
                    calendarId=self.target_calendar, body={"id": event_id, **body}, sendUpdates="none"
                ).execute()
            except HttpError as exc:
                if exc.resp.status != 409:
                    raise
            # The event exists (an earlier try landed, or the meeting moved): bring it up to date.
            return events.patch(
                calendarId=self.target_calendar, eventId=event_id, body=body, sendUpdates="none"
            ).execute()

        self._call("event write", write)

    def delete_event(self, meeting: Meeting) -> None:
        event_id = google_event_id(meeting.calendar_uid)

        def delete(service) -> dict:
            try:
                service.events().delete(calendarId=self.target_calendar, eventId=event_id, sendUpdates="none").execute()
            except HttpError as exc:
                if exc.resp.status not in {404, 410}:
                    raise
            return {}

        self._call("event delete", delete)
