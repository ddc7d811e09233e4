"""The in-process httpx transport: the ASGI app without a socket, with a socket's failures.

Requests go to the app through ``httpx.ASGITransport``. When the app drops the connection,
this transport raises what httpx raises for the same event on a real socket (messages as
httpx 0.29 with httpcore 1.0.9 gives them on asyncio):

- closed before the response: ``RemoteProtocolError`` "Server disconnected without
  sending a response."
- closed after part of the body: the response arrives, and reading its body raises
  ``RemoteProtocolError`` "peer closed connection without sending complete message body".
- refused: ``ConnectError`` "All connection attempts failed".
- no response within the request's read timeout: ``ReadTimeout``. ``httpx.ASGITransport``
  alone ignores timeouts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx

from ._app import EmulatorApp
from ._connection import ConnectionDropped

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends requests straight to the emulator's app."""

    def __init__(self, app: EmulatorApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        read_timeout: float | None = timeouts.get("read")
        try:
            with anyio.move_on_after(read_timeout):
                return await self._asgi.handle_async_request(request)
        except ConnectionDropped as dropped:
            return _dropped_connection(dropped, request)
        # Reached only when the read timeout cancelled the app.
        raise httpx.ReadTimeout("", request=request)

    async def aclose(self) -> None:
        await self._asgi.aclose()


def _dropped_connection(dropped: ConnectionDropped, request: httpx.Request) -> httpx.Response:
    """Raise the error of a dropped connection, or return its partial response."""
    if dropped.refused:
        raise httpx.ConnectError("All connection attempts failed", request=request)
    if dropped.status is None:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(
        dropped.status,
        headers=dropped.headers,
        stream=_CutBodyStream(dropped.sent_body, _content_length(dropped.headers), request),
        request=request,
    )


class _CutBodyStream(httpx.AsyncByteStream):
    """A response body that ends early, as when the server closes the connection mid-body."""

    def __init__(self, sent: bytes, expected: int | None, request: httpx.Request) -> None:
        self._sent = sent
        self._expected = expected
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._sent:
            yield self._sent
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {len(self._sent)} bytes, expected {self._expected})",
            request=self._request,
        )


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value)
    return None
