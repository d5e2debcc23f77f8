"""Microsoft 365 (Outlook) calendars: ``msal`` for the OAuth grant, Microsoft Graph's documented REST.

- Busy times: ``POST /me/calendar/getSchedule`` for the account (or the addresses chosen as
  busy), answered in UTC (``Prefer: outlook.timezone="UTC"``); busy, tentative, out-of-office
  and working-elsewhere items count as busy, free ones do not. Calendars of the account chosen
  from its list (ids, not addresses) are read with ``calendarView`` instead (the same statuses,
  cancelled events left out, all-day events from midnight to midnight in the rep's zone).
- Meetings: each event carries our meeting's UID in a single-value extended property, so it
  is found again by that UID (``$filter`` on the property) whatever happened to an earlier
  reply: found, it is PATCHed; not found, it is created with ``transactionId`` (Graph's guard
  against a retried POST creating a second event). Cancel deletes it; nothing found is done.
  Graph's own event id is returned to be kept, so later writes go to it directly.
- Video: with ``video_meetings`` on, the event is a Teams meeting (``isOnlineMeeting``,
  ``onlineMeetingProvider: teamsForBusiness``); its ``onlineMeeting.joinUrl`` is returned.
- Visitor: an ``attendees`` entry only when their site says so (``ics.visitor_on_rep_calendar``);
  Outlook then sends the visitor its own invitation too.
- Changes made on the calendar: a ``calendarView/delta`` round over the watched stretch of time
  (the round's links are the cursor, with the calendar and the stretch they cover); an event
  reported removed is looked up by id (404: deleted; found: it moved out of the stretch); an
  expired round (410) or a stretch that no longer covers the horizon starts a new round.
- Calendars: ``GET /me/calendars`` (``canEdit``; ``teamsForBusiness`` among its allowed online
  meeting providers means it offers Teams meetings).
- OAuth: msal refreshes the access token from the refresh token when it is about to expire
  (and once after a 401); the new tokens go to ``on_tokens`` to be stored encrypted.
  ``invalid_grant`` means revoked or expired: CalendarGrantRevoked. 429/5xx/503 are
  CalendarUnavailable with the server's Retry-After.

``MICROSOFT_OAUTH_AUTHORITY`` and ``MICROSOFT_GRAPH_ENDPOINT`` point it elsewhere (the tests' fake).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import msal
import requests

from config import zones
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
SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite"]
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
# Our meeting's UID on the event (a named single-value extended property, a GUID of our own).
UID_PROPERTY = "String {6b3d7f0e-2b4a-4c1e-9a57-3f1c8d2e9b10} Name leadbotCalendarUid"
BUSY_STATUSES = {"busy", "tentative", "oof", "workingElsewhere"}
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
REFRESH_MARGIN = dt.timedelta(minutes=5)
TEAMS = "teamsForBusiness"
PAGE_SIZE = 100
MAX_PAGES = 200
PREFER_UTC = 'outlook.timezone="UTC"'


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


def _join_url(event: dict) -> str:
    return ((event.get("onlineMeeting") or {}).get("joinUrl")) or ""


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


_local = threading.local()


def _session() -> requests.Session:
    """This thread's HTTP session: its kept-alive connections to Graph and the identity platform are
    reused by the next call on the same thread instead of a new TCP and TLS handshake each time."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def transaction_id(calendar_uid: str) -> str:
    return hashlib.sha1(calendar_uid.encode()).hexdigest()


class MicrosoftCalendar:
    def __init__(
        self,
        *,
        app: MicrosoftAppConfig,
        tokens: OAuthTokens,
        busy_calendars: list[str],
        target_calendar: str,
        on_tokens: Callable[[OAuthTokens], None],
        video_meetings: bool = False,
        timezone: str = "UTC",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.tokens = tokens
        # Addresses are read with getSchedule, calendar ids (chosen from the account's list) with calendarView.
        self.busy_addresses = [item for item in busy_calendars if "@" in item]
        self.busy_calendar_ids = [item for item in busy_calendars if "@" not in item]
        self.target_calendar = target_calendar
        self.on_tokens = on_tokens
        self.video_meetings = video_meetings
        self.timezone = zones.zone_info(timezone)  # all-day events are in the rep's zone
        self.timeout = timeout

    @property
    def session(self) -> requests.Session:
        return _session()  # the calling thread's: a backend built on one thread may be used on another

    # -- OAuth ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        try:
            client = msal.ConfidentialClientApplication(
                self.app.client_id,
                client_credential=self.app.client_secret,
                authority=self.app.authority,
                instance_discovery=False,
                http_client=self.session,
                timeout=self.timeout,
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

    def _graph(
        self, what: str, method: str, path: str, *, accept: tuple[int, ...] = (404,), prefer: str = "", **kwargs
    ) -> requests.Response:
        """One Graph request; 2xx and the ``accept`` statuses are returned, everything else raised as
        CalendarUnavailable. ``path`` is below the Graph endpoint, or a link Graph gave (nextLink,
        deltaLink), which must lie below it: the access token goes nowhere else."""
        endpoint = self.app.graph_endpoint.rstrip("/")
        url = path if path.startswith("https://") else endpoint + path
        if not url.startswith(endpoint + "/"):
            raise CalendarUnavailable(f"Microsoft {what}: a link outside Graph ({url[:100]})")
        if not self._fresh():
            self._refresh()
        for attempt in range(2):
            headers = {
                "Authorization": f"Bearer {self.tokens.access_token}",
                "Prefer": ", ".join(filter(None, [PREFER_UTC, prefer])),
            }
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise CalendarUnavailable(f"Microsoft {what}: {exc}") from exc
            if response.status_code == 401 and attempt == 0:
                self._refresh()  # the token was refused before its expiry: once more with a new one
                continue
            break
        if response.ok or response.status_code in accept:
            return response
        message = f"Microsoft {what}: HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code == 401:
            raise CalendarGrantRevoked(message)
        if response.status_code in RETRY_STATUSES:
            raise CalendarUnavailable(message, retry_after=_retry_after(response))
        raise CalendarUnavailable(message)

    def _pages(self, what: str, path: str, **kwargs) -> list[dict]:
        """Every item of a paged Graph collection (following @odata.nextLink)."""
        items: list[dict] = []
        link: str | None = path
        for _ in range(MAX_PAGES):
            answer = self._graph(what, "GET", link, accept=(), **kwargs).json()
            items.extend(answer.get("value", []))
            link = answer.get("@odata.nextLink")
            kwargs.pop("params", None)  # the link carries them
            if not link:
                return items
        raise CalendarUnavailable(f"Microsoft {what}: more than {MAX_PAGES} pages")

    def account_email(self) -> str:
        me = self._graph("account", "GET", "/me", params={"$select": "mail,userPrincipalName"}).json()
        return me.get("mail") or me.get("userPrincipalName") or ""

    def busy_times(self, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
        busy: list[BusyTime] = []
        if self.busy_addresses or not self.busy_calendar_ids:
            busy += self._schedule(self.busy_addresses or [self.account_email()], start, end)
        for calendar_id in self.busy_calendar_ids:
            busy += self._calendar_view(calendar_id, start, end)
        return sorted(set(busy), key=lambda b: (b.start, b.end))

    def _schedule(self, addresses: list[str], start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
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
        return busy

    def _calendar_view(self, calendar_id: str, start: dt.datetime, end: dt.datetime) -> list[BusyTime]:
        params = {
            "startDateTime": _graph_time(start)["dateTime"] + "Z",
            "endDateTime": _graph_time(end)["dateTime"] + "Z",
            "$select": "showAs,start,end,isAllDay,isCancelled",
            "$top": str(PAGE_SIZE),
        }
        path = f"/me/calendars/{quote(calendar_id, safe='')}/calendarView"
        busy = []
        for event in self._pages("busy calendar", path, params=params):
            if event.get("isCancelled") or event.get("showAs") not in BUSY_STATUSES:
                continue
            if event.get("isAllDay"):
                # An all-day event is a day of the rep's, not of UTC.
                first, last = (dt.date.fromisoformat(event[key]["dateTime"][:10]) for key in ("start", "end"))
                e_start, e_end = (
                    dt.datetime.combine(day, dt.time.min, self.timezone).astimezone(dt.timezone.utc)
                    for day in (first, last)
                )
            else:
                e_start, e_end = _parse_graph_time(event["start"]), _parse_graph_time(event["end"])
            span = (max(e_start, start), min(e_end, end))
            if span[1] > span[0]:
                busy.append(BusyTime(start=span[0], end=span[1]))
        return busy

    def _calendar_root(self) -> str:
        return f"/me/calendars/{quote(self.target_calendar, safe='')}" if self.target_calendar else "/me"

    def _events_path(self) -> str:
        return self._calendar_root() + "/events"

    def _find(self, calendar_uid: str) -> str | None:
        uid = calendar_uid.replace("'", "''")
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROPERTY}' and ep/value eq '{uid}')",
            "$select": "id",
        }
        found = self._graph("event lookup", "GET", self._events_path(), params=params).json().get("value", [])
        return found[0]["id"] if found else None

    def _event_body(self, meeting: Meeting) -> dict:
        from scheduling.ics import meeting_title, visitor_on_rep_calendar
        from scheduling.notifications import rep_summary_text

        body = {
            "subject": meeting_title(meeting, audience="rep"),
            "body": {"contentType": "text", "content": rep_summary_text(meeting)},
            "start": _graph_time(meeting.start),
            "end": _graph_time(meeting.end),
            "showAs": "busy",
        }
        if self.video_meetings:
            body |= {"isOnlineMeeting": True, "onlineMeetingProvider": TEAMS}
        elif meeting.video_link:
            body["location"] = {"displayName": meeting.video_link}
        if visitor_on_rep_calendar(meeting):
            address = {"address": meeting.visitor_email} | (
                {"name": meeting.visitor_name} if meeting.visitor_name else {}
            )
            body["attendees"] = [{"emailAddress": address, "type": "required"}]
        return body

    def upsert_event(self, meeting: Meeting) -> WrittenEvent:
        body = self._event_body(meeting)
        event_id = meeting.calendar_event_id or self._find(meeting.calendar_uid)
        if event_id:
            response = self._graph("event move", "PATCH", f"/me/events/{quote(event_id, safe='')}", json=body)
            if response.status_code != 404:
                event = response.json()
                return WrittenEvent(event_id=event.get("id", event_id), join_url=_join_url(event))
            if meeting.calendar_event_id and (found := self._find(meeting.calendar_uid)):
                # The kept id is stale (the event was moved to another calendar): write the one found.
                event = self._graph("event move", "PATCH", f"/me/events/{quote(found, safe='')}", json=body).json()
                return WrittenEvent(event_id=event.get("id", found), join_url=_join_url(event))
        body |= {
            "transactionId": transaction_id(meeting.calendar_uid),
            "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": meeting.calendar_uid}],
        }
        response = self._graph("event write", "POST", self._events_path(), json=body)
        if response.status_code == 404:
            raise CalendarUnavailable(f"Microsoft event write: calendar {self.target_calendar!r} not found")
        event = response.json()
        return WrittenEvent(event_id=event.get("id", ""), join_url=_join_url(event))

    def delete_event(self, meeting: Meeting) -> None:
        if meeting.calendar_event_id:
            kept = self._graph("event delete", "DELETE", f"/me/events/{quote(meeting.calendar_event_id, safe='')}")
            if kept.status_code != 404:
                return
        event_id = self._find(meeting.calendar_uid)
        if event_id:
            self._graph("event delete", "DELETE", f"/me/events/{quote(event_id, safe='')}")  # 404: already gone

    # -- changes made on the calendar -----------------------------------------------------------

    def event_changes(
        self, *, cursor: str, known: Mapping[str, str], start: dt.datetime, end: dt.datetime
    ) -> ChangeSet:
        learned = {uid: found for uid, event_id in known.items() if not event_id and (found := self._find(uid))}
        ours = {event_id: uid for uid, event_id in known.items() if event_id} | {v: k for k, v in learned.items()}
        state = self._round(cursor, end)
        items, link = None, state.get("link")
        if link:
            items, link = self._delta(link)  # None: the round expired
        if items is None:
            state = {"calendar": self.target_calendar, "until": end.isoformat()}
            params = {
                "startDateTime": _graph_time(start)["dateTime"] + "Z",
                "endDateTime": _graph_time(end)["dateTime"] + "Z",
            }
            items, link = self._delta(self._calendar_root() + "/calendarView/delta", params=params)
            if items is None:
                raise CalendarUnavailable("Microsoft event changes: a new delta round was refused (410)")
        changes = []
        for item in items:
            uid = ours.get(item.get("id", ""))
            if uid is None:
                continue
            if "@removed" in item:
                # Removed from the stretch watched: deleted, or moved out of it. Graph says which on a read.
                response = self._graph("event read", "GET", f"/me/events/{quote(item['id'], safe='')}")
                if response.status_code == 404:
                    changes.append(EventChange(uid=uid, deleted=True))
                    continue
                item = response.json()
            changes.append(self._change(uid, item))
        return ChangeSet(changes=changes, cursor=json.dumps(state | {"link": link}), event_ids=learned)

    def _round(self, cursor: str, end: dt.datetime) -> dict:
        """The stored round, if it still fits: the same calendar, a stretch reaching ``end``."""
        try:
            state = json.loads(cursor) if cursor else {}
            covers = dt.datetime.fromisoformat(state.get("until", "")) >= end - dt.timedelta(days=1)
        except (ValueError, TypeError, AttributeError):
            return {}
        return state if covers and state.get("calendar") == self.target_calendar else {}

    def _delta(self, link: str, **kwargs) -> tuple[list[dict] | None, str]:
        """Every page of a delta round from ``link``: (items, the deltaLink to go on from), or (None, "")
        when Graph says the round expired (410 Gone: a new round is needed)."""
        items: list[dict] = []
        for _ in range(MAX_PAGES):
            response = self._graph(
                "event changes", "GET", link, accept=(410,), prefer=f"odata.maxpagesize={PAGE_SIZE}", **kwargs
            )
            if response.status_code == 410:
                return None, ""
            answer = response.json()
            items.extend(answer.get("value", []))
            kwargs.pop("params", None)
            if answer.get("@odata.deltaLink"):
                return items, answer["@odata.deltaLink"]
            link = answer.get("@odata.nextLink")
            if not link:
                raise CalendarUnavailable("Microsoft event changes: a page with neither nextLink nor deltaLink")
        raise CalendarUnavailable(f"Microsoft event changes: more than {MAX_PAGES} pages")

    @staticmethod
    def _change(uid: str, event: dict) -> EventChange:
        if event.get("isCancelled"):
            return EventChange(uid=uid, deleted=True)
        if event.get("isAllDay") or not event.get("start") or not event.get("end"):
            return EventChange(uid=uid, join_url=_join_url(event))  # made all-day: no time to follow
        return EventChange(
            uid=uid,
            start=_parse_graph_time(event["start"]),
            end=_parse_graph_time(event["end"]),
            join_url=_join_url(event),
        )

    def list_calendars(self) -> list[CalendarInfo]:
        params = {"$select": "id,name,isDefaultCalendar,canEdit,allowedOnlineMeetingProviders", "$top": "100"}
        return [
            CalendarInfo(
                id=entry["id"],
                name=entry.get("name") or entry["id"],
                primary=bool(entry.get("isDefaultCalendar")),
                can_write=bool(entry.get("canEdit")),
                video=TEAMS in (entry.get("allowedOnlineMeetingProviders") or []),
            )
            for entry in self._pages("calendar list", "/me/calendars", params=params)
        ]
