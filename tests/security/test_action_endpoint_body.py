"""The Rasa action endpoint checks its token before reading a body, and never buffers more
than RASA_ACTION_MAX_BODY_BYTES: in process against the ASGI application, and on the
wire against the running web process (uvicorn, as the Procfile runs it)."""

import json
import socket
import time

import pytest
from channels.testing import ApplicationCommunicator
from django.conf import settings

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/bot/actions/"
CHUNK = b"x" * 65536


def http_scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


async def stream_until_answered(communicator, limit_bytes: int) -> tuple[dict, int]:
    """Send body chunks (more_body=True) until the app answers; (response start, bytes sent)."""
    sent = 0
    while sent < limit_bytes:
        await communicator.send_input({"type": "http.request", "body": CHUNK, "more_body": True})
        sent += len(CHUNK)
        if not await communicator.receive_nothing(timeout=0.01):
            return await communicator.receive_output(timeout=1), sent
    raise AssertionError(f"no answer after {sent} bytes")


async def test_no_token_is_refused_before_the_body_is_read():
    communicator = ApplicationCommunicator(application, http_scope([]))
    await communicator.send_input({"type": "http.request", "body": b'{"next_action": ', "more_body": True})
    start = await communicator.receive_output(timeout=2)
    assert start["status"] == 401
    assert (b"www-authenticate", b"Bearer") in [(k.lower(), v) for k, v in start["headers"]]
    body = await communicator.receive_output(timeout=2)
    assert json.loads(body["body"]) == {"error": "invalid or missing action token"}
    await communicator.wait(timeout=2)  # the consumer has stopped: nothing more is read


async def test_an_announced_oversized_body_is_refused_at_once():
    headers = [bearer(settings.RASA_ACTION_TOKEN), (b"content-length", str(10 * 2**30).encode())]
    communicator = ApplicationCommunicator(application, http_scope(headers))
    await communicator.send_input({"type": "http.request", "body": CHUNK, "more_body": True})
    assert (await communicator.receive_output(timeout=2))["status"] == 413
    await communicator.wait(timeout=2)


async def test_an_endless_chunked_body_is_cut_off_at_the_limit(settings):
    settings.RASA_ACTION_MAX_BODY_BYTES = 1024 * 1024
    communicator = ApplicationCommunicator(application, http_scope([bearer(settings.RASA_ACTION_TOKEN)]))
    start, sent = await stream_until_answered(communicator, limit_bytes=64 * 1024 * 1024)
    assert start["status"] == 413
    assert sent <= settings.RASA_ACTION_MAX_BODY_BYTES + len(CHUNK)
    await communicator.wait(timeout=2)


# --- on the wire ---------------------------------------------------------------------------------


def raw_request(port: int, headers: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}\r\n".encode())
    return sock


def send_chunks_until_answered(sock: socket.socket, *, most: int, seconds: float = 30) -> tuple[bytes, int]:
    """Write a chunked body until the server answers (or closes); (first bytes of the answer, bytes sent)."""
    sock.setblocking(False)
    chunk = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    sent, deadline = 0, time.monotonic() + seconds
    while sent < most and time.monotonic() < deadline:
        try:
            answer = sock.recv(4096)
            return answer, sent
        except BlockingIOError:
            pass
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.setblocking(True)
    sock.settimeout(5)
    try:
        return sock.recv(4096), sent
    except (TimeoutError, ConnectionResetError):
        return b"", sent


@pytest.mark.parametrize("live_web", [{"RASA_ACTION_MAX_BODY_BYTES": str(1024 * 1024)}], indirect=True)
def test_the_running_server_answers_an_endless_upload_with_413_without_reading_it_all(live_web):
    most = 256 * 1024 * 1024
    sock = raw_request(
        live_web.port, f"Authorization: Bearer {settings.RASA_ACTION_TOKEN}\r\nTransfer-Encoding: chunked\r\n"
    )
    try:
        answer, sent = send_chunks_until_answered(sock, most=most)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < most // 4, sent  # answered long before the upload ended (socket buffers hold a few MB)


def test_the_running_server_refuses_an_upload_without_the_token_before_reading_it(live_web):
    most = 256 * 1024 * 1024
    sock = raw_request(live_web.port, "Transfer-Encoding: chunked\r\n")
    try:
        answer, sent = send_chunks_until_answered(sock, most=most)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert sent < most // 4, sent
