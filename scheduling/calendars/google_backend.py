"""Google Calendar through Google's own client (``google-api-python-client`` + ``google-auth``).

- Busy times: ``freeBusy.query`` over the connection's busy calendars (Google decides what is
  busy: opaque, not declined events, out-of-office included; all-day events in the calendar's
  own zone). freeBusy names no events, so the busy times carry no uid.
- Meetings: ``events.insert`` with an id derived from the meeting's stable UID, so a retried
  insert whose first try did land answers 409 and becomes an ``events.patch`` of that same
  event: a meeting lands exactly once however often its write is retried. Cancel is
  ``events.delete``; an event already gone (404/410) is not an error.
- Video: with ``video_meetings`` on, the insert asks for a Google Meet conference
  (``conferenceData.createRequest``, ``conferenceDataVersion=1``); its join link comes back on the
  event (``hangoutLink``), or on a later read of the changes when Google creates it asynchronously.
- Visitor: named in ``attendees`` only when their site says so (``ics.visitor_on_rep_calendar``);
  ``sendUpdates=none`` always, as our own invitation goes to the visitor.
- Changes made on the calendar: ``events.list`` of the target calendar with the sync token of the
  previous read (deleted events always included); a first read lists from the watched start with
  ``showDeleted``; a token Google refuses with 410 Gone is dropped and everything listed again.
  Our events are recognised by their id (``google_event_id`` of the meeting's UID).
- Calendars: ``calendarList.list`` (writable ones can receive meetings; ``hangoutsMeet`` among a
  calendar's allowed conference types means it offers Google Meet).
- OAuth: the access token is refreshed by google-auth before it expires (and once on a 401);
  a refreshed token is handed to ``on_tokens`` to be stored (encrypted). A refresh refused
  with ``invalid_grant`` means the rep revoked access or the grant expired:
  CalendarGrantRevoked. 429 and 5xx (and 403 rate limits) are CalendarUnavailable with the
  server's Retry-After, so the write is tried again later.

The request shapes come from the discovery document shipped inside the client library (read and
parsed once per process); ``GOOGLE_CALENDAR_API_ENDPOINT`` and ``GOOGLE_OAUTH_TOKEN_URI``
point it elsewhere (the tests' fake server).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError

from scheduling.calendars.base import (
    BusyTime,
    CalendarGrantRevoked,
    CalendarInfo,
    CalendarUnavailable,
    ChangeSet,
    EventChange,
    OAuthTokens,
    WrittenEvent,
)

if TYPE_CHECKING:
    from scheduling.models import Meeting

TIMEOUT_SECONDS = 15
SCOPES = ["https://www.googleapis.com/auth/calendar"]
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
PRIMARY = "primary"
# Statuses that mean "try again later" (403 only with a rate-limit reason, see _unavailable).
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
MEET = "hangoutsMeet"
WRITER_ROLES = {"writer", "owner"}
PAGE_SIZE = 250
MAX_PAGES = 200  # a listing that never ends is a server fault, not a reason to loop forever


_local = threading.local()


def _http(timeout: float) -> httplib2.Http:
    """This thread's HTTP client (httplib2 is not thread-safe): its kept-alive connections to Google are
    reused by the next call on the same thread instead of a new TCP and TLS handshake each time."""
    clients = _local.__dict__.setdefault("clients", {})
    if timeout not in clients:
        clients[timeout] = httplib2.Http(timeout=timeout)
    return clients[timeout]


@functools.cache
def _discovery() -> dict:
    """The Calendar API's discovery document shipped with the client, parsed once (parsing it on every
    call costs more than the call itself when many reps are read at once)."""
    return json.loads(get_static_doc("calendar", "v3"))


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


def join_url(event: dict) -> str:
    """The video link Google attached to an event: its Meet link, or the conference's video entry point."""
    if event.get("hangoutLink"):
        return event["hangoutLink"]
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return ""


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
        video_meetings: bool = False,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.busy_calendars = busy_calendars or [PRIMARY]
        self.target_calendar = target_calendar or PRIMARY
        self.on_tokens = on_tokens
        self.video_meetings = video_meetings
        self.timeout = timeout

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
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=_http(self.timeout))
        options = {"api_endpoint": self.app.api_endpoint} if self.app.api_endpoint else None
        try:
            service = build_from_document(_discovery(), http=http, client_options=options)
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
        from scheduling.ics import meeting_title, visitor_on_rep_calendar
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
        if meeting.video_link and not self.video_meetings:
            body["location"] = meeting.video_link
        if visitor_on_rep_calendar(meeting):
            attendee = {"email": meeting.visitor_email, "responseStatus": "needsAction"}
            body["attendees"] = [attendee | ({"displayName": meeting.visitor_name} if meeting.visitor_name else {})]
        return body

    def upsert_event(self, meeting: Meeting) -> WrittenEvent:
        event_id = google_event_id(meeting.calendar_uid)
        body = self._event_body(meeting)
        video = {"conferenceDataVersion": 1} if self.video_meetings else {}
        conference = {
            "createRequest": {
                # Stable per meeting: Google ignores a request id it has seen, so a retried insert asks once.
                "requestId": google_event_id(f"meet:{meeting.calendar_uid}"),
                "conferenceSolutionKey": {"type": MEET},
            }
        }

        if video:
            body["conferenceData"] = conference

        def write(service) -> dict:
            events = service.events()
            try:
                # sendUpdates=none: the visitor's invitation is ours (scheduling.notifications).
                return events.insert(
                    calendarId=self.target_calendar, body={"id": event_id, **body}, sendUpdates="none", **video
                ).execute()
            except HttpError as exc:
                if exc.resp.status != 409:
                    raise
            # The event exists (an earlier try landed, or the meeting moved): bring it up to date. Its
            # conference is kept: Google ignores a create request whose id it has already seen.
            return events.patch(
                calendarId=self.target_calendar, eventId=event_id, body=body, sendUpdates="none", **video
            ).execute()

        event = self._call("event write", write)
        return WrittenEvent(event_id=event.get("id", event_id), join_url=join_url(event))

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

    def event_changes(
        self, *, cursor: str, known: Mapping[str, str], start: dt.datetime, end: dt.datetime
    ) -> ChangeSet:
        ours = {google_event_id(uid): uid for uid in known}

        def read(service) -> dict:
            try:
                return self._list_events(service, cursor=cursor, start=start)
            except HttpError as exc:
                if exc.resp.status != 410 or not cursor:
                    raise
            # 410 Gone: the sync token expired (or Google wants a full sync): list everything again.
            return self._list_events(service, cursor="", start=start)

        answer = self._call("event changes", read)
        changes = []
        for event in answer["items"]:
            uid = ours.get(event.get("id", ""))
            if uid is None:
                continue
            if event.get("status") == "cancelled":
                changes.append(EventChange(uid=uid, deleted=True))
            elif "dateTime" in (event.get("start") or {}) and "dateTime" in (event.get("end") or {}):
                changes.append(
                    EventChange(
                        uid=uid,
                        start=_parse(event["start"]["dateTime"]),
                        end=_parse(event["end"]["dateTime"]),
                        join_url=join_url(event),
                    )
                )
            else:
                changes.append(EventChange(uid=uid, join_url=join_url(event)))  # made all-day: no time to follow
        return ChangeSet(changes=changes, cursor=answer["token"])

    def _list_events(self, service, *, cursor: str, start: dt.datetime) -> dict:
        """Every page of one events.list (a full listing from ``start``, or the changes since ``cursor``)."""
        # Incremental reads take the same parameters as the first one, minus timeMin (Google refuses it
        # with a sync token); deleted events come with a sync token whatever showDeleted says.
        params = {"calendarId": self.target_calendar, "showDeleted": True, "maxResults": PAGE_SIZE}
        params |= {"syncToken": cursor} if cursor else {"timeMin": _rfc3339(start)}
        items: list[dict] = []
        page = None
        for _ in range(MAX_PAGES):
            answer = service.events().list(**params, **({"pageToken": page} if page else {})).execute()
            items.extend(answer.get("items") or [])
            page = answer.get("nextPageToken")
            if not page:
                return {"items": items, "token": answer.get("nextSyncToken", "")}
        raise CalendarUnavailable(f"Google event changes: more than {MAX_PAGES} pages")

    def list_calendars(self) -> list[CalendarInfo]:
        def read(service) -> dict:
            entries, page = [], None
            for _ in range(MAX_PAGES):
                answer = service.calendarList().list(**({"pageToken": page} if page else {})).execute()
                entries.extend(answer.get("items") or [])
                page = answer.get("nextPageToken")
                if not page:
                    break
            return {"items": entries}

        return [
            CalendarInfo(
                id=entry["id"],
                name=entry.get("summaryOverride") or entry.get("summary") or entry["id"],
                primary=bool(entry.get("primary")),
                can_write=entry.get("accessRole") in WRITER_ROLES,
                video=MEET in ((entry.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes") or []),
            )
            for entry in self._call("calendar list", read)["items"]
            if not entry.get("deleted")
        ]
