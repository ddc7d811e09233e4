"""The exceptions that aep_jobs raises.

Every exception derives from [`AepJobsError`][aep_jobs.AepJobsError]:

    AepJobsError
    ├── ConfigurationError         missing or invalid client settings (also a ValueError)
    ├── ClientClosedError          a call on a closed client (also a RuntimeError)
    ├── RequestValidationError     invalid input, found before anything was sent (also a ValueError)
    ├── PaginationError            a next link that cannot be followed safely
    ├── DecodeError                a response body that is not JSON or not of the expected shape
    ├── OutcomeUnknownError        a create that may or may not have created the job
    ├── TransportError             no HTTP response: connection failed, reset, ...
    │   └── TransportTimeoutError  ... or a timeout expired
    └── ApiError                   the API answered with an error status
        ├── BadRequestError        400
        ├── AuthenticationError    401
        ├── PermissionDeniedError  403
        ├── NotFoundError          404
        ├── RateLimitError         429
        └── ServerError            5xx
"""

from __future__ import annotations

import reprlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import ErrorBody

__all__ = [
    "AepJobsError",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "DecodeError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
    "TransportTimeoutError",
]


# Shows rejected values in messages, shortened and with nesting cut, however large they are.
_VALUE_REPR = reprlib.Repr()
_VALUE_REPR.maxlevel = 3
_VALUE_REPR.maxstring = 80
_VALUE_REPR.maxother = 80


class AepJobsError(Exception):
    """Base class of every exception raised by aep_jobs.

    :ivar attempts: how many times the call was attempted, retries included
    :ivar elapsed: seconds from the first attempt to this error, backoff included
    :ivar cursor: for an error raised by a listing, the offset from which a new listing
        resumes (``None``: from the start)
    :ivar job_id: for an error raised by a get, a cancel or a wait, the export job's id
    """

    attempts: int = 1
    elapsed: float = 0.0
    cursor: str | None = None
    job_id: str | None = None
    #: Why the call stopped retrying, when that was not simply a final error.
    retry_note: str | None = None

    def __str__(self) -> str:
        text = super().__str__()
        notes = []
        if self.attempts > 1:
            notes.append(f"{self.attempts} attempts in {self.elapsed:.1f} s")
        if self.retry_note:
            notes.append(self.retry_note)
        if notes:
            text += f" [{'; '.join(notes)}]"
        return text


class ConfigurationError(AepJobsError, ValueError):
    """The client's settings are missing or invalid; every problem is listed at once.

    :ivar problems: one line per problem, each naming the setting and the fix
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid aep_jobs settings:\n" + "\n".join(f"- {p}" for p in problems))


class ClientClosedError(AepJobsError, RuntimeError):
    """A call was made on a client that is already closed."""


class RequestValidationError(AepJobsError, ValueError):
    """A request argument or body is invalid; nothing was sent.

    :ivar field: the dotted wire name of the invalid field, e.g. ``destination.datasetId``
    :ivar value: the value that was rejected
    """

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"Invalid {field} {_VALUE_REPR.repr(value)}: {problem}")

    @classmethod
    def missing(cls, field: str) -> RequestValidationError:
        """Return the error for a required field that is absent."""
        error = cls(field, None, "is required")
        error.args = (f"Missing {field}: the field is required",)
        return error


class PaginationError(AepJobsError):
    """A page's next link cannot be followed: it leads to another origin or repeats a cursor.

    :ivar cursor: the offset inside the refused next link, or ``None`` when it has none
    """

    def __init__(self, message: str, *, cursor: str | None) -> None:
        self.cursor = cursor
        super().__init__(message)


class DecodeError(AepJobsError):
    """A response body could not be decoded into the expected type.

    :ivar operation: the operation that received the body, e.g. ``get export job 722``
    :ivar status_code: the HTTP status of the response
    :ivar body_prefix: at most the first 200 characters of the body
    """

    def __init__(self, operation: str, status_code: int, body: bytes, reason: str) -> None:
        self.operation = operation
        self.status_code = status_code
        self.body_prefix = body_prefix(body)
        self.reason = reason
        super().__init__(
            f"Could not decode the response to {operation} (HTTP {status_code}): {reason}; "
            f"body starts with {self.body_prefix!r}"
        )


class TransportError(AepJobsError):
    """No HTTP response was received: the connection failed or broke.

    :ivar operation: the operation that was attempted
    """

    def __init__(self, operation: str, message: str) -> None:
        self.operation = operation
        super().__init__(f"{operation} failed: {message}")


class TransportTimeoutError(TransportError):
    """A connect, read, write or pool timeout, or the call's deadline, expired first."""


class OutcomeUnknownError(AepJobsError):
    """A create failed in a way that leaves unknown whether the server created the job.

    This follows a timeout or a broken connection after the request was sent, or HTTP 408,
    500, 502 or 504. (A success response whose body cannot be read raises
    [`DecodeError`][aep_jobs.DecodeError]: the job was created, but its id is unknown.) The
    API has no idempotency key, so the client does not retry such a create unless the retry
    policy has ``retry_creates=True``. To reconcile, list the jobs created since
    ``started_at`` and look for the request's dataset and segments before creating the job
    again.

    :ivar operation: the operation that failed
    :ivar request: the [`ExportJobRequest`][aep_jobs.ExportJobRequest] that was sent
    :ivar started_at: epoch milliseconds when the first attempt started, comparable with
        ``ExportJob.creation_time``
    """

    def __init__(self, operation: str, reason: str, *, started_at: int) -> None:
        self.operation = operation
        self.request: Any = None
        self.started_at = started_at
        super().__init__(
            f"{operation}: the outcome is unknown ({reason}); the job may have been created. "
            "List the jobs created since then before creating it again"
        )


class ApiError(AepJobsError):
    """The API responded with an HTTP error status.

    :ivar status_code: the HTTP status
    :ivar code: the AEP error code (``error_code`` of a gateway error, or the first code of a
        problem body's ``errors``), or ``None``
    :ivar message: the server's explanation (``message``, or a problem's ``detail`` or ``title``)
    :ivar request_id: the request id from the body or the ``x-request-id`` header, or ``None``
    :ivar body: the parsed error body, or ``None`` when the body was not a JSON object
    :ivar operation: the operation that failed, e.g. ``get export job 722``
    :ivar retry_after: the delay in seconds from a ``Retry-After`` header, or ``None``
    """

    def __init__(
        self,
        operation: str,
        status_code: int,
        *,
        code: str | None,
        message: str,
        request_id: str | None,
        body: ErrorBody | None,
        retry_after: float | None = None,
    ) -> None:
        self.operation = operation
        self.retry_after = retry_after
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body
        details = f"HTTP {status_code}"
        if code:
            details += f", code {code}"
        if request_id:
            details += f", request id {request_id}"
        super().__init__(f"{operation} failed: {message} ({details})")


class BadRequestError(ApiError):
    """HTTP 400: the server rejected the request as invalid."""


class AuthenticationError(ApiError):
    """HTTP 401: the access token is missing, expired or invalid."""


class PermissionDeniedError(ApiError):
    """HTTP 403: the credentials are not allowed to do this (API key, entitlement, sandbox)."""


class NotFoundError(ApiError):
    """HTTP 404: the export job or the path does not exist."""


class RateLimitError(ApiError):
    """HTTP 429: too many requests; ``retry_after`` is the delay the server requested."""


class ServerError(ApiError):
    """HTTP 5xx: the service or a gateway in front of it failed."""


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[ApiError]:
    """Return the [`ApiError`][aep_jobs.ApiError] subclass for an HTTP error status."""
    if status_code >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status_code, ApiError)


def body_prefix(body: bytes, limit: int = 200) -> str:
    """Return the start of a response body as text, for messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    if len(text) > limit:
        return text[:limit] + "..."
    return text
