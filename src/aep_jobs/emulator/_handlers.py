"""The service behind the gateway: list, create, get and cancel, each returning a response."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import msgspec

from ._config import EmulatorConfig
from ._faults import IMS_TOKEN_ROUTE, Fault
from ._responses import (
    INVALID_REQUEST_TYPE,
    JOB_FINISHED_TYPE,
    NOT_FOUND_TYPE,
    TOO_LARGE_TYPE,
    Response,
    bad_request_error,
    problem,
)
from ._store import Cursor, JobFinishedError, JobNotFoundError, JobStore
from ._validation import InvalidRequestError, validate_create_request

__all__ = [
    "API_ROOT",
    "JOBS_ROUTE",
    "JOB_ROUTE",
    "BodyTooLargeError",
    "ClientDisconnectedError",
    "JobHandlers",
    "Request",
    "drain_body",
    "read_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

API_ROOT = "/data/core/ups"
JOBS_ROUTE = "/export/jobs"
JOB_ROUTE = "/export/jobs/{id}"

# A create request is a few KB at most, so 1 MiB leaves room for any real one.
MAX_BODY_SIZE = 1024 * 1024

_CANCEL_BODY = msgspec.json.encode(
    {"status": True, "message": "Export job has been marked for cancelling"}
)
_CURSOR = re.compile(r"([0-9]{1,15})_([0-9]{1,18})")
# ASCII digits only: int() would also accept other scripts' digits, signs and underscores.
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request that the handlers read."""

    scope: Scope
    method: str
    path: str
    headers: dict[str, str]
    request_id: str
    route: str
    """Route template, or ``""`` when the path matches no route."""
    job_id_text: str | None
    """The ``{id}`` path segment of the job route, as sent."""

    @property
    def full_path(self) -> str:
        """Path with the query string, if any, as the request log and the logs show it.

        A token request's query string is left out, because a client may have sent its
        client secret there.
        """
        query = self.scope.get("query_string", b"").decode("latin-1")
        if not query or self.route == IMS_TOKEN_ROUTE:
            return self.path
        return f"{self.path}?{query}"


class ClientDisconnectedError(Exception):
    pass


class BodyTooLargeError(Exception):
    pass


class JobHandlers:
    """The four operations of ``/export/jobs`` on one store."""

    def __init__(self, config: EmulatorConfig, store: JobStore) -> None:
        self._config = config
        self._store = store
        self._encode = msgspec.json.Encoder().encode

    async def handle(
        self, request: Request, receive: Receive, link_fault: Fault | None = None
    ) -> Response:
        """Process a request whose route and method exist.

        :param link_fault: a ``repeated_cursor`` or ``foreign_next_link`` fault to apply
            to a listing's ``link.next``.
        :raises ClientDisconnectedError: when the client leaves while sending a body.
        """
        if request.route == JOBS_ROUTE:
            if request.method == "GET":
                return self._list_jobs(request, link_fault)
            return await self._create_job(request, receive)
        if request.method == "GET":
            return self._get_job(request)
        return self._cancel_job(request)

    def _list_jobs(self, request: Request, link_fault: Fault | None) -> Response:
        request_id = request.request_id
        query_string = request.scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(query_string, keep_blank_values=True)
        limit_text = _first(query, "limit")
        offset_text = _first(query, "offset") or None
        status = _first(query, "status") or None

        limit: int | None = None
        if limit_text is not None:
            limit = int(limit_text) if _DIGITS.fullmatch(limit_text) else 0
            if limit < 1:
                return _bad_query(
                    f"limit must be a positive integer, got {limit_text!r}", request_id
                )

        cursor: Cursor | None = None
        if offset_text is not None:
            match = _CURSOR.fullmatch(offset_text)
            if match is None:
                return _bad_query(
                    "offset must be a cursor of the form {creationTimeMs}_{id}, such as "
                    f"'1538573416687_722', got {offset_text!r}",
                    request_id,
                )
            cursor = (int(match.group(1)), int(match.group(2)))

        page = self._store.page(limit=limit, cursor=cursor, status=status)

        next_link = ""
        if page.has_more and page.last_cursor is not None:
            next_link = _next_link(page.page_size_limit, _format(page.last_cursor), status)

        if offset_text is not None:
            page_offset = offset_text
        elif page.first_cursor is not None:
            page_offset = _format(page.first_cursor)
        else:
            page_offset = ""

        if link_fault is not None and link_fault.kind == "repeated_cursor":
            # The offset of the request, or the cursor that this page would be listed with.
            repeated = offset_text if offset_text is not None else page_offset
            if repeated:
                next_link = _next_link(page.page_size_limit, repeated, status)
        elif link_fault is not None and link_fault.kind == "foreign_next_link":
            if not next_link:
                last = None if page.last_cursor is None else _format(page.last_cursor)
                next_link = _next_link(page.page_size_limit, last, status)
            next_link = f"https://{link_fault.host}{API_ROOT}{next_link}"

        # The records are cached encoded jobs; only the page and link objects are encoded here.
        tail = self._encode(
            {
                "page": {
                    "sortField": "createdTime",
                    "sort": "desc",
                    "pageOffset": page_offset,
                    "pageSize": len(page.records),
                },
                "link": {"next": next_link},
            }
        )
        # One join copies the ~1 MB body of a 1,000-job page once. Joining the records
        # first took 1.3 ms instead of 0.07 ms per page (CPython 3.11 on a 2-vCPU EPYC VM),
        # because the freed temporary made the allocator fault fresh pages in each time.
        parts = [b'{"records":[']
        for record in page.records:
            parts += (record, b",")
        if page.records:
            parts.pop()
        parts += (b"],", tail[1:])
        return Response(200, b"".join(parts))

    async def _create_job(self, request: Request, receive: Receive) -> Response:
        request_id = request.request_id
        headers = request.headers
        content_type = headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            received_type = content_type or "none"
            return bad_request_error(f"Content-Type must be application/json, got {received_type}")

        try:
            raw_body = await read_body(receive, MAX_BODY_SIZE)
        except BodyTooLargeError:
            return problem(
                413,
                "Payload Too Large",
                f"The request body is larger than {MAX_BODY_SIZE} bytes.",
                request_id,
                problem_type=TOO_LARGE_TYPE,
            )

        try:
            body = msgspec.json.decode(raw_body)
        except msgspec.DecodeError as exc:
            return _invalid_request(f"The request body is not valid JSON: {exc}", request_id)
        try:
            job_request = validate_create_request(body)
        except InvalidRequestError as exc:
            return _invalid_request(str(exc), request_id)

        job_id, encoded = self._store.create(
            job_request,
            request_id=request_id,
            profile_instance_id=headers.get("x-profile-instance-id") or "ups",
        )
        location = f"{_origin(request)}{API_ROOT}{JOBS_ROUTE}/{job_id}"
        return Response(
            200, encoded, [(b"x-location", location.encode("latin-1"))], created_job_id=job_id
        )

    def _get_job(self, request: Request) -> Response:
        job_id = _job_id(request)
        encoded = None if job_id is None else self._store.get_encoded(job_id)
        if encoded is None:
            return _job_not_found(request)
        return Response(200, encoded)

    def _cancel_job(self, request: Request) -> Response:
        job_id = _job_id(request)
        if job_id is None:
            return _job_not_found(request)
        try:
            self._store.cancel(job_id)
        except JobNotFoundError:
            return _job_not_found(request)
        except JobFinishedError as exc:
            return problem(
                400,
                "Bad Request",
                f"Export job {job_id} already finished with status {exc.status} "
                "and cannot be cancelled.",
                request.request_id,
                problem_type=JOB_FINISHED_TYPE,
            )

        if self._config.cancel_style == "empty":
            return Response(204)
        return Response(200, _CANCEL_BODY)


async def read_body(receive: Receive, max_size: int) -> bytes:
    """Read the whole request body.

    A body over ``max_size`` bytes is still read to its end, but dropped, so that the client
    sees the error response and not a reset connection or an unfinished request stream.

    :raises BodyTooLargeError: when the body is larger than ``max_size`` bytes.
    :raises ClientDisconnectedError: when the client leaves while sending the body.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnectedError
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size <= max_size:
            chunks.append(chunk)
        else:
            chunks.clear()
        if not message.get("more_body", False):
            break
    if size > max_size:
        raise BodyTooLargeError
    return b"".join(chunks)


async def drain_body(receive: Receive) -> None:
    """Read and drop the request body, so that closing the connection sends no TCP reset.

    A socket closed with unread data in its receive buffer resets the connection.
    """
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


def _next_link(limit: int | None, offset: str | None, status: str | None) -> str:
    parameters = []
    if limit is not None:
        parameters.append(("limit", str(limit)))
    if offset is not None:
        parameters.append(("offset", offset))
    if status is not None:
        parameters.append(("status", status))
    # Relative to the service root and with "jobs/?", as Adobe's responses have it.
    return f"{JOBS_ROUTE}/?{urlencode(parameters)}"


def _job_id(request: Request) -> int | None:
    """Return the job id of the path, or None when it is not a plain decimal integer."""
    text = request.job_id_text
    return int(text) if text is not None and _DIGITS.fullmatch(text) else None


def _origin(request: Request) -> str:
    scope = request.scope
    scheme = scope.get("scheme", "http")
    host = request.headers.get("host")
    if not host:
        server_host, server_port = scope.get("server") or ("127.0.0.1", None)
        host = server_host if server_port is None else f"{server_host}:{server_port}"
    return f"{scheme}://{host}{scope.get('root_path', '')}"


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _format(cursor: Cursor) -> str:
    return f"{cursor[0]}_{cursor[1]}"


def _bad_query(detail: str, request_id: str) -> Response:
    return problem(400, "Bad Request", detail, request_id, problem_type=INVALID_REQUEST_TYPE)


def _invalid_request(detail: str, request_id: str) -> Response:
    return problem(
        400, "Invalid export job request", detail, request_id, problem_type=INVALID_REQUEST_TYPE
    )


def _job_not_found(request: Request) -> Response:
    detail = f"Export job {request.job_id_text} not found"
    return problem(
        404,
        "Not Found",
        detail,
        request.request_id,
        problem_type=NOT_FOUND_TYPE,
        errors={"404": [{"code": "EXPORT_JOB_NOT_FOUND", "message": detail}]},
    )
