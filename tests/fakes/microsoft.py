"""A fake Microsoft identity platform and Microsoft Graph (the calendar subset we use), over TLS
on a loopback port (msal accepts only https authorities; the tests trust the fake's own
certificate through REQUESTS_CA_BUNDLE).

Graph ships no machine-readable schema with msal, so the fake holds the documented shapes of
the requests we make (paths, methods, query options, the event and getSchedule bodies, their
property names and enums, dateTimeTimeZone values) and refuses anything else with 400,
recording it in ``violations``, which the fixture fails the test on, as Graph answers an
unknown property with 400 too. It answers: the OpenID configuration msal reads, the token
endpoint's refresh_token grant (invalid_grant once revoked), GET /me, POST
/me/calendar/getSchedule, events list with the extended-property $filter, create
(``transactionId``: a repeated POST returns the event it created; ``isOnlineMeeting`` with
``teamsForBusiness`` makes a Teams meeting with its ``onlineMeeting.joinUrl``), GET, PATCH and
DELETE of an event, GET /me/calendars, calendarView of a calendar (paged with ``@odata.nextLink``),
and ``calendarView/delta`` rounds (the window on the first request only, ``$select`` refused as
Graph documents, ``Prefer: odata.maxpagesize`` pages, removed events as ``@removed``, an expired
round 410 Gone ``SyncStateNotFound``); 401 for an unknown or expired token; faults queued by the
test (429 with Retry-After, 5xx, before or after the change is applied); and a round-trip delay
(``latency``) for benchmarks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.http import FakeService, Fault

TENANT = "11111111-2222-3333-4444-555555555555"
GRAPH = "/v1.0"
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")  # no offset: the zone is separate
FILTER_RE = re.compile(
    r"^singleValueExtendedProperties/Any\(ep: ep/id eq '(?P<id>String \{[0-9a-f-]{36}\} Name \w+)' "
    r"and ep/value eq '(?P<value>(?:[^']|'')*)'\)$"
)
SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
# The event properties we may write (microsoft.graph.event, documented subset) and how to check them.
EVENT_FIELDS = {
    "subject": "string",
    "body": "itemBody",
    "start": "dateTimeTimeZone",
    "end": "dateTimeTimeZone",
    "location": "location",
    "showAs": "showAs",
    "transactionId": "string",
    "singleValueExtendedProperties": "extendedProperties",
    "isOnlineMeeting": "boolean",
    "onlineMeetingProvider": "onlineMeetingProviderType",
    "attendees": "attendees",
}
ONLINE_MEETING_PROVIDERS = {"unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"}
ATTENDEE_TYPES = {"required", "optional", "resource"}
TEAMS = "teamsForBusiness"
UTC_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fake-microsoft.pem", folder / "fake-microsoft.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _check_event(body, *, creating: bool) -> list[str]:
    if not isinstance(body, dict):
        return ["the body must be an event object"]
    errors = []
    for key, value in body.items():
        kind = EVENT_FIELDS.get(key)
        if kind is None:
            errors.append(f"Invalid property {key!r} on microsoft.graph.event")
        elif kind == "string" and not isinstance(value, str):
            errors.append(f"{key} must be a string")
        elif kind == "dateTimeTimeZone":
            if not isinstance(value, dict) or set(value) != {"dateTime", "timeZone"}:
                errors.append(f"{key} must be a dateTimeTimeZone {{dateTime, timeZone}}")
            elif not DATE_TIME_RE.match(str(value["dateTime"])) or not value["timeZone"]:
                errors.append(f"{key}.dateTime {value['dateTime']!r} is not a local date-time")
        elif kind == "itemBody" and (
            not isinstance(value, dict)
            or set(value) - {"contentType", "content"}
            or value.get("contentType") not in {"text", "html"}
        ):
            errors.append(f"{key} must be an itemBody with contentType text or html")
        elif kind == "location" and (not isinstance(value, dict) or set(value) - {"displayName"}):
            errors.append(f"{key} must be a location {{displayName}}")
        elif kind == "showAs" and value not in SHOW_AS:
            errors.append(f"showAs {value!r} not one of {sorted(SHOW_AS)}")
        elif kind == "boolean" and not isinstance(value, bool):
            errors.append(f"{key} must be true or false")
        elif kind == "onlineMeetingProviderType" and value not in ONLINE_MEETING_PROVIDERS:
            errors.append(f"onlineMeetingProvider {value!r} not one of {sorted(ONLINE_MEETING_PROVIDERS)}")
        elif kind == "attendees" and (
            not isinstance(value, list)
            or not all(
                isinstance(a, dict)
                and set(a) <= {"emailAddress", "type"}
                and a.get("type", "required") in ATTENDEE_TYPES
                and isinstance(a.get("emailAddress"), dict)
                and set(a["emailAddress"]) <= {"address", "name"}
                and "@" in str(a["emailAddress"].get("address", ""))
                for a in value
            )
        ):
            errors.append(f"{key} must be a list of attendees {{emailAddress: {{address, name}}, type}}")
        elif kind == "extendedProperties" and (
            not isinstance(value, list)
            or not all(isinstance(p, dict) and set(p) == {"id", "value"} and FILTER_RE.pattern for p in value)
        ):
            errors.append(f"{key} must be a list of {{id, value}}")
    if creating and not {"start", "end"} <= set(body):
        errors.append("an event needs start and end")
    return errors


class FakeMicrosoft(FakeService):
    def __init__(self, folder: Path, *, client_id: str = "leadbot-ms-client", client_secret: str = "leadbot-ms-secret"):
        self.cert_path, key_path = self_signed_certificate(folder)
        super().__init__(certificate=(self.cert_path, key_path))
        self.client_id, self.client_secret = client_id, client_secret
        self.account_email = "mia@contoso.example"
        self.events: dict[str, dict] = {}  # id -> event (with its calendar id under "_calendar")
        self.calendars: set[str] = {"default"}
        self.calendar_names: dict[str, str] = {"default": "Calendar"}
        self.read_only_calendars: set[str] = set()
        self.calendars_without_teams: set[str] = set()
        # Change tracking for delta rounds: every change to an event gets the next number.
        self.version = 0
        self.changed: dict[str, int] = {}  # event id -> version of its last change
        self.removed: dict[str, tuple[str, int]] = {}  # event id -> (calendar, version when deleted)
        self.delta_states: dict[str, dict] = {}  # $deltatoken / $skiptoken -> the round's state
        self.transactions: dict[str, str] = {}  # transactionId -> event id
        self.schedule_items: dict[str, list[dict]] = {}  # address -> items the rep made elsewhere
        self.calls: list[tuple[str, str]] = []
        self.authority = f"{self.base_url}/{TENANT}"
        self.graph_endpoint = self.base_url + GRAPH

    # -- the test's side ---------------------------------------------------------------------

    def add_busy(self, start: dt.datetime, end: dt.datetime, status: str = "busy", address: str = "") -> None:
        """Something on the rep's Outlook calendar that is not ours."""
        with self.lock:
            self.schedule_items.setdefault(address or self.account_email, []).append(
                {"status": status, "start": start, "end": end}
            )

    def add_event(self, start: dt.datetime, end: dt.datetime, *, calendar: str = "default", **fields) -> dict:
        """An event the rep made in Outlook (shown by calendarView and getSchedule)."""
        with self.lock:
            self.calendars.add(calendar)
            event = {
                "id": secrets.token_urlsafe(12),
                "_calendar": calendar,
                "subject": "Busy",
                "showAs": "busy",
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                **fields,
            }
            self.events[event["id"]] = event
            self._touch(event["id"])
            return event

    def rep_moves(self, event_id: str, start: dt.datetime, end: dt.datetime) -> None:
        """The rep drags the event to another time in Outlook."""
        with self.lock:
            event = self.events[event_id]
            event["start"] = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
            event["end"] = {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
            self._touch(event_id)

    def rep_deletes(self, event_id: str) -> None:
        """The rep deletes the event in Outlook."""
        with self.lock:
            event = self.events.pop(event_id)
            self.version += 1
            self.removed[event_id] = (event["_calendar"], self.version)

    def expire_delta_rounds(self) -> None:
        """Graph forgets every delta round (the client must start a new one)."""
        with self.lock:
            self.delta_states.clear()

    def _touch(self, event_id: str) -> None:
        self.version += 1
        self.changed[event_id] = self.version

    def live_events(self) -> list[dict]:
        with self.lock:
            return list(self.events.values())

    def called(self, what: str) -> int:
        return sum(1 for call, _ in self.calls if call == what)

    # -- the server's side -------------------------------------------------------------------

    @staticmethod
    def _error(code: str, message: str) -> dict:
        return {"error": {"code": code, "message": message}}

    def _reject(self, handler, message: str) -> None:
        with self.lock:
            self.violations.append(message)
        self._reply(handler, 400, self._error("BadRequest", message))

    def _fault(self, handler, fault: Fault) -> None:
        headers = self._retry_after(fault)
        code = "TooManyRequests" if fault.status == 429 else "ServiceNotAvailable"
        self._reply(handler, fault.status, self._error(code, "Fault injected by the test"), headers)

    def _answer(self, handler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        query = {name: values[-1] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == f"/{TENANT}/v2.0/.well-known/openid-configuration" and method == "GET":
            return self._reply(
                handler,
                200,
                {
                    "issuer": f"{self.base_url}/{TENANT}/v2.0",
                    "authorization_endpoint": f"{self.base_url}/{TENANT}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{self.base_url}/{TENANT}/oauth2/v2.0/token",
                },
            )
        if url.path == f"/{TENANT}/oauth2/v2.0/authorize" and method == "GET":
            return self._consent(handler, query)
        if url.path == f"/{TENANT}/oauth2/v2.0/token" and method == "POST":
            return self._token(handler, {k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        if not url.path.startswith(GRAPH + "/"):
            return self._reject(handler, f"{method} {url.path}: not an endpoint of the fake")
        path = url.path[len(GRAPH) :]
        route = self._route(method, path)
        if route is None:
            return self._reject(handler, f"{method} {path}: not a Graph call we make")
        what, params = route
        allowed_query = {
            "list": {"$filter", "$select"},
            "me": {"$select"},
            "calendars": {"$select", "$top", "$skip"},
            "calendarView": {"startDateTime", "endDateTime", "$select", "$top", "$skip"},
        }.get(what, set())
        if what == "delta":
            # The first request of a round names the window; the links Graph gives carry one token only.
            tokens = {"$deltatoken", "$skiptoken"} & set(query)
            allowed_query = tokens if len(tokens) == 1 else {"startDateTime", "endDateTime"}
        if set(query) - allowed_query:
            return self._reject(handler, f"{what}: unexpected query options {sorted(set(query) - allowed_query)}")
        body = None
        if method in {"POST", "PATCH"}:
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return self._reject(handler, f"{what}: the body is not JSON")
        elif raw:
            return self._reject(handler, f"{what}: this request takes no body")
        errors = self._check(what, body, query)
        if errors:
            return self._reject(handler, f"{what}: " + "; ".join(errors))
        if not self._authorized(handler):
            return self._reply(handler, 401, self._error("InvalidAuthenticationToken", "Access token has expired."))
        fault = self._take_fault(what)
        if fault and not fault.after_applying:
            return self._fault(handler, fault)
        with self.lock:
            self.calls.append((what, path))
            status, answer = self._apply(what, params, body, query, handler.headers.get("Prefer", ""))
        if fault:
            return self._fault(handler, fault)
        return self._reply(handler, status, answer)

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, dict] | None:
        routes = [
            ("GET", r"/me", "me"),
            ("POST", r"/me/calendar/getSchedule", "getSchedule"),
            ("GET", r"/me/events", "list"),
            ("GET", r"/me/calendars/(?P<calendar>[^/]+)/events", "list"),
            ("POST", r"/me/events", "create"),
            ("POST", r"/me/calendars/(?P<calendar>[^/]+)/events", "create"),
            ("PATCH", r"/me/events/(?P<event>[^/]+)", "patch"),
            ("DELETE", r"/me/events/(?P<event>[^/]+)", "delete"),
            ("GET", r"/me/events/(?P<event>[^/]+)", "read"),
            ("GET", r"/me/calendars", "calendars"),
            ("GET", r"/me/calendars/(?P<calendar>[^/]+)/calendarView", "calendarView"),
            ("GET", r"/me/calendarView/delta", "delta"),
            ("GET", r"/me/calendars/(?P<calendar>[^/]+)/calendarView/delta", "delta"),
        ]
        for verb, pattern, what in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return what, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    def _check(self, what: str, body, query: dict) -> list[str]:
        if what == "list" and "$filter" in query and not FILTER_RE.match(query["$filter"]):
            return [f"$filter {query['$filter']!r} is not a supported filter"]
        if what in {"calendarView", "delta"} and not ({"$deltatoken", "$skiptoken"} & set(query)):
            errors = [
                f"{key} must be an ISO 8601 UTC date-time, e.g. 2026-12-07T00:00:00Z"
                for key in ("startDateTime", "endDateTime")
                if not UTC_DATE_TIME_RE.match(query.get(key, ""))
            ]
            return errors
        if what == "create":
            return _check_event(body, creating=True)
        if what == "patch":
            errors = _check_event(body, creating=False)
            return errors + (["transactionId is set on create only"] if "transactionId" in (body or {}) else [])
        if what == "getSchedule":
            if not isinstance(body, dict) or set(body) - {
                "schedules",
                "startTime",
                "endTime",
                "availabilityViewInterval",
            }:
                return ["getSchedule takes schedules, startTime, endTime, availabilityViewInterval"]
            errors = []
            if not body.get("schedules") or not all(isinstance(s, str) and "@" in s for s in body["schedules"]):
                errors.append("schedules must list SMTP addresses")
            for key in ("startTime", "endTime"):
                value = body.get(key)
                if (
                    not isinstance(value, dict)
                    or set(value) != {"dateTime", "timeZone"}
                    or not DATE_TIME_RE.match(value["dateTime"])
                ):
                    errors.append(f"{key} must be a dateTimeTimeZone")
            interval = body.get("availabilityViewInterval", 30)
            if not isinstance(interval, int) or not 5 <= interval <= 1440:
                errors.append("availabilityViewInterval must be 5-1440 minutes")
            return errors
        return []

    def _authorized(self, handler) -> bool:
        header = handler.headers.get("Authorization", "")
        token, now = header.removeprefix("Bearer "), dt.datetime.now(dt.timezone.utc)
        with self.lock:
            return header.startswith("Bearer ") and any(
                not a.revoked and a.access_tokens.get(token, now) > now for a in self.accounts
            )

    def _consent(self, handler, query: dict) -> None:
        """The consent screen, already agreed to: back to the redirect URI with a code and the state."""
        scopes = query.get("scope", "").split()
        problems = [
            problem
            for problem, bad in [
                ("unknown client_id", query.get("client_id") != self.client_id),
                ("response_type must be code", query.get("response_type") != "code"),
                ("no redirect_uri or state", not query.get("redirect_uri") or not query.get("state")),
                ("no Calendars.ReadWrite scope", "https://graph.microsoft.com/Calendars.ReadWrite" not in scopes),
                ("no offline_access (no refresh token)", "offline_access" not in scopes),
                ("PKCE: code_challenge_method must be S256", query.get("code_challenge_method") != "S256"),
                ("PKCE: no code_challenge", not query.get("code_challenge")),
            ]
            if bad
        ]
        if problems:
            return self._reject(handler, "authorize: " + "; ".join(problems))
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = query
        handler.send_response(302)
        handler.send_header("Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _exchange_code(self, handler, form: dict) -> None:
        with self.lock:
            asked = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if asked is None or challenge != asked["code_challenge"] or form.get("redirect_uri") != asked["redirect_uri"]:
            return self._reply(handler, 400, {"error": "invalid_grant", "error_description": "AADSTS70000/501481"})
        access, refresh, _ = self.grant()
        answer = {"token_type": "Bearer", "scope": asked["scope"], "expires_in": 3599}
        return self._reply(handler, 200, answer | {"access_token": access, "refresh_token": refresh})

    def _token(self, handler, form: dict) -> None:
        fault = self._take_fault("token")
        if fault:
            return self._fault(handler, fault)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._reply(handler, 401, {"error": "invalid_client", "error_description": "AADSTS7000215"})
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(handler, form)
        if form.get("grant_type") != "refresh_token" or "offline_access" not in form.get("scope", "").split():
            with self.lock:
                self.violations.append(f"token endpoint: unexpected request {sorted(form)}")
            return self._reply(handler, 400, {"error": "invalid_request"})
        with self.lock:
            account = next((a for a in self.accounts if a.refresh_token == form.get("refresh_token")), None)
            if account is None or account.revoked:
                return self._reply(
                    handler,
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS70008: the refresh token has expired or was revoked",
                    },
                )
            self.token_refreshes += 1
            access = secrets.token_urlsafe(16)
            account.access_tokens[access] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3599)
        answer = {"token_type": "Bearer", "scope": form["scope"], "expires_in": 3599, "access_token": access}
        return self._reply(handler, 200, answer)

    # -- Graph's answers (under self.lock) -----------------------------------------------------

    def _apply(self, what: str, params: dict, body, query: dict, prefer: str) -> tuple[int, dict | None]:
        if what == "me":
            return 200, {"mail": self.account_email, "userPrincipalName": self.account_email}
        if what == "getSchedule":
            return 200, self._schedule(body, prefer)
        if what == "calendars":
            return 200, self._calendars()
        if what == "delta":
            return self._delta(params.get("calendar", "default"), query, prefer)
        calendar = params.get("calendar", "default")
        if what in {"list", "create", "calendarView"} and calendar not in self.calendars:
            return 404, self._error("ErrorItemNotFound", "The specified object was not found in the store.")
        if what == "calendarView":
            return 200, self._calendar_view(calendar, query, prefer)
        if what == "create" and calendar in self.read_only_calendars:
            return 403, self._error("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if what == "list":
            match = FILTER_RE.match(query.get("$filter", ""))
            found = [
                {"id": e["id"]}
                for e in self.events.values()
                if e["_calendar"] == calendar
                and match
                and {"id": match["id"], "value": match["value"].replace("''", "'")}
                in e.get("singleValueExtendedProperties", [])
            ]
            return 200, {"value": found}
        if what == "create":
            existing = self.transactions.get(body.get("transactionId", ""))
            if existing and existing in self.events:
                return 201, self.events[existing]  # the retried POST: the event it already created
            event = {**body, "id": secrets.token_urlsafe(12), "_calendar": calendar}
            self._online_meeting(event)
            self.events[event["id"]] = event
            self._touch(event["id"])
            if body.get("transactionId"):
                self.transactions[body["transactionId"]] = event["id"]
            return 201, event
        event = self.events.get(params["event"])
        if event is None:
            return 404, self._error("ErrorItemNotFound", "The specified object was not found in the store.")
        if what == "read":
            return 200, event
        if what == "patch":
            event.update(body)
            self._online_meeting(event)
            self._touch(event["id"])
            return 200, event
        del self.events[params["event"]]
        self.version += 1
        self.removed[params["event"]] = (event["_calendar"], self.version)
        return 204, None

    def _online_meeting(self, event: dict) -> None:
        """A Teams meeting for an event that asks for one (on a calendar that offers Teams)."""
        wanted = event.get("isOnlineMeeting") and event.get("onlineMeetingProvider", TEAMS) == TEAMS
        if wanted and not event.get("onlineMeeting") and event["_calendar"] not in self.calendars_without_teams:
            event["onlineMeeting"] = {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{secrets.token_hex(12)}"}
            event["onlineMeetingProvider"] = TEAMS
        elif not wanted or event["_calendar"] in self.calendars_without_teams:
            event["isOnlineMeeting"] = False

    def _calendars(self) -> dict:
        return {
            "value": [
                {
                    "id": calendar,
                    "name": self.calendar_names.get(calendar, calendar),
                    "isDefaultCalendar": calendar == "default",
                    "canEdit": calendar not in self.read_only_calendars,
                    "allowedOnlineMeetingProviders": [] if calendar in self.calendars_without_teams else [TEAMS],
                }
                for calendar in sorted(self.calendars, key=lambda c: (c != "default", c))
            ]
        }

    @staticmethod
    def _window(query: dict) -> tuple[dt.datetime, dt.datetime]:
        return tuple(
            dt.datetime.fromisoformat(query[k].replace("Z", "+00:00")) for k in ("startDateTime", "endDateTime")
        )

    @staticmethod
    def _span(event: dict) -> tuple[dt.datetime, dt.datetime]:
        return tuple(
            dt.datetime.fromisoformat(event[k]["dateTime"][:19]).replace(tzinfo=dt.timezone.utc)
            for k in ("start", "end")
        )

    def _in_window(self, event: dict, low: dt.datetime, high: dt.datetime) -> bool:
        start, end = self._span(event)
        return start < high and end > low

    def _calendar_view(self, calendar: str, query: dict, prefer: str) -> dict:
        if 'outlook.timezone="UTC"' not in prefer:
            self.violations.append('calendarView asked without Prefer: outlook.timezone="UTC"')
        low, high = self._window(query)
        found = [
            {k: v for k, v in e.items() if not k.startswith("_")}
            for e in self.events.values()
            if e["_calendar"] == calendar and self._in_window(e, low, high)
        ]
        top, skip = int(query.get("$top", 10)), int(query.get("$skip", 0))
        answer = {"value": found[skip : skip + top]}
        if skip + top < len(found):
            rest = {k: v for k, v in query.items() if k != "$skip"} | {"$skip": str(skip + top)}
            answer["@odata.nextLink"] = f"{self.graph_endpoint}/me/calendars/{calendar}/calendarView?{urlencode(rest)}"
        return answer

    def _delta(self, calendar: str, query: dict, prefer: str) -> tuple[int, dict]:
        if 'outlook.timezone="UTC"' not in prefer:
            self.violations.append('calendarView/delta asked without Prefer: outlook.timezone="UTC"')
        token = query.get("$deltatoken") or query.get("$skiptoken")
        if token is not None:
            state = self.delta_states.pop(token, None) if "$skiptoken" in query else self.delta_states.get(token)
            if state is None or state["calendar"] != calendar:
                return 410, self._error("SyncStateNotFound", "The sync state generation is not found.")
        else:
            if calendar not in self.calendars:
                return 404, self._error("ErrorItemNotFound", "The specified object was not found in the store.")
            low, high = self._window(query)
            state = {"calendar": calendar, "low": low, "high": high, "since": 0, "first": True, "pending": None}
        if state["pending"] is None:
            # A new page run: everything in the window changed after ``since`` (the first round: everything).
            items = []
            for event_id, version in sorted(self.changed.items(), key=lambda kv: kv[1]):
                event = self.events.get(event_id)
                if version <= state["since"] or event is None or event["_calendar"] != calendar:
                    continue
                if self._in_window(event, state["low"], state["high"]):
                    items.append({k: v for k, v in event.items() if not k.startswith("_")})
                elif not state["first"]:
                    items.append({"id": event_id, "@removed": {"reason": "deleted"}})  # moved out of the window
            if not state["first"]:
                items += [
                    {"id": event_id, "@removed": {"reason": "deleted"}}
                    for event_id, (cal, version) in self.removed.items()
                    if cal == calendar and version > state["since"]
                ]
            state = state | {"pending": items, "until": self.version}
        size = 10
        match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        if match:
            size = int(match.group(1))
        page, rest = state["pending"][:size], state["pending"][size:]
        new_token = secrets.token_urlsafe(16)
        base = f"{self.graph_endpoint}/me" + (f"/calendars/{calendar}" if calendar != "default" else "")
        if rest:
            self.delta_states[new_token] = state | {"pending": rest}
            return 200, {"value": page, "@odata.nextLink": f"{base}/calendarView/delta?$skiptoken={new_token}"}
        self.delta_states[new_token] = state | {"pending": None, "since": state["until"], "first": False}
        return 200, {"value": page, "@odata.deltaLink": f"{base}/calendarView/delta?$deltatoken={new_token}"}

    def _schedule(self, body: dict, prefer: str) -> dict:
        if 'outlook.timezone="UTC"' not in prefer:
            self.violations.append(
                'getSchedule asked without Prefer: outlook.timezone="UTC" (answers in the mailbox zone)'
            )
        low = dt.datetime.fromisoformat(body["startTime"]["dateTime"]).replace(tzinfo=dt.timezone.utc)
        high = dt.datetime.fromisoformat(body["endTime"]["dateTime"]).replace(tzinfo=dt.timezone.utc)

        def graph_time(value: dt.datetime) -> dict:
            return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}

        value = []
        for address in body["schedules"]:
            items = [dict(item) for item in self.schedule_items.get(address, [])]
            if address == self.account_email:
                for event in self.events.values():
                    start = dt.datetime.fromisoformat(event["start"]["dateTime"]).replace(tzinfo=dt.timezone.utc)
                    end = dt.datetime.fromisoformat(event["end"]["dateTime"]).replace(tzinfo=dt.timezone.utc)
                    items.append({"status": event.get("showAs", "busy"), "start": start, "end": end})
            value.append(
                {
                    "scheduleId": address,
                    "scheduleItems": [
                        {"status": i["status"], "start": graph_time(i["start"]), "end": graph_time(i["end"])}
                        for i in items
                        if i["start"] < high and i["end"] > low
                    ],
                }
            )
        return {"value": value}
