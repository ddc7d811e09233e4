"""Transports that send the client's requests through another HTTP library than httpcore.

[`AiohttpTransport`][aep_jobs.transports.AiohttpTransport] runs requests over aiohttp, on
asyncio only. It needs the optional extra: ``pip install 'aep-jobs[aiohttp]'``. Pass it to the
client:

    async with ExportJobsClient(..., transport=AiohttpTransport()) as client:
        ...
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from .config import DEFAULT_MAX_CONNECTIONS

try:
    # Without the extra the module still imports, and the transport's constructor raises.
    # The ignore is for type checking in an environment without the extra.
    import aiohttp  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - the tests of this module need the extra
    _HAS_AIOHTTP = False
else:
    _HAS_AIOHTTP = True

__all__ = ["AiohttpTransport"]

logger = logging.getLogger("aep_jobs")

_MISSING_EXTRA = (
    "AiohttpTransport needs aiohttp, which is not installed. "
    "Install it with: pip install 'aep-jobs[aiohttp]'"
)

#: Seconds that an idle connection stays open for reuse; httpx's default.
DEFAULT_KEEPALIVE_EXPIRY = 5.0


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends requests with an ``aiohttp.ClientSession``, on asyncio.

    It behaves as the default transport does for the client. Redirects are not followed, TLS
    certificates are verified, and the connect and read timeouts of each request apply.
    Failures raise the httpx exceptions that the client's retry policy classifies, with
    ``ConnectError`` and ``ConnectTimeout`` only when nothing was sent.

    The session is created on the first request, in that request's event loop, and closed
    by [`aclose`][aep_jobs.transports.AiohttpTransport.aclose], which the client calls when it
    closes.

    NOTE: aiohttp has no write timeout, so ``httpx.Timeout.write`` is ignored, and proxies
    from the environment (``HTTPS_PROXY``) are not used.

    :param max_connections: the most connections open at once; give the client's
        ``max_connections`` so that both limits agree
    :param keepalive_expiry: seconds that an idle connection stays open for reuse
    :param verify: ``True`` to verify TLS certificates against httpx's trust store, an
        ``ssl.SSLContext`` of your own, or ``False`` to turn verification off (logged as a
        warning)
    :raises ImportError: aiohttp is not installed
    :raises ValueError: ``max_connections`` or ``keepalive_expiry`` is invalid
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        if not _HAS_AIOHTTP:
            raise ImportError(_MISSING_EXTRA, name="aiohttp")
        if not isinstance(max_connections, int) or isinstance(max_connections, bool):
            raise ValueError(f"max_connections must be a positive integer, got {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be a positive integer, got {max_connections!r}")
        if not keepalive_expiry > 0:
            raise ValueError(f"keepalive_expiry must be seconds > 0, got {keepalive_expiry!r}")

        if verify is False:
            logger.warning(
                "TLS certificate verification is off for AiohttpTransport: the access token "
                "can be read by anyone who can intercept the connection"
            )
            self._ssl: ssl.SSLContext | bool = False
        elif isinstance(verify, ssl.SSLContext):
            self._ssl = verify
        else:
            self._ssl = httpx.create_ssl_context()
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"AiohttpTransport(max_connections={self._max_connections})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_this_loop()
        body = await request.aread()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        ]

        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                # httpx inflates the body by its Content-Encoding, as with its own transport.
                auto_decompress=False,
                timeout=_client_timeout(request.extensions.get("timeout", {})),
            ) as response:
                content = await response.read()
                status = response.status
                raw_headers = response.raw_headers
                reason = response.reason
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise _httpx_error(error, request) from error

        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return httpx.Response(
            status, headers=raw_headers, content=content, request=request, extensions=extensions
        )

    async def aclose(self) -> None:
        """Close the session and its connections; the transport cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        """Return the session, creating it in the running asyncio loop on the first request."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AiohttpTransport runs on asyncio only, and no asyncio event loop is running "
                "(on Trio, use the client's default transport)"
            ) from None
        if self._closed:
            raise RuntimeError("This AiohttpTransport is closed; create a new one")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._ssl,
            )
            # trust_env stays off, so that requests go to the client's base URL and no proxy.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "AiohttpTransport was first used in another event loop; create one transport "
                "(and one client) per event loop"
            )
        return self._session


def _client_timeout(timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    """Translate httpx's per-phase timeouts into aiohttp's.

    aiohttp's ``connect`` covers the wait for a free connection and the connection itself,
    so it is the sum of httpx's ``pool`` and ``connect``.
    """
    connect = timeouts.get("connect")
    pool = timeouts.get("pool")
    pool_and_connect = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(
        total=None,
        connect=pool_and_connect,
        sock_connect=connect,
        sock_read=timeouts.get("read"),
    )


def _httpx_error(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    """Return the httpx exception that httpx's own transport raises for the same failure."""
    message = str(error) or type(error).__name__
    # The order matters: aiohttp's timeout errors are also connection errors, and its
    # connector errors are also OS errors.
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(error, asyncio.TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(error, aiohttp.ServerDisconnectedError):
        # The server closed the connection before a whole response arrived, possibly after
        # it received the request.
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(error, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(
            f"the connection closed before the whole body arrived ({message})", request=request
        )
    if isinstance(error, aiohttp.ClientResponseError):
        # aiohttp raises it for a response that is not valid HTTP.
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(error, (aiohttp.InvalidUrlClientError, aiohttp.NonHttpUrlClientError)):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(error, aiohttp.ClientConnectionError):
        # Includes connection resets, which may come after the request was sent.
        return httpx.ReadError(message, request=request)
    return httpx.TransportError(message, request=request)
