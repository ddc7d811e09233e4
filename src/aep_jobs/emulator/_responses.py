"""HTTP responses of the emulator, and the three error body styles of Adobe's services.

The API gateway responds with ``{"error_code": ..., "message": ...}``. The service behind
it responds with problem details: ``{"type", "title", "status", "detail", "requestId"}``.
The IMS token endpoint responds with OAuth 2.0 errors: ``{"error", "error_description"}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

__all__ = [
    "INVALID_REQUEST_TYPE",
    "JOB_FINISHED_TYPE",
    "METHOD_NOT_ALLOWED_TYPE",
    "NOT_FOUND_TYPE",
    "TOO_LARGE_TYPE",
    "Response",
    "bad_request_error",
    "gateway_error",
    "ims_error",
    "problem",
]

ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# NOTE: Adobe publishes no problem types for this endpoint. These URIs have the shape of
# other AEP errors, but the codes in them are the emulator's own.
INVALID_REQUEST_TYPE = "http://ns.adobe.com/aep/errors/UPS-1001-400"
BAD_REQUEST_TYPE = "http://ns.adobe.com/aep/errors/UPS-1002-400"
JOB_FINISHED_TYPE = "http://ns.adobe.com/aep/errors/UPS-1003-400"
NOT_FOUND_TYPE = "http://ns.adobe.com/aep/errors/UPS-1004-404"
METHOD_NOT_ALLOWED_TYPE = "http://ns.adobe.com/aep/errors/UPS-1005-405"
TOO_LARGE_TYPE = "http://ns.adobe.com/aep/errors/UPS-1006-413"

_encode = msgspec.json.Encoder().encode


@dataclass
class Response:
    """A complete response. Header names are lower case, as ASGI requires."""

    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes = b"application/json"
    """Sent only with a non-empty body."""
    created_job_id: int | None = None
    """The job that the request created, for the record of a lost response."""

    def head(self, request_id: str) -> list[tuple[bytes, bytes]]:
        """Return the response headers, with the request id, Content-Type and Content-Length."""
        headers = [*self.headers, (b"x-request-id", request_id.encode("latin-1"))]
        if self.body:
            headers.append((b"content-type", self.content_type))
        headers.append((b"content-length", str(len(self.body)).encode("ascii")))
        return headers

    async def send(self, send: ASGISend, request_id: str) -> None:
        headers = self.head(request_id)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def gateway_error(status: int, error_code: str, message: str) -> Response:
    return Response(status, _encode({"error_code": error_code, "message": message}))


def ims_error(
    status: int, error: str, description: str, headers: list[tuple[bytes, bytes]] | None = None
) -> Response:
    """Build an OAuth 2.0 error response (RFC 6749, section 5.2) as Adobe IMS sends them."""
    body = _encode({"error": error, "error_description": description})
    return Response(status, body, headers or [])


def problem(
    status: int,
    title: str,
    detail: str,
    request_id: str,
    *,
    problem_type: str,
    errors: dict[str, list[dict[str, str]]] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Response:
    """Build a problem details response as the service behind the gateway sends them."""
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title,
        "status": status,
        "detail": detail,
        "requestId": request_id,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(status, _encode(body), headers or [])


def bad_request_error(detail: str) -> Response:
    """Build the body style Adobe uses for a wrong Content-Type, which has no request id."""
    body = {"type": BAD_REQUEST_TYPE, "status": 400, "title": "BadRequestError", "detail": detail}
    return Response(400, _encode(body))
