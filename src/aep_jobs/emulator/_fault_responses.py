"""Responses of injected faults and of the rate limit, in the shapes of Adobe's API and IMS."""

from __future__ import annotations

import http
from dataclasses import replace

from ._faults import Fault
from ._responses import Response, gateway_error, ims_error, problem

__all__ = [
    "NOT_JSON_PAGE",
    "ims_status_fault_response",
    "not_json_response",
    "rate_limited",
    "status_fault_response",
    "truncated",
]

# NOTE: Adobe documents the gateway's body shape and the code 401013. The other gateway
# codes here are the emulator's own.
_GATEWAY_ERRORS = {
    401: ("401013", "Oauth token is not valid"),
    408: ("408000", "Request timed out"),
    429: ("429001", "Too many requests"),
    502: ("502000", "Bad gateway"),
    504: ("504000", "Gateway timeout"),
}
_SERVICE_DETAILS = {
    500: "The export job service failed to process the request. Retry later.",
    503: "The export job service is temporarily unavailable. Retry later.",
}
# NOTE: Adobe documents no IMS error bodies for these statuses. The codes are RFC 6749's
# (sections 4.1.2.1 and 5.2), except too_many_requests, which is the emulator's own.
_IMS_ERRORS = {
    401: "invalid_client",
    429: "too_many_requests",
    500: "server_error",
    503: "temporarily_unavailable",
}

# A maintenance page as proxies and gateways send it, with status 200.
NOT_JSON_PAGE = b"""<!DOCTYPE html>
<html>
<head><title>Service maintenance</title></head>
<body>
<h1>Service maintenance</h1>
<p>The service is down for maintenance. Please try again later.</p>
</body>
</html>
"""


def status_fault_response(fault: Fault, request_id: str) -> Response:
    """Build the response of a ``status`` fault, with its default body unless it has one."""
    code = fault.status_code
    headers: list[tuple[bytes, bytes]] = []
    if fault.retry_after is not None:
        headers.append((b"retry-after", fault.retry_after.encode("latin-1")))

    if fault.body is not None:
        return Response(code, fault.body, headers, fault.content_type.encode("latin-1"))
    if code in _GATEWAY_ERRORS:
        response = gateway_error(code, *_GATEWAY_ERRORS[code])
        response.headers.extend(headers)
        return response

    title = _reason_phrase(code)
    detail = _SERVICE_DETAILS.get(code, f"The export job service responded {code} {title}.")
    problem_type = f"http://ns.adobe.com/aep/errors/UPS-1007-{code}"
    return problem(code, title, detail, request_id, problem_type=problem_type, headers=headers)


def ims_status_fault_response(fault: Fault) -> Response:
    """Build the token endpoint's response to a ``status`` fault, in the OAuth 2.0 error shape.

    A fault without a body gets ``{"error", "error_description"}``, with the error
    ``server_error`` for a 5xx status and ``invalid_request`` for a 4xx status unless the
    status has a code of its own.
    """
    code = fault.status_code
    headers: list[tuple[bytes, bytes]] = []
    if fault.retry_after is not None:
        headers.append((b"retry-after", fault.retry_after.encode("latin-1")))
    if fault.body is not None:
        return Response(code, fault.body, headers, fault.content_type.encode("latin-1"))

    error = _IMS_ERRORS.get(code, "server_error" if code >= 500 else "invalid_request")
    description = f"the token endpoint responded {code} {_reason_phrase(code)}"
    return ims_error(code, error, description, headers)


def not_json_response() -> Response:
    return Response(200, NOT_JSON_PAGE, content_type=b"text/html; charset=utf-8")


def rate_limited(retry_after: int) -> Response:
    """Build the gateway's 429 for a request over the rate limit."""
    code, message = _GATEWAY_ERRORS[429]
    response = gateway_error(429, code, message)
    response.headers.append((b"retry-after", str(retry_after).encode("ascii")))
    return response


def truncated(response: Response) -> Response:
    """Return ``response`` with the first half of its body, and a Content-Length to match."""
    return replace(response, body=response.body[: len(response.body) // 2])


def _reason_phrase(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"
