"""A fake Google (OAuth token endpoint and the Calendar API v3 subset we use) on a loopback port.

Google cannot be reached from the tests, so this server plays it. It is strict where Google
is: every request is checked against the Calendar API's discovery document shipped inside
google-api-python-client (method and path, query parameters and their types, required
parameters, the request body against the method's schema, no unknown fields), and a request
Google would reject is answered 400 and recorded in ``violations``, which the fixture fails
the test on. It answers the documented subset: freeBusy.query, events insert (client-supplied
id; 409 for an id already used)/get/patch/delete (410 for a deleted event), events.list with
incremental sync (``syncToken``: the parameters Google refuses alongside one are refused, deleted
events always come back, an expired token is 410 Gone ``fullSyncRequired``; pages with
``maxResults``/``pageToken``, the next sync token on the last page), calendarList.list, Google
Meet conferences (``conferenceData.createRequest`` honoured only with ``conferenceDataVersion=1``,
as Google ignores it otherwise; a request id already seen on the event is ignored; a calendar
without ``hangoutsMeet`` refuses it with 400), the token endpoint's refresh_token grant
(invalid_grant once revoked) and revoke; 401 for an unknown or expired access token; faults
queued by the test (429 with Retry-After, 5xx, before or after the change is applied); and a
round-trip delay (``latency``) for benchmarks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import googleapiclient

from tests.fakes.http import FakeService, Fault

DISCOVERY = json.loads(
    (Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json").read_text()
)
SERVICE_PATH = "/" + DISCOVERY["servicePath"].strip("/") + "/"  # /calendar/v3/
EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")  # base32hex, as events.insert documents
# events.list parameters Google refuses together with a syncToken (the parameter's own documentation).
NOT_WITH_SYNC_TOKEN = {"iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty"}
NOT_WITH_SYNC_TOKEN |= {"timeMin", "timeMax", "updatedMin"}
MEET = "hangoutsMeet"


def _methods(resources: dict) -> list[dict]:
    found = []
    for resource in resources.values():
        found.extend(resource.get("methods", {}).values())
        found.extend(_methods(resource.get("resources", {})))
    return found


def _path_regex(template: str) -> re.Pattern:
    pattern = re.sub(r"\{\+?(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
    return re.compile(f"^{pattern}$")


METHODS = [(method, _path_regex(method["path"])) for method in _methods(DISCOVERY["resources"])]


def _check(value, schema: dict, where: str, errors: list[str]) -> None:
    """``value`` against a discovery-document schema (its own JSON Schema dialect)."""
    if "$ref" in schema:
        schema = DISCOVERY["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object")
            return
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                _check(item, properties[key], f"{where}.{key}", errors)
            elif "additionalProperties" in schema:
                _check(item, schema["additionalProperties"], f"{where}.{key}", errors)
            else:
                errors.append(f"{where}: unknown field {key!r}")
    elif kind == "array":
        if not isinstance(value, list):
            errors.append(f"{where}: expected a list")
            return
        for index, item in enumerate(value):
            _check(item, schema.get("items", {}), f"{where}[{index}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{where}: expected a string")
            return
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{where}: {value!r} not one of {schema['enum']}")
        try:
            if schema.get("format") == "date-time":
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            elif schema.get("format") == "date":
                dt.date.fromisoformat(value)
            elif schema.get("format") in {"int64", "uint64"}:
                int(value)
        except ValueError:
            errors.append(f"{where}: {value!r} is not a valid {schema['format']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{where}: expected an integer")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected true or false")
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{where}: expected a number")


def _check_parameter(name: str, raw: str, spec: dict, errors: list[str]) -> None:
    kind = spec.get("type")
    if kind == "integer" and not re.fullmatch(r"-?\d+", raw):
        errors.append(f"parameter {name}: {raw!r} is not an integer")
    elif kind == "boolean" and raw not in {"true", "false"}:
        errors.append(f"parameter {name}: {raw!r} is not true/false")
    elif "enum" in spec and raw not in spec["enum"]:
        errors.append(f"parameter {name}: {raw!r} not one of {spec['enum']}")


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _when(part: dict) -> tuple[dt.datetime, bool]:
    if "dateTime" in part:
        return _time(part["dateTime"]), False
    return dt.datetime.combine(dt.date.fromisoformat(part["date"]), dt.time.min, dt.timezone.utc), True


class FakeGoogle(FakeService):
    CONTENT_TYPE = "application/json; charset=UTF-8"

    def __init__(self, *, client_id: str = "leadbot-test-client", client_secret: str = "leadbot-test-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_email = "gina@workspace.example"  # the id of the account's primary calendar
        # (calendarId, eventId) -> event resource; "primary" is its own calendar id here (the account's
        # address names it too, as in Google).
        self.events: dict[tuple[str, str], dict] = {}
        self.calendars: set[str] = {"primary"}
        # What calendarList.list says of a calendar beyond its id (summary, accessRole, Meet allowed).
        self.calendar_names: dict[str, str] = {"primary": self.account_email}
        self.read_only_calendars: set[str] = set()
        self.calendars_without_meet: set[str] = set()
        # Incremental sync: every change to an event gets the next number; a sync token names one.
        self.version = 0
        self.changed: dict[tuple[str, str], int] = {}
        self.oldest_valid_token = 0  # tokens older than this are answered 410 Gone
        self.calls: list[tuple[str, dict, dict | None]] = []  # (method id, query, body) of accepted requests
        self.api_endpoint = self.base_url + SERVICE_PATH
        self.token_uri = self.base_url + "/token"
        self.auth_uri = self.base_url + "/auth"

    # -- the test's side ---------------------------------------------------------------------

    def add_event(self, calendar_id: str, event: dict) -> dict:
        """An event the rep made in Google Calendar themselves."""
        with self.lock:
            self.calendars.add(calendar_id)
            event = {"status": "confirmed", "id": secrets.token_hex(8), **event}
            self.events[(calendar_id, event["id"])] = event
            self._touch(calendar_id, event["id"])
            return event

    def rep_moves(self, calendar_id: str, event_id: str, start: dt.datetime, end: dt.datetime) -> None:
        """The rep drags the event to another time in Google Calendar."""
        with self.lock:
            event = self.events[(calendar_id, event_id)]
            event["start"] = {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"}
            event["end"] = {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"}
            event["sequence"] = event.get("sequence", 0) + 1
            self._touch(calendar_id, event_id)

    def rep_deletes(self, calendar_id: str, event_id: str) -> None:
        """The rep deletes the event in Google Calendar (it stays, cancelled, for sync clients)."""
        with self.lock:
            self.events[(calendar_id, event_id)]["status"] = "cancelled"
            self._touch(calendar_id, event_id)

    def expire_sync_tokens(self) -> None:
        """Google invalidates every sync token given so far (the client must sync fully again)."""
        with self.lock:
            self.oldest_valid_token = self.version + 1

    def _touch(self, calendar_id: str, event_id: str) -> None:
        self.version += 1
        self.changed[(calendar_id, event_id)] = self.version
        self.events[(calendar_id, event_id)]["updated"] = dt.datetime.now(dt.timezone.utc).isoformat()

    def live_events(self, calendar_id: str = "primary") -> list[dict]:
        calendar_id = self._calendar_key(calendar_id)
        with self.lock:
            return [e for (cal, _), e in self.events.items() if cal == calendar_id and e["status"] != "cancelled"]

    def _calendar_key(self, calendar_id: str | None) -> str | None:
        return "primary" if calendar_id == self.account_email else calendar_id

    def called(self, method: str) -> int:
        return sum(1 for call in self.calls if call[0] == method)

    # -- the server's side -------------------------------------------------------------------

    @staticmethod
    def _error(status: int, message: str, reason: str = "") -> dict:
        names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
        names |= {409: "ALREADY_EXISTS", 410: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}
        detail = {"domain": "global", "reason": reason or names.get(status, "backendError").lower(), "message": message}
        return {"error": {"code": status, "message": message, "errors": [detail], "status": names.get(status, "")}}

    def _answer(self, handler, http_method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if url.path == "/auth" and http_method == "GET":
            return self._consent(handler, {name: values[-1] for name, values in parse_qs(url.query).items()})
        if url.path == "/token":
            return self._token(handler, parse_qs(raw.decode()))
        if url.path == "/revoke":
            return self._revoke(handler, parse_qs(url.query) | parse_qs(raw.decode()))
        if not url.path.startswith(SERVICE_PATH):
            return self._reject(handler, 404, f"{http_method} {url.path}: not a Calendar API path")
        relative = url.path[len(SERVICE_PATH) :]
        for method, regex in METHODS:
            match = regex.match(relative)
            if match and method["httpMethod"] == http_method:
                break
        else:
            return self._reject(handler, 404, f"{http_method} {url.path}: no such method in the discovery document")
        from urllib.parse import unquote

        path_params = {name: unquote(value) for name, value in match.groupdict().items()}
        query = {name: values[-1] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
        errors: list[str] = []
        declared = method.get("parameters", {}) | DISCOVERY.get("parameters", {})
        for name, raw_value in query.items():
            if name not in declared or declared[name].get("location") != "query":
                errors.append(f"unknown query parameter {name!r}")
            else:
                _check_parameter(name, raw_value, declared[name], errors)
        for name, spec in method.get("parameters", {}).items():
            if spec.get("required") and name not in path_params and name not in query:
                errors.append(f"missing required parameter {name!r}")
        body = None
        if "request" in method:
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                errors.append("the body is not JSON")
            else:
                _check(body, method["request"], "body", errors)
        elif raw:
            errors.append("this method takes no body")
        if errors:
            return self._reject(handler, 400, f"{method['id']}: " + "; ".join(errors))
        if not self._authorized(handler):
            return self._reply(handler, 401, self._error(401, "Request had invalid authentication credentials."))
        fault = self._take_fault(method["id"])
        if fault and not fault.after_applying:
            return self._fault(handler, fault)
        with self.lock:
            self.calls.append((method["id"], query, body))
        status, answer = self._apply(method["id"], path_params, query, body)
        if fault:
            return self._fault(handler, fault)
        return self._reply(handler, status, answer)

    def _reject(self, handler, status: int, message: str) -> None:
        with self.lock:
            self.violations.append(message)
        self._reply(handler, status, self._error(status, message, "invalid"))

    def _fault(self, handler, fault: Fault) -> None:
        headers = self._retry_after(fault)
        reason = "rateLimitExceeded" if fault.status == 429 else "backendError"
        self._reply(handler, fault.status, self._error(fault.status, "Fault injected by the test", reason), headers)

    def _authorized(self, handler) -> bool:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        token, now = header[len("Bearer ") :], dt.datetime.now(dt.timezone.utc)
        with self.lock:
            return any(
                not a.revoked and token in a.access_tokens and a.access_tokens[token] > now for a in self.accounts
            )

    def _consent(self, handler, query: dict) -> None:
        """The consent screen, already agreed to: back to the redirect URI with a code and the state."""
        problems = [
            problem
            for problem, bad in [
                ("unknown client_id", query.get("client_id") != self.client_id),
                ("response_type must be code", query.get("response_type") != "code"),
                ("no redirect_uri", not query.get("redirect_uri")),
                ("no state", not query.get("state")),
                ("no calendar scope", "https://www.googleapis.com/auth/calendar" not in query.get("scope", "").split()),
                ("PKCE: code_challenge_method must be S256", query.get("code_challenge_method") != "S256"),
                ("PKCE: no code_challenge", not query.get("code_challenge")),
                ("no offline access (no refresh token)", query.get("access_type") != "offline"),
            ]
            if bad
        ]
        if problems:
            return self._reject(handler, 400, "consent: " + "; ".join(problems))
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = query
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _exchange_code(self, handler, form: dict) -> None:
        with self.lock:
            asked = self.codes.pop(form.get("code", ""), None)
        if asked is None:
            return self._reply(handler, 400, {"error": "invalid_grant", "error_description": "Malformed auth code."})
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if challenge != asked["code_challenge"]:
            return self._reply(handler, 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
        if form.get("redirect_uri") != asked["redirect_uri"]:
            return self._reply(handler, 400, {"error": "redirect_uri_mismatch"})
        access, refresh, _ = self.grant()
        answer = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 3599,
            "scope": asked["scope"],
            "token_type": "Bearer",
        }
        return self._reply(handler, 200, answer)

    def _token(self, handler, form: dict) -> None:
        form = {name: values[-1] for name, values in form.items()}
        basic = handler.headers.get("Authorization", "")
        if basic.startswith("Basic "):  # client_secret_basic, which Google accepts as well as the form fields
            client_id, _, client_secret = base64.b64decode(basic[len("Basic ") :]).decode().partition(":")
            form.setdefault("client_id", client_id)
            form.setdefault("client_secret", client_secret)
        fault = self._take_fault("token")
        if fault:
            return self._fault(handler, fault)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._reply(handler, 401, {"error": "invalid_client", "error_description": "Unauthorized"})
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(handler, form)
        if form.get("grant_type") != "refresh_token" or not form.get("refresh_token"):
            with self.lock:
                self.violations.append(f"token endpoint: unsupported request {sorted(form)}")
            return self._reply(handler, 400, {"error": "unsupported_grant_type"})
        with self.lock:
            account = next((a for a in self.accounts if a.refresh_token == form["refresh_token"]), None)
            if account is None or account.revoked:
                return self._reply(
                    handler, 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
            self.token_refreshes += 1
            access = secrets.token_urlsafe(16)
            account.access_tokens[access] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3599)
        answer = {"access_token": access, "expires_in": 3599, "scope": form.get("scope", ""), "token_type": "Bearer"}
        return self._reply(handler, 200, answer)

    def _revoke(self, handler, form: dict) -> None:
        token = (form.get("token") or [""])[-1]
        with self.lock:
            for account in self.accounts:
                if token == account.refresh_token or token in account.access_tokens:
                    account.revoked = True
                    return self._reply(handler, 200, {})
        return self._reply(handler, 400, {"error": "invalid_token"})

    # -- the Calendar API subset ---------------------------------------------------------------

    def _apply(self, method: str, path: dict, query: dict, body) -> tuple[int, dict | None]:
        with self.lock:
            if method == "calendar.freebusy.query":
                return self._freebusy(body)
            if method == "calendar.calendarList.list":
                return self._calendar_list(query)
            calendar_id = self._calendar_key(path.get("calendarId"))
            if method == "calendar.calendars.get" and calendar_id == "primary":
                return 200, {"kind": "calendar#calendar", "id": self.account_email, "summary": self.account_email}
            if calendar_id not in self.calendars:
                return 404, self._error(404, "Not Found", "notFound")
            if method == "calendar.events.list":
                return self._list(calendar_id, query)
            if (
                method in {"calendar.events.insert", "calendar.events.patch"}
                and calendar_id in self.read_only_calendars
            ):
                return 403, self._error(403, "You need to have writer access to this calendar.", "requiredAccessLevel")
            if method == "calendar.events.insert":
                return self._insert(calendar_id, body, query)
            key = (calendar_id, path.get("eventId"))
            event = self.events.get(key)
            if event is None:
                return 404, self._error(404, "Not Found", "notFound")
            if method == "calendar.events.get":
                return 200, event
            if event["status"] == "cancelled":
                return 410, self._error(410, "Resource has been deleted", "deleted")
            if method == "calendar.events.patch":
                merged = {**event, **body}
                if _when(merged["end"])[0] <= _when(merged["start"])[0]:
                    return 400, self._error(400, "The specified time range is empty.", "timeRangeEmpty")
                problem = self._conference(calendar_id, merged, body, query, previous=event.get("conferenceData"))
                if problem:
                    return problem
                merged["sequence"] = event.get("sequence", 0) + 1
                self.events[key] = merged
                self._touch(*key)
                return 200, merged
            if method == "calendar.events.delete":
                event["status"] = "cancelled"
                self._touch(*key)
                return 204, None
        self.violations.append(f"{method}: not played by the fake")
        return 501, self._error(501, f"{method} is not played by the fake")

    def _conference(self, calendar_id: str, event: dict, body: dict, query: dict, previous: dict | None):
        """Google Meet for ``event`` as Google does it; an (status, error) answer when Google refuses."""
        asked = (body.get("conferenceData") or {}).get("createRequest")
        if query.get("conferenceDataVersion") != "1":
            # Version 0 (the default) ignores conference data in the body.
            if previous is None:
                event.pop("conferenceData", None)
            else:
                event["conferenceData"] = previous
            return None
        if asked is None:
            if previous is not None:
                event["conferenceData"] = previous
            return None
        if (previous or {}).get("createRequest", {}).get("requestId") == asked.get("requestId"):
            event["conferenceData"] = previous  # a request id already seen: ignored
            return None
        kind = (asked.get("conferenceSolutionKey") or {}).get("type")
        if kind != MEET or calendar_id in self.calendars_without_meet:
            return 400, self._error(400, "Invalid conference type value.", "invalid")
        code = "-".join(secrets.token_hex(2)[:n] for n in (3, 4, 3))
        uri = f"https://meet.google.com/{code}"
        event["conferenceData"] = {
            "createRequest": {**asked, "status": {"statusCode": "success"}},
            "conferenceSolution": {"key": {"type": MEET}, "name": "Google Meet"},
            "conferenceId": code,
            "entryPoints": [{"entryPointType": "video", "uri": uri, "label": uri[len("https://") :]}],
        }
        event["hangoutLink"] = uri
        return None

    def _calendar_list(self, query: dict) -> tuple[int, dict]:
        items = []
        for calendar_id in sorted(self.calendars, key=lambda c: (c != "primary", c)):
            entry = {
                "kind": "calendar#calendarListEntry",
                "id": self.account_email if calendar_id == "primary" else calendar_id,
                "summary": self.calendar_names.get(calendar_id, calendar_id),
                "accessRole": "reader" if calendar_id in self.read_only_calendars else "owner",
                "conferenceProperties": {
                    "allowedConferenceSolutionTypes": [] if calendar_id in self.calendars_without_meet else [MEET]
                },
            }
            if calendar_id == "primary":
                entry["primary"] = True
            items.append(entry)
        return self._page(items, query, {"kind": "calendar#calendarList"})

    def _page(self, items: list[dict], query: dict, answer: dict, last: dict | None = None) -> tuple[int, dict]:
        size = int(query.get("maxResults", 250))
        offset = int(query.get("pageToken", "0") or 0)
        answer = answer | {"items": items[offset : offset + size]}
        if offset + size < len(items):
            answer["nextPageToken"] = str(offset + size)
        else:
            answer |= last or {}
        return 200, answer

    def _list(self, calendar_id: str, query: dict) -> tuple[int, dict]:
        token = query.get("syncToken")
        if token is not None:
            refused = sorted(NOT_WITH_SYNC_TOKEN & set(query))
            if refused or query.get("showDeleted") == "false":
                self.violations.append(f"events.list: {refused or 'showDeleted=false'} together with a syncToken")
                return 400, self._error(400, f"{refused} cannot be used with a sync token", "invalid")
            try:
                token_calendar, since = base64.urlsafe_b64decode(token.encode()).decode().rsplit(":", 1)
                since_version = int(since)
            except ValueError:
                return 400, self._error(400, "Invalid sync token value.", "invalid")
            if token_calendar != calendar_id or since_version < self.oldest_valid_token:
                return 410, self._error(
                    410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired"
                )
            keys = [key for key, version in self.changed.items() if key[0] == calendar_id and version > since_version]
            items = [self.events[key] for key in sorted(keys, key=self.changed.get)]
        else:
            low = _time(query["timeMin"]) if "timeMin" in query else None
            show_deleted = query.get("showDeleted") == "true"
            items = [
                event
                for (cal, _), event in self.events.items()
                if cal == calendar_id
                and (show_deleted or event["status"] != "cancelled")
                and (low is None or _when(event["end"])[0] > low)
            ]
        next_token = base64.urlsafe_b64encode(f"{calendar_id}:{self.version}".encode()).decode()
        return self._page(items, query, {"kind": "calendar#events"}, last={"nextSyncToken": next_token})

    def _insert(self, calendar_id: str, body: dict, query: dict) -> tuple[int, dict]:
        for part in ("start", "end"):
            if not isinstance(body.get(part), dict) or not ({"date", "dateTime"} & set(body[part])):
                self.violations.append(f"events.insert: {part} needs date or dateTime")
                return 400, self._error(400, f"Missing {part} time.", "required")
        if _when(body["end"])[0] <= _when(body["start"])[0]:
            return 400, self._error(400, "The specified time range is empty.", "timeRangeEmpty")
        event_id = body.get("id") or secrets.token_hex(10)
        if not EVENT_ID_RE.match(event_id):
            self.violations.append(f"events.insert: invalid event id {event_id!r}")
            return 400, self._error(400, "Invalid resource id value.", "invalid")
        if (calendar_id, event_id) in self.events:
            return 409, self._error(409, "The requested identifier already exists.", "duplicate")
        event = {**body, "id": event_id, "status": body.get("status", "confirmed"), "sequence": 0}
        problem = self._conference(calendar_id, event, body, query, previous=None)
        if problem:
            return problem
        self.events[(calendar_id, event_id)] = event
        self._touch(calendar_id, event_id)
        return 200, event

    def _freebusy(self, body: dict) -> tuple[int, dict]:
        if not body.get("timeMin") or not body.get("timeMax") or not body.get("items"):
            self.violations.append("freeBusy.query: timeMin, timeMax and items are required")
            return 400, self._error(400, "Missing timeMin, timeMax or items", "required")
        low, high = _time(body["timeMin"]), _time(body["timeMax"])
        if high <= low:
            return 400, self._error(400, "The specified time range is empty.", "timeRangeEmpty")
        calendars = {}
        for item in body["items"]:
            calendar_id = self._calendar_key(item["id"])
            if calendar_id not in self.calendars:
                calendars[item["id"]] = {"busy": [], "errors": [{"domain": "global", "reason": "notFound"}]}
                continue
            spans = []
            for (cal, _), event in self.events.items():
                if cal != calendar_id or event["status"] == "cancelled" or event.get("transparency") == "transparent":
                    continue
                start, end = _when(event["start"])[0], _when(event["end"])[0]
                if start < high and end > low:
                    spans.append((max(start, low), min(end, high)))
            merged: list[list[dt.datetime]] = []
            for start, end in sorted(spans):  # Google merges overlapping busy periods
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            calendars[item["id"]] = {
                "busy": [
                    {"start": s.isoformat().replace("+00:00", "Z"), "end": e.isoformat().replace("+00:00", "Z")}
                    for s, e in merged
                ]
            }
        return 200, {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }
