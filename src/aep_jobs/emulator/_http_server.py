"""A small HTTP/1.1 server for the emulator's ASGI app: an asyncio protocol on httptools.

uvicorn (0.55) sends a 500 when an app fails before its response, and offers no way to
close the connection without one. The emulator must close it, with a FIN or a TCP reset,
before or during a response, so this server runs the app itself and owns each
connection. It serves HTTP/1.1 with keep-alive, queues pipelined requests, and disables
Nagle's algorithm so that a small response is not held back waiting for an
acknowledgement. There is no TLS, HTTP/2 or WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast
from urllib.parse import unquote

import httptools

from ._connection import ConnectionDropped, DropMode

__all__ = ["HttpConnection", "Lifespan", "ServerState"]

logger = logging.getLogger("aep_jobs.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# Request line and headers larger than this get 431; real requests have a few hundred bytes.
MAX_HEAD_SIZE = 64 * 1024
# Unread request body kept per connection before the server stops reading the socket.
MAX_BUFFERED_BODY = 256 * 1024
# Seconds an idle keep-alive connection stays open, as in nginx's default. It is longer
# than httpx's 5 s pool expiry, so the client, not the server, closes an idle connection,
# and a request never races the server's close.
KEEP_ALIVE_TIMEOUT = 75.0
# Bodies up to this size are joined to the head and written with one call.
_JOIN_LIMIT = 64 * 1024

_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii")
    for status in http.HTTPStatus
}
_ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}
_NO_BODY_STATUSES = frozenset({204, 304})


class _RequestRejectedError(Exception):
    """Raised in a parser callback to respond with an error status and close the connection."""

    def __init__(self, status: int, message: bytes) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


class ServerState:
    """The app and the open connections of one server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.connections: set[HttpConnection] = set()
        self.stopping = False
        self._all_closed = asyncio.Event()
        self._date = b""
        self._date_second = -1

    def date_header(self) -> bytes:
        """Return the Date header value, formatted at most once a second."""
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            self._date = email.utils.formatdate(second, usegmt=True).encode("ascii")
        return self._date

    async def shutdown(self, timeout: float) -> None:
        """Close idle connections, give busy ones ``timeout`` seconds, then abort the rest."""
        self.stopping = True
        for connection in list(self.connections):
            connection.close_when_idle()
        if not self.connections:
            return

        try:
            await asyncio.wait_for(self._all_closed.wait(), timeout)
        except asyncio.TimeoutError:
            for connection in list(self.connections):
                connection.abort()
            # Let the aborted connections run their connection_lost callbacks.
            await asyncio.sleep(0)

    def remove(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)
        if self.stopping and not self.connections:
            self._all_closed.set()


class HttpConnection(asyncio.Protocol):
    """One client connection: parses requests and runs the app on them one at a time."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._server_address: tuple[str, int] | None = None
        self._client_address: tuple[str, int] | None = None

        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        # The request whose body is arriving, the one the app serves, and those pipelined.
        self._receiving: _Exchange | None = None
        self._serving: _Exchange | None = None
        self._queued: deque[_Exchange] = deque()
        self._task: asyncio.Task[None] | None = None

        self._writable = asyncio.Event()
        self._writable.set()
        self._reading_paused = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._server_address = _address(transport.get_extra_info("sockname"))
        self._client_address = _address(transport.get_extra_info("peername"))
        self._state.connections.add(self)
        self._start_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._state.remove(self)
        self._stop_idle_timer()
        for exchange in (self._receiving, self._serving, *self._queued):
            if exchange is not None:
                exchange.disconnect()
        self._queued.clear()
        # The client can no longer read a response, so the app is cancelled where it waits.
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        self._stop_idle_timer()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            # httptools wraps what a callback raises, and keeps it as the context.
            rejection = exc.__context__
            if isinstance(rejection, _RequestRejectedError):
                self._reject(rejection.status, rejection.message)
            else:
                logger.error("The emulator's server failed to parse a request", exc_info=exc)
                self._reject(500, b"Internal Server Error")
        except httptools.HttpParserUpgrade:
            self._reject(400, b"Protocol upgrades are not supported")
        except httptools.HttpParserError:
            self._reject(400, b"Invalid HTTP request")
        else:
            # A request head that stops halfway keeps the connection open no longer than idling.
            if self._serving is None and self._receiving is None:
                self._start_idle_timer()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._count_head_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        self._count_head_bytes(len(name) + len(value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        try:
            url = httptools.parse_url(self._url)
        except httptools.HttpParserInvalidURLError:
            raise _RequestRejectedError(400, b"Invalid request target") from None
        raw_path = url.path if url.path is not None else self._url
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI_VERSION,
            "http_version": parser.get_http_version(),
            "method": parser.get_method().decode("ascii"),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "root_path": "",
            "headers": self._headers,
            "server": self._server_address,
            "client": self._client_address,
        }
        keep_alive = parser.should_keep_alive() and not self._state.stopping
        expects_continue = (b"expect", b"100-continue") in self._headers
        exchange = _Exchange(self, scope, keep_alive, expects_continue)
        self._receiving = exchange
        if self._serving is None:
            self._serve(exchange)
        else:
            self._queued.append(exchange)
            self._update_reading()

    def on_body(self, body: bytes) -> None:
        if self._receiving is not None:
            self._receiving.add_body(body)
            self._update_reading()

    def on_message_complete(self) -> None:
        if self._receiving is not None:
            self._receiving.end_body()
            self._receiving = None

    # Used by exchanges and the server

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    async def drain(self) -> None:
        if not self._writable.is_set():
            await self._writable.wait()

    def body_consumed(self) -> None:
        self._update_reading()

    def date_header(self) -> bytes:
        return self._state.date_header()

    def close_when_idle(self) -> None:
        """Close the connection now if no request is in progress, else after its response."""
        if self._serving is None and self._receiving is None and self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # Internals

    def _count_head_bytes(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_HEAD_SIZE:
            raise _RequestRejectedError(431, b"Request header fields too large")

    def _serve(self, exchange: _Exchange) -> None:
        self._serving = exchange
        self._task = self._loop.create_task(self._run_app(exchange))

    async def _run_app(self, exchange: _Exchange) -> None:
        scope = exchange.scope
        try:
            await self._state.app(scope, exchange.receive, exchange.send)
        except ConnectionDropped as dropped:
            self._drop(dropped.mode)
            return
        except asyncio.CancelledError:
            # The connection is closed, or the server is aborting it, so no response can be sent.
            return
        except Exception:
            logger.exception("The emulator failed on %s %s", scope["method"], scope["path"])
            self._end_after_failure(exchange)
            return

        if not exchange.response_complete:
            logger.error(
                "The emulator returned without a complete response to %s %s",
                scope["method"],
                scope["path"],
            )
            self._end_after_failure(exchange)
            return
        self._finish(exchange)

    def _finish(self, exchange: _Exchange) -> None:
        """Close the connection, or serve the next request after a complete response."""
        self._serving = None
        self._task = None
        if not exchange.keep_alive or self._state.stopping:
            if self._transport is not None:
                self._transport.close()
            return
        if self._queued:
            self._serve(self._queued.popleft())
        else:
            self._start_idle_timer()
        self._update_reading()

    def _end_after_failure(self, exchange: _Exchange) -> None:
        if not exchange.response_started:
            self._respond_and_close(500, b"Internal Server Error")
        elif self._transport is not None:
            self._transport.close()

    def _drop(self, mode: DropMode) -> None:
        transport = self._transport
        if transport is None:
            return
        if mode == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # A zero linger time makes close() send a TCP reset instead of a FIN.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            # close() sends what is buffered, such as a partial body, then a FIN.
            transport.close()

    def _reject(self, status: int, message: bytes) -> None:
        """Respond to a request that cannot be parsed, and close the connection.

        While the app still serves an earlier request, the connection closes without a
        response, because the error response would land inside the earlier one.
        """
        if self._serving is not None:
            if self._transport is not None:
                self._transport.close()
            return
        self._respond_and_close(status, message)

    def _respond_and_close(self, status: int, message: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        head = (
            _status_line(status)
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message)
        )
        self._transport.write(head + message)
        self._transport.close()

    def _update_reading(self) -> None:
        """Pause reading while requests wait in the queue or too much body is unread."""
        transport = self._transport
        if transport is None or self._closed:
            return
        buffered = self._receiving.buffered if self._receiving is not None else 0
        should_pause = bool(self._queued) or buffered > MAX_BUFFERED_BODY
        if should_pause and not self._reading_paused:
            transport.pause_reading()
        elif not should_pause and self._reading_paused:
            transport.resume_reading()
        self._reading_paused = should_pause

    def _start_idle_timer(self) -> None:
        self._stop_idle_timer()
        self._idle_timer = self._loop.call_later(KEEP_ALIVE_TIMEOUT, self.close_when_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None


class _Exchange:
    """One request and its response: the ASGI ``receive`` and ``send`` of one app call."""

    def __init__(
        self,
        connection: HttpConnection,
        scope: Scope,
        keep_alive: bool,
        expects_continue: bool,
    ) -> None:
        self.scope = scope
        self.keep_alive = keep_alive
        self._connection = connection
        self._expects_continue = expects_continue
        self._head_only = scope["method"] == "HEAD"

        self._body: list[bytes] = []
        self.buffered = 0
        self._body_complete = False
        self._body_arrived = asyncio.Event()
        self._disconnected = False

        self.response_started = False
        self.response_complete = False
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_written = False
        self._chunked = False

    def add_body(self, data: bytes) -> None:
        # After the response, the rest of the body is read only to reach the next request.
        if self.response_complete:
            return
        self._body.append(data)
        self.buffered += len(data)
        self._body_arrived.set()

    def end_body(self) -> None:
        self._body_complete = True
        self._body_arrived.set()

    def disconnect(self) -> None:
        self._disconnected = True
        self._body_arrived.set()

    async def receive(self) -> Message:
        if self._expects_continue and not self._head_written:
            self._expects_continue = False
            self._connection.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while not self._body and not self._body_complete and not self._disconnected:
            self._body_arrived.clear()
            await self._body_arrived.wait()
        if self._disconnected or (self.response_complete and not self._body):
            return {"type": "http.disconnect"}

        body = b"".join(self._body)
        self._body.clear()
        self.buffered = 0
        self._connection.body_consumed()
        return {"type": "http.request", "body": body, "more_body": not self._body_complete}

    async def send(self, message: Message) -> None:
        if self._disconnected:
            return
        message_type = message["type"]
        if message_type == "http.response.start":
            if self.response_started:
                raise RuntimeError("The response was already started")
            self.response_started = True
            self._status = message["status"]
            self._headers = list(message.get("headers", []))
        elif message_type == "http.response.body":
            if not self.response_started or self.response_complete:
                raise RuntimeError("http.response.body sent outside a started response")
            body: bytes = message.get("body", b"")
            more_body: bool = message.get("more_body", False)
            self._write_body(body, more_body)
            if not more_body:
                self.response_complete = True
                # A body the app did not read is dropped, so that reading can resume.
                self._body.clear()
                self.buffered = 0
            await self._connection.drain()
        else:
            raise RuntimeError(f"Unexpected ASGI message type {message_type!r}")

    def _write_body(self, body: bytes, more_body: bool) -> None:
        if self._head_only:
            body = b""
        head = b""
        if not self._head_written:
            self._head_written = True
            # The head decides whether the body is sent in chunks.
            head = self._head(body, more_body)
        if self._chunked:
            chunk = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            body = chunk if more_body else chunk + b"0\r\n\r\n"

        if head and len(body) <= _JOIN_LIMIT:
            self._connection.write(head + body)
            return
        if head:
            self._connection.write(head)
        if body:
            self._connection.write(body)

    def _head(self, first_body: bytes, more_body: bool) -> bytes:
        lines = [_status_line(self._status)]
        has_length = False
        has_connection = False
        for name, value in self._headers:
            lower_name = name.lower()
            if lower_name == b"content-length":
                has_length = True
            elif lower_name == b"connection":
                has_connection = True
                if value.lower() == b"close":
                    self.keep_alive = False
            lines.append(b"%b: %b\r\n" % (name, value))

        if not has_length and self._status not in _NO_BODY_STATUSES and not self._head_only:
            if more_body:
                self._chunked = True
                lines.append(b"transfer-encoding: chunked\r\n")
            else:
                lines.append(b"content-length: %d\r\n" % len(first_body))
        lines.append(b"date: %b\r\n" % self._connection.date_header())
        if not self.keep_alive and not has_connection:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)


class Lifespan:
    """Runs the app's ASGI lifespan protocol: startup before serving, shutdown after."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def startup(self) -> None:
        """Run the app's startup.

        :raises RuntimeError: when the app reports a failed startup, fails, or ends first.
        """
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message is None:
            raise RuntimeError("The ASGI app ended during lifespan startup") from self._error
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"The ASGI app failed to start: {message.get('message', '')}")
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"Unexpected lifespan message {message['type']!r}")

    async def shutdown(self, timeout: float) -> None:
        """Run the app's shutdown for at most ``timeout`` seconds. Failures are logged."""
        task = self._task
        if task is None or task.done():
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        try:
            message = await asyncio.wait_for(self._from_app.get(), timeout)
        except asyncio.TimeoutError:
            logger.warning("The emulator's lifespan shutdown timed out after %s s", timeout)
            message = None
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            logger.warning("The emulator's lifespan shutdown failed: %s", message.get("message"))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": _ASGI_VERSION, "state": {}}
        try:
            await self._app(scope, self._to_app.get, self._from_app.put)
        except Exception as exc:
            self._error = exc
        finally:
            await self._from_app.put(None)


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else b"HTTP/1.1 %d \r\n" % status


def _address(address: Any) -> tuple[str, int] | None:
    """Return the (host, port) of a socket address, dropping IPv6 flow info and scope id."""
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None
