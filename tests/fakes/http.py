"""What the fake calendar APIs (``google.py``, ``microsoft.py``) share: a threaded loopback HTTP(S)
server, OAuth accounts with access and refresh tokens, faults queued by the test, JSON replies, a
simulated round trip (``latency``) and a count of requests answered at once.

A subclass sets ``CONTENT_TYPE``, answers a request in ``_answer(handler, http_method)`` and shapes
its own error bodies in ``_fault``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Fault:
    what: str  # the API's name for the call (a Google method id, a Graph call), or "token"
    status: int
    retry_after: int | None = None
    after_applying: bool = False  # the change lands, then the answer is an error (a lost reply)


@dataclass
class Account:
    refresh_token: str
    access_tokens: dict[str, dt.datetime] = field(default_factory=dict)  # token -> expiry (UTC)
    revoked: bool = False


class FakeService:
    CONTENT_TYPE = "application/json"
    HTTP_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

    def __init__(self, *, certificate: tuple[Path, Path] | None = None) -> None:
        self.lock = threading.Lock()
        self.accounts: list[Account] = []
        self.codes: dict[str, dict] = {}  # authorization code -> what the consent request asked
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.token_refreshes = 0
        self.latency = 0.0  # seconds each answer waits (a simulated round trip)
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at once (parallel clients)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        scheme = "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- the test's side ---------------------------------------------------------------------

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def grant(self, *, expires_in: int = 3600) -> tuple[str, str, dt.datetime]:
        """A new account grant: (access token, refresh token, access token expiry)."""
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=expires_in)
        with self.lock:
            self.accounts.append(Account(refresh_token=refresh, access_tokens={access: expiry}))
        return access, refresh, expiry

    def revoke_all(self) -> None:
        with self.lock:
            for account in self.accounts:
                account.revoked = True
                account.access_tokens.clear()

    def fail_next(self, what: str, status: int, *, retry_after: int | None = None, after_applying: bool = False):
        with self.lock:
            self.faults.append(Fault(what, status, retry_after, after_applying))

    # -- the server's side -------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

        for http_method in self.HTTP_METHODS:
            setattr(Handler, f"do_{http_method}", lambda handler, m=http_method: fake._serve(handler, m))
        return Handler

    def _reply(self, handler, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        if body is not None:
            handler.send_header("Content-Type", self.CONTENT_TYPE)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _retry_after(fault: Fault) -> dict:
        return {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}

    def _take_fault(self, what: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.what == what:
                    self.faults.remove(fault)
                    return fault
        return None

    def _serve(self, handler, http_method: str) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            self._answer(handler, http_method)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, handler, http_method: str) -> None:
        raise NotImplementedError
