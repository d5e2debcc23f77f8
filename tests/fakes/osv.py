"""A fake OSV vulnerability API (POST /v1/query) on a loopback port, for `make audit`'s script.

Neither OSV nor PyPI's vulnerability data can be reached from the tests, so this server plays
OSV's query endpoint as pip-audit calls it (one query per pinned package: {"package": {"name",
"ecosystem"}, "version"}): it answers {} (no known vulnerability) except for the (name, version)
pairs a test declares vulnerable, which get an OSV v1 record with the fixed version. Every query
is recorded in ``queries``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOSV:
    def __init__(self) -> None:
        self.vulnerable: dict[tuple[str, str], dict] = {}  # (name, version) -> {"id", "fixed"}
        self.queries: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/query"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeOSV:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, query: dict) -> dict:
        name, version = query["package"]["name"], query["version"]
        self.queries.append((name, version))
        found = self.vulnerable.get((name, version))
        if not found:
            return {}
        return {
            "vulns": [
                {
                    "schema_version": "1.6.0",
                    "id": found["id"],
                    "summary": "a known vulnerability",
                    "affected": [
                        {
                            "package": {"name": name, "ecosystem": "PyPI"},
                            "ranges": [
                                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": found["fixed"]}]}
                            ],
                        }
                    ],
                }
            ]
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/query":
                    self.send_error(404)
                    return
                body = json.dumps(
                    fake.answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler
