"""The emulator's ASGI application: routing, gateway checks, request parsing, responses.

It serves Adobe's paths, so ``/data/core/ups/export/jobs`` and ``/export/jobs/{id}`` under
the same prefix. Handlers await only the ASGI ``receive`` and ``send`` callables, never an
event loop's own primitives, so the app runs on asyncio, Trio and uvicorn alike; the tests
run it on all three.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import msgspec

from ._config import EmulatorConfig
from ._gateway import check_gateway_headers
from ._responses import (
    INVALID_REQUEST_TYPE,
    JOB_FINISHED_TYPE,
    METHOD_NOT_ALLOWED_TYPE,
    NOT_FOUND_TYPE,
    TOO_LARGE_TYPE,
    Response,
    bad_request_error,
    problem,
)
from ._stats import EmulatorStats, RequestRecord
from ._store import Cursor, JobFinishedError, JobNotFoundError, JobStore
from ._validation import InvalidRequestError, validate_create_request

__all__ = ["API_ROOT", "JOBS_ROUTE", "JOB_ROUTE", "EmulatorApp"]

logger = logging.getLogger("aep_jobs.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

API_ROOT = "/data/core/ups"
JOBS_ROUTE = "/export/jobs"
JOB_ROUTE = "/export/jobs/{id}"
_ALLOWED_METHODS = {JOBS_ROUTE: ("GET", "POST"), JOB_ROUTE: ("GET", "DELETE")}

# A create request is a few KB at most, so 1 MiB leaves room for any real one.
MAX_BODY_SIZE = 1024 * 1024

_CANCEL_BODY = msgspec.json.encode(
    {"status": True, "message": "Export job has been marked for cancelling"}
)
_CURSOR = re.compile(r"([0-9]{1,15})_([0-9]{1,18})")
# ASCII digits only: int() would also accept other scripts' digits, signs and underscores.
_DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class _Request:
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


class _BodyTooLargeError(Exception):
    pass


class _ClientDisconnectedError(Exception):
    pass


class EmulatorApp:
    """ASGI 3 application serving one emulator's store."""

    def __init__(self, config: EmulatorConfig, store: JobStore, stats: EmulatorStats) -> None:
        self._config = config
        self._store = store
        self._stats = stats
        self._encode = msgspec.json.Encoder().encode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._handle_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _handle_lifespan(receive, send)
        else:
            raise RuntimeError(f"The emulator serves HTTP only, got a {scope['type']!r} scope")

    async def _handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        headers = _decode_headers(scope["headers"])
        route, job_id_text = _match_route(path)
        request = _Request(
            scope=scope,
            method=scope["method"],
            path=path,
            headers=headers,
            request_id=headers.get("x-request-id") or str(uuid.uuid4()),
            route=route,
            job_id_text=job_id_text,
        )

        self._stats.request_started(request.method, route)
        status = 500
        try:
            try:
                response = await self._respond(request, receive)
            except _ClientDisconnectedError:
                # 499 is the status nginx logs for a client that closed its connection
                # before the response; nothing is sent.
                status = 499
                return
            status = response.status
            await response.send(send, request.request_id)
        finally:
            self._record(request, status, time.perf_counter() - started)

    def _record(self, request: _Request, status: int, duration: float) -> None:
        query = request.scope.get("query_string", b"").decode("latin-1")
        full_path = f"{request.path}?{query}" if query else request.path
        self._stats.request_finished(
            RequestRecord(
                request.method, full_path, request.route, status, request.request_id, duration
            )
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.2f ms (request id %s)",
                request.method,
                full_path,
                status,
                duration * 1000,
                request.request_id,
            )

    async def _respond(self, request: _Request, receive: Receive) -> Response:
        path = request.path
        if path != API_ROOT and not path.startswith(API_ROOT + "/"):
            return _route_not_found(request)

        rejection = check_gateway_headers(request.headers, self._config)
        if rejection is not None:
            return rejection

        if not request.route:
            return _route_not_found(request)
        allowed = _ALLOWED_METHODS[request.route]
        if request.method not in allowed:
            return problem(
                405,
                "Method Not Allowed",
                f"Method {request.method} is not allowed on {path}. "
                f"Allowed methods: {', '.join(allowed)}.",
                request.request_id,
                problem_type=METHOD_NOT_ALLOWED_TYPE,
                headers=[(b"allow", ", ".join(allowed).encode("ascii"))],
            )

        if request.route == JOBS_ROUTE:
            if request.method == "GET":
                return self._list_jobs(request)
            return await self._create_job(request, receive)
        if request.method == "GET":
            return self._get_job(request)
        return self._cancel_job(request)

    def _list_jobs(self, request: _Request) -> Response:
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
            parameters = [
                ("limit", str(page.page_size_limit)),
                ("offset", _format(page.last_cursor)),
            ]
            if status is not None:
                parameters.append(("status", status))
            # Relative to the service root and with "jobs/?", as Adobe's responses have it.
            next_link = f"{JOBS_ROUTE}/?{urlencode(parameters)}"

        if offset_text is not None:
            page_offset = offset_text
        elif page.first_cursor is not None:
            page_offset = _format(page.first_cursor)
        else:
            page_offset = ""

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
        body = b"".join((b'{"records":[', b",".join(page.records), b"],", tail[1:]))
        return Response(200, body)

    async def _create_job(self, request: _Request, receive: Receive) -> Response:
        request_id = request.request_id
        headers = request.headers
        content_type = headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            received_type = content_type or "none"
            return bad_request_error(f"Content-Type must be application/json, got {received_type}")

        try:
            raw_body = await _read_body(receive)
        except _BodyTooLargeError:
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
        return Response(200, encoded, [(b"x-location", location.encode("latin-1"))])

    def _get_job(self, request: _Request) -> Response:
        job_id = _job_id(request)
        encoded = None if job_id is None else self._store.get_encoded(job_id)
        if encoded is None:
            return _job_not_found(request)
        return Response(200, encoded)

    def _cancel_job(self, request: _Request) -> Response:
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


async def _handle_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _match_route(path: str) -> tuple[str, str | None]:
    """Return the route template of ``path`` and the job id segment, ``""`` for no route."""
    if not path.startswith(API_ROOT):
        return "", None
    service_path = path[len(API_ROOT) :]
    # link.next in Adobe's responses points at "jobs/?", so the slash form is a route too.
    if service_path in (JOBS_ROUTE, JOBS_ROUTE + "/"):
        return JOBS_ROUTE, None
    prefix = JOBS_ROUTE + "/"
    if service_path.startswith(prefix) and "/" not in service_path[len(prefix) :]:
        return JOB_ROUTE, service_path[len(prefix) :]
    return "", None


def _decode_headers(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Map lower-case header names to values. The first of repeated headers wins."""
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1").strip())
    return headers


async def _read_body(receive: Receive) -> bytes:
    """Read the whole request body.

    A body over ``MAX_BODY_SIZE`` is still read to its end, but dropped, so that the client
    sees the 413 response and not a reset connection or an unfinished request stream.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientDisconnectedError
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY_SIZE:
            chunks.append(chunk)
        else:
            chunks.clear()
        if not message.get("more_body", False):
            break
    if size > MAX_BODY_SIZE:
        raise _BodyTooLargeError
    return b"".join(chunks)


def _job_id(request: _Request) -> int | None:
    """Return the job id of the path, or None when it is not a plain decimal integer."""
    text = request.job_id_text
    return int(text) if text is not None and _DIGITS.fullmatch(text) else None


def _origin(request: _Request) -> str:
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


def _job_not_found(request: _Request) -> Response:
    detail = f"Export job {request.job_id_text} not found"
    return problem(
        404,
        "Not Found",
        detail,
        request.request_id,
        problem_type=NOT_FOUND_TYPE,
        errors={"404": [{"code": "EXPORT_JOB_NOT_FOUND", "message": detail}]},
    )


def _route_not_found(request: _Request) -> Response:
    return problem(
        404,
        "Not Found",
        f"No route for {request.method} {request.path}",
        request.request_id,
        problem_type=NOT_FOUND_TYPE,
    )
