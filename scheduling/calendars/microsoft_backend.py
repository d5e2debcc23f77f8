"""Microsoft 365 (Outlook) calendars: ``msal`` for the OAuth grant, Microsoft Graph's documented REST.

- Busy times: ``POST /me/calendar/getSchedule`` for the account (or the addresses chosen as
  busy), answered in UTC (``Prefer: outlook.timezone="UTC"``); busy, tentative, out-of-office
  and working-elsewhere items count as busy, free ones do not.
- Meetings: each event carries our meeting's UID in a single-value extended property, so it
  is found again by that UID (``$filter`` on the property) whatever happened to an earlier
  reply: found, it is PATCHed; not found, it is created with ``transactionId`` (Graph's guard
  against a retried POST creating a second event). Cancel deletes it; nothing found is done.
- OAuth: msal refreshes the access token from the refresh token when it is about to expire
  (and once after a 401); the new tokens go to ``on_tokens`` to be stored encrypted.
  ``invalid_grant`` means revoked or expired: CalendarGrantRevoked. 429/5xx/503 are
  CalendarUnavailable with the server's Retry-After.

``MICROSOFT_OAUTH_AUTHORITY`` and ``MICROSOFT_GRAPH_ENDPOINT`` point it elsewhere (the tests' fake).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msal
import requests

from scheduling.calendars.base import BusyTime, CalendarGrantRevoked, CalendarUnavailable, OAuthTokens

if TYPE_CHECKING:
    from scheduling.models import Meeting

TIMEOUT_SECONDS = 15
SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite"]
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
# Our meeting's UID on the event (a named single-value extended property, a GUID of our own).
UID_PROPERTY = "String {6b3d7f0e-2b4a-4c1e-9a57-3f1c8d2e9b10} Name leadbotCalendarUid"
BUSY_STATUSES = {"busy", "tentative", "oof", "workingElsewhere"}
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
REFRESH_MARGIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class MicrosoftAppConfig:
    client_id: str
    client_secret: str
    authority: str = DEFAULT_AUTHORITY
    graph_endpoint: str = DEFAULT_GRAPH


def _graph_time(value: dt.datetime) -> dict:
    return {"dateTime": value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _parse_graph_time(value: dict) -> dt.datetime:
    # Asked in UTC (Prefer header): "2026-12-07T09:00:00.0000000".
    return dt.datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=dt.timezone.utc)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def transaction_id(calendar_uid: str) -> str:
    return hashlib.sha1(calendar_uid.encode()).hexdigest()


class MicrosoftCalendar:
    def __init__(
        self,
        *,
        app: MicrosoftAppConfig,
        tokens: OAuthTokens,
        busy_addresses: list[str],
        target_calendar: str,
        on_tokens: Callable[[OAuthTokens], None],
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.busy_addresses = busy_addresses
        self.target_calendar = target_calendar
        self.on_tokens = on_tokens
        self.session = requests.Session()

    # -- OAuth ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        try:
            client = msal.ConfidentialClientApplication(
                self.app.client_id,
                client_credential=self.app.client_secret,
                authority=self.app.authority,
                instance_discovery=False,
                http_client=self.session,
                timeout=TIMEOUT_SECONDS,
            )
            answer = client.acquire_token_by_refresh_token(self.tokens.refresh_token, scopes=SCOPES)
        except (requests.RequestException, ValueError) as exc:
            raise CalendarUnavailable(f"Microsoft sign-in: {exc}") from exc
        if "access_token" not in answer:
            error = f"{answer.get('error')}: {answer.get('error_description', '')}"
            if answer.get("error") == "invalid_grant":
                raise CalendarGrantRevoked(f"Microsoft: the grant was revoked or has expired ({error})")
            raise CalendarUnavailable(f"Microsoft token refresh failed ({error})")
        self.tokens = OAuthTokens(
            access_token=answer["access_token"],
            refresh_token=answer.get("refresh_token") or self.tokens.refresh_token,
            expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(answer.get("expires_in", 3600))),
        )
        self.on_tokens(self.tokens)

    def _fresh(self) -> bool:
        expires = self.tokens.expires_at
        return (
            bool(self.tokens.access_token)
            and expires is not None
            and expires - REFRESH_MARGIN > dt.datetime.now(dt.timezone.utc)
        )

    # -- Graph ---------------------------------------------------------------------------------

    def _graph(self, what: str, method: str, path: str, **kwargs) -> requests.Response:
        """One Graph request; 2xx and 404 are returned, everything else raised as CalendarUnavailable."""
        if not self._fresh():
            self._refresh()
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.tokens.access_token}", "Prefer": 'outlook.timezone="UTC"'}
            try:
                response = self.session.request(
                    method,
                    self.app.graph_endpoint.rstrip("/") + path,
                    headers=headers,
                    timeout=TIMEOUT_SECONDS,
                    **kwargs,
                )
            except requests.RequestException as exc:
                raise CalendarUnavailable(f"Microsoft {what}: {exc}") from exc
            if response.status_code == 401 and attempt == 0:
                self._refresh()  # the token was refused before its expiry: once more with a new one
                continue
            break
        if response.ok or response.status_code == 404:
            return response
        message = f"Microsoft {what}: HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code == 401:
            raise CalendarGrantRevoked(message)
        if response.status_code in RETRY_STATUSES:
            raise CalendarUnavailable(message, retry_after=_retry_after(response))
        raise CalendarUnavailable(message)

    def account_email(self) -> str:
        me = self._graph("account", "GET", "/me", params={"$select": "mail,userPrincipalName"}).json()
        return me.get("mail") or me.get("userPrincipalName") or ""

    def busy_times(self, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
        addresses = self.busy_addresses or [self.account_email()]
        body = {
            "schedules": addresses,
            "startTime": _graph_time(start),
            "endTime": _graph_time(end),
            "availabilityViewInterval": 15,
        }
        answer = self._graph("free/busy", "POST", "/me/calendar/getSchedule", json=body).json()
        busy = []
        for schedule in answer.get("value", []):
            if schedule.get("error"):
                raise CalendarUnavailable(f"Microsoft free/busy of {schedule.get('scheduleId')}: {schedule['error']}")
            for item in schedule.get("scheduleItems", []):
                if item.get("status") not in BUSY_STATUSES:
                    continue
                span = (max(_parse_graph_time(item["start"]), start), min(_parse_graph_time(item["end"]), end))
                if span[1] > span[0]:
                    busy.append(BusyTime(start=span[0], end=span[1]))
        return sorted(set(busy), key=lambda b: (b.start, b.end))

    def _events_path(self) -> str:
        return f"/me/calendars/{self.target_calendar}/events" if self.target_calendar else "/me/events"

    def _find(self, meeting: Meeting) -> str | None:
        uid = meeting.calendar_uid.replace("'", "''")
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROPERTY}' and ep/value eq '{uid}')",
            "$select": "id",
        }
        found = self._graph("event lookup", "GET", self._events_path(), params=params).json().get("value", [])
        return found[0]["id"] if found else None

    def _event_body(self, meeting: Meeting) -> dict:
        from scheduling.ics import meeting_title
        from scheduling.notifications import rep_summary_text

        body = {
            "subject": meeting_title(meeting, audience="rep"),
            "body": {"contentType": "text", "content": rep_summary_text(meeting)},
            "start": _graph_time(meeting.start),
            "end": _graph_time(meeting.end),
            "showAs": "busy",
        }
        if meeting.rep.video_link:
            body["location"] = {"displayName": meeting.rep.video_link}
        return body

    def upsert_event(self, meeting: Meeting) -> None:
        body = self._event_body(meeting)
        event_id = self._find(meeting)
        if event_id:
            response = self._graph("event move", "PATCH", f"/me/events/{event_id}", json=body)
            if response.status_code != 404:
                return
        body |= {
            "transactionId": transaction_id(meeting.calendar_uid),
            "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": meeting.calendar_uid}],
        }
        response = self._graph("event write", "POST", self._events_path(), json=body)
        if response.status_code == 404:
            raise CalendarUnavailable(f"Microsoft event write: calendar {self.target_calendar!r} not found")

    def delete_event(self, meeting: Meeting) -> None:
        event_id = self._find(meeting)
        if event_id:
            self._graph("event delete", "DELETE", f"/me/events/{event_id}")  # 404: already gone
