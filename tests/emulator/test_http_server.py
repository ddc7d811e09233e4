"""The emulator's own HTTP/1.1 server, spoken to byte by byte over a loopback socket."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig, EmulatorServer, Fault, FaultRule, serve

from .helpers import HEADERS, FakeClock, create_body

JOBS_PATH = "/data/core/ups/export/jobs"
CREATE_JSON = json.dumps(create_body()).encode()

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]], Send], Awaitable[None]]


def _app_with_lifespan(handle_http: Callable[[Send], Awaitable[None]]) -> ASGIApp:
    """Return an ASGI app that completes the lifespan protocol and serves HTTP with a callable."""

    async def app(scope: Message, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        if scope["type"] == "http":
            await handle_http(send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return app


@pytest.fixture
def server(clock: FakeClock) -> Iterator[EmulatorServer]:
    emulator = Emulator(EmulatorConfig(clock=clock))
    emulator.seed(120)
    with serve(emulator) as running:
        yield running


@pytest.fixture
def connection(server: EmulatorServer) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        yield sock


def _request(
    method: str = "GET",
    target: str = JOBS_PATH,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    version: str = "HTTP/1.1",
) -> bytes:
    lines = [f"{method} {target} {version}", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in {**HEADERS, **(headers or {})}.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Reader:
    """Reads HTTP/1.1 responses from a socket, keeping bytes that arrive early."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def response(self) -> tuple[int, dict[str, str], bytes]:
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self._read_exactly(int(headers.get("content-length", "0")))
        return int(status_line.split(" ")[1]), headers, body

    def status_line(self) -> str:
        return self._read_until(b"\r\n\r\n").decode("latin-1")

    def at_end(self) -> bool:
        """Return whether the server closed the connection with nothing more sent."""
        return not self._buffer and self._sock.recv(1) == b""

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("The server closed the connection")
        self._buffer += chunk


def test_keep_alive_serves_requests_on_one_connection(connection: socket.socket) -> None:
    reader = _Reader(connection)
    statuses = []
    for _ in range(5):
        connection.sendall(_request(target=f"{JOBS_PATH}?limit=2"))
        status, headers, _ = reader.response()
        statuses.append(status)

    assert statuses == [200] * 5
    assert "connection" not in headers
    assert headers["date"].endswith(" GMT")


def test_pipelined_requests_served_in_order(connection: socket.socket) -> None:
    requests = [_request(headers={"x-request-id": f"pipe-{index}"}) for index in range(3)]
    connection.sendall(b"".join(requests))
    reader = _Reader(connection)

    ids = [reader.response()[1]["x-request-id"] for _ in range(3)]

    assert ids == ["pipe-0", "pipe-1", "pipe-2"]


def test_connection_close_is_honoured(connection: socket.socket) -> None:
    connection.sendall(_request(headers={"Connection": "close"}))
    reader = _Reader(connection)

    status, headers, _ = reader.response()

    assert status == 200
    assert headers["connection"] == "close"
    assert reader.at_end()


def test_http_1_0_closes_after_response(connection: socket.socket) -> None:
    connection.sendall(_request(version="HTTP/1.0"))
    reader = _Reader(connection)

    status, _, body = reader.response()

    assert status == 200
    assert json.loads(body)["page"]["pageSize"] == 120
    assert reader.at_end()


def test_head_response_has_no_body(connection: socket.socket) -> None:
    connection.sendall(_request("HEAD") + _request(headers={"x-request-id": "after-head"}))
    reader = _Reader(connection)

    head_status = reader.status_line()
    # The HEAD response announced a length but sent no body, so the next response follows.
    status, headers, _ = reader.response()

    assert head_status.startswith("HTTP/1.1 405 Method Not Allowed\r\n")
    assert status == 200
    assert headers["x-request-id"] == "after-head"


def test_expect_continue_gets_100_before_body(connection: socket.socket) -> None:
    request = _request("POST", body=CREATE_JSON, headers={"Expect": "100-continue"})
    head, _, body = request.partition(b"\r\n\r\n")
    connection.sendall(head + b"\r\n\r\n")
    reader = _Reader(connection)

    interim = reader.status_line()
    connection.sendall(body)
    status, _, created = reader.response()

    assert interim == "HTTP/1.1 100 Continue"
    assert status == 200
    assert json.loads(created)["id"] == 121


def test_chunked_request_body_is_read(connection: socket.socket) -> None:
    half = len(CREATE_JSON) // 2
    chunks = [CREATE_JSON[:half], CREATE_JSON[half:]]
    body = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    head = _request("POST", headers={"Content-Type": "application/json"})[:-2]
    connection.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" + body)

    status, _, created = _Reader(connection).response()

    assert status == 200
    assert json.loads(created)["status"] == "NEW"


def test_large_body_is_read_and_connection_kept(connection: socket.socket) -> None:
    large = b'{"fields": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    connection.sendall(_request("POST", body=large))
    connection.sendall(_request(headers={"x-request-id": "after-large"}))
    reader = _Reader(connection)

    too_large, _, _ = reader.response()
    status, headers, _ = reader.response()

    assert too_large == 413
    assert (status, headers["x-request-id"]) == (200, "after-large")


def test_unread_large_body_keeps_connection(clock: FakeClock) -> None:
    # The latency lets more body arrive than the server buffers before the app responds.
    emulator = Emulator(EmulatorConfig(clock=clock, latency=0.1))
    emulator.inject(FaultRule(Fault.status(503), method="POST"))
    large = b'{"fields": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    with (
        serve(emulator) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as connection,
    ):
        connection.sendall(_request("POST", body=large))
        connection.sendall(_request(headers={"x-request-id": "after-unread"}))
        reader = _Reader(connection)
        rejected, _, _ = reader.response()
        status, headers, _ = reader.response()

    # The 503 went out before the body was read, and the rest of the body was skipped.
    assert rejected == 503
    assert (status, headers["x-request-id"]) == (200, "after-unread")


def test_malformed_request_gets_400(connection: socket.socket) -> None:
    connection.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
    reader = _Reader(connection)

    status, headers, body = reader.response()

    assert status == 400
    assert body == b"Invalid HTTP request"
    assert headers["connection"] == "close"
    assert reader.at_end()


def test_oversized_head_gets_431(connection: socket.socket) -> None:
    connection.sendall(_request(headers={"x-padding": "p" * (70 * 1024)}))

    status, _, body = _Reader(connection).response()

    assert status == 431
    assert body == b"Request header fields too large"


def test_small_responses_are_not_delayed(connection: socket.socket) -> None:
    reader = _Reader(connection)
    started = time.monotonic()
    for _ in range(20):
        connection.sendall(_request(target=f"{JOBS_PATH}?limit=100"))
        reader.response()
    elapsed = time.monotonic() - started

    # With Nagle's algorithm and delayed acknowledgements, each would wait about 40 ms.
    assert elapsed < 0.6


def test_reset_closes_socket_with_fin(server: EmulatorServer, connection: socket.socket) -> None:
    server.emulator.inject(FaultRule(Fault.reset()))
    connection.sendall(_request())

    assert connection.recv(1) == b""


def test_refuse_resets_socket(server: EmulatorServer, connection: socket.socket) -> None:
    server.emulator.inject(FaultRule(Fault.refuse()))
    connection.sendall(_request())

    with pytest.raises(ConnectionResetError):
        connection.recv(1)


def test_app_failure_gets_500(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail(send: Send) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(Emulator, "app", property(lambda self: _app_with_lifespan(fail)))
    with caplog.at_level(logging.ERROR, logger="aep_jobs.emulator"), serve(Emulator()) as running:
        response = httpx.get(f"{running.base_url}/export/jobs", timeout=5)

    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "The emulator failed on GET /data/core/ups/export/jobs" in caplog.text


def test_stop_waits_for_request_in_progress(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock))
    emulator.inject(FaultRule(Fault.stall(0.2)))
    responses: list[httpx.Response] = []
    server = EmulatorServer(emulator, shutdown_timeout=5)
    server.start()
    client = threading.Thread(
        target=lambda: responses.append(
            httpx.get(f"{server.base_url}/export/jobs", headers=HEADERS, timeout=5)
        )
    )
    client.start()
    _wait_for(lambda: emulator.stats.in_flight == 1)
    server.stop()
    client.join(5)

    assert [response.status_code for response in responses] == [200]


def test_stop_closes_request_past_shutdown_timeout(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock))
    emulator.inject(FaultRule(Fault.stall(60)))
    errors: list[Exception] = []
    server = EmulatorServer(emulator, shutdown_timeout=0.2)
    server.start()

    def send_request() -> None:
        try:
            httpx.get(f"{server.base_url}/export/jobs", headers=HEADERS, timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=send_request)
    client.start()
    _wait_for(lambda: emulator.stats.in_flight == 1)
    started = time.monotonic()
    server.stop()
    stop_time = time.monotonic() - started
    client.join(5)

    assert stop_time < 3
    assert len(errors) == 1
    assert isinstance(errors[0], (httpx.RemoteProtocolError, httpx.ReadError))
    assert emulator.stats.in_flight == 0


def test_stop_closes_idle_connection(server: EmulatorServer, connection: socket.socket) -> None:
    connection.sendall(_request())
    reader = _Reader(connection)
    reader.response()
    server.stop()

    assert reader.at_end()


def test_server_runs_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with serve(Emulator()) as running:
        response = httpx.get(f"{running.base_url}/export/jobs", headers=HEADERS, timeout=5)

    assert response.status_code == 200


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"The condition was still false after {timeout} s")
        time.sleep(0.01)


def test_streamed_response_is_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    async def stream(send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first,", "more_body": True})
        await send({"type": "http.response.body", "body": b"second", "more_body": False})

    monkeypatch.setattr(Emulator, "app", property(lambda self: _app_with_lifespan(stream)))
    with serve(Emulator()) as running:
        response = httpx.get(running.base_url, timeout=5)

    assert response.headers["transfer-encoding"] == "chunked"
    assert response.content == b"first,second"
