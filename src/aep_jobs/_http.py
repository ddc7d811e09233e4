"""The one place that sends requests: headers, credentials, timeouts, errors and decoding.

Nothing else in aep_jobs calls httpx. Each response type gets one msgspec decoder, built on
first use and kept.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from .auth import TokenProvider
from .errors import (
    ApiError,
    DecodeError,
    RateLimitError,
    TransportError,
    TransportTimeoutError,
    body_prefix,
    error_class_for,
)
from .models import ErrorBody, decoder_for

logger = logging.getLogger("aep_jobs")

T = TypeVar("T")

_NO_CONTENT = frozenset({204, 205})


class Response(msgspec.Struct, frozen=True, gc=False):
    """A decoded response with the metadata callers may need."""

    status_code: int
    headers: httpx.Headers
    data: Any


class Identity(msgspec.Struct, frozen=True):
    """The headers that identify the caller's organisation and sandbox."""

    api_key: str
    org_id: str
    sandbox: str

    def __repr__(self) -> str:
        return f"Identity(org_id={self.org_id!r}, sandbox={self.sandbox!r}, api_key=<hidden>)"


class Sender:
    """Sends requests to one service root and turns every outcome into data or an error.

    :param http: the HTTP client; the sender never closes it
    :param base_url: the service root, e.g. ``https://platform.adobe.io/data/core/ups``
    :param identity: the organisation headers sent with every request
    :param token: where the bearer token comes from
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: httpx.URL,
        identity: Identity,
        token: TokenProvider,
    ) -> None:
        self._http = http
        self.base_url = base_url
        self._identity = identity
        self._token = token
        self._static_headers = {
            "accept": "application/json",
            "x-api-key": identity.api_key,
            "x-gw-ims-org-id": identity.org_id,
            "x-sandbox-name": identity.sandbox,
        }

    def url_for(self, path: str) -> httpx.URL:
        """Return the absolute URL of a path relative to the service root."""
        return self.base_url.copy_with(
            raw_path=(self.base_url.raw_path.rstrip(b"/") + path.encode())
        )

    def same_origin(self, url: httpx.URL) -> bool:
        """Check whether ``url`` has the scheme, host and port of the service root."""
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    async def request(
        self,
        operation: str,
        method: str,
        url: httpx.URL,
        *,
        decode: type[T] | None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
    ) -> Response:
        """Send one request and decode its body into ``decode``.

        :param operation: what the request does, for messages, e.g. ``get export job 722``
        :param decode: the type of the success body; ``None`` or an empty body leaves
            ``Response.data`` as ``None``
        :param ok: the HTTP statuses that mean success
        :raises ApiError: (a subclass for each status) the response status is not in ``ok``
        :raises TransportError: no response arrived
        :raises DecodeError: the success body does not decode into ``decode``
        """
        if not self.same_origin(url):
            # Credentials go only to the configured origin.
            raise TransportError(
                operation,
                f"refused to send credentials to {url.scheme}://{url.netloc.decode()}; "
                f"only {self.base_url.scheme}://{self.base_url.netloc.decode()} is configured",
            )
        request_id = str(uuid.uuid4())
        headers = {
            **self._static_headers,
            "authorization": f"Bearer {await self._token.get_token()}",
            "x-request-id": request_id,
        }
        if body is not None:
            headers["content-type"] = "application/json"
        if extra_headers:
            headers.update(extra_headers)

        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.TimeoutException as error:
            raise TransportTimeoutError(
                operation, f"timed out ({type(error).__name__}); the server did not answer in time"
            ) from error
        except httpx.TransportError as error:
            raise TransportError(
                operation, f"{type(error).__name__}: {error or 'connection failed'}"
            ) from error

        elapsed_ms = (time.perf_counter() - started) * 1000
        server_request_id = response.headers.get("x-request-id", request_id)
        logger.debug(
            "%s %s -> %d in %.1f ms (request id %s)",
            method,
            url.path,
            response.status_code,
            elapsed_ms,
            server_request_id,
        )

        content = response.content
        if response.status_code not in ok:
            raise _api_error(
                operation, response.status_code, response.headers, content, server_request_id
            )
        if decode is None or not content or response.status_code in _NO_CONTENT:
            return Response(response.status_code, response.headers, None)
        try:
            data = decoder_for(decode).decode(content)
        except msgspec.ValidationError as error:
            raise DecodeError(
                operation, response.status_code, content, f"unexpected shape: {error}"
            ) from None
        except msgspec.DecodeError as error:
            raise DecodeError(
                operation, response.status_code, content, f"not valid JSON: {error}"
            ) from None
        return Response(response.status_code, response.headers, data)


def _api_error(
    operation: str,
    status_code: int,
    headers: httpx.Headers,
    content: bytes,
    request_id: str,
) -> ApiError:
    body: ErrorBody | None
    try:
        body = decoder_for(ErrorBody).decode(content) if content else None
    except (msgspec.ValidationError, msgspec.DecodeError):
        body = None

    if body is not None and body.explanation:
        message = body.explanation
    elif content:
        message = f"unexpected error body {body_prefix(content)!r}"
    else:
        message = httpx.codes.get_reason_phrase(status_code) or "no error body"
    code = body.code if body is not None else None
    if body is not None and body.request_id:
        request_id = body.request_id

    error_class = error_class_for(status_code)
    fields: dict[str, Any] = {
        "code": code,
        "message": message,
        "request_id": request_id,
        "body": body,
    }
    if issubclass(error_class, RateLimitError):
        fields["retry_after"] = _retry_after_seconds(headers.get("retry-after"))
    return error_class(operation, status_code, **fields)


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header given in seconds; ``None`` for absent or other forms."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
