"""The emulator's ASGI application: routing, gateway checks, the rate limit, injected faults.

It serves Adobe's paths: the API under ``/data/core/ups`` (``/export/jobs`` and
``/export/jobs/{id}``), and the IMS token endpoint at ``/ims/token/v3``. Token requests skip
the gateway's header checks and the rate limit, as IMS is a separate service. Besides the
ASGI ``receive`` and ``send`` callables, the app awaits only ``anyio.sleep`` (for latency
and stalls), so it runs on asyncio and Trio alike.

Faults that drop the connection raise ``ConnectionDropped``. The emulator's own server and
in-process transport turn it into a closed connection. Other ASGI servers respond 500.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio

from ._config import EmulatorConfig
from ._connection import ConnectionDropped
from ._fault_responses import (
    ims_status_fault_response,
    not_json_response,
    rate_limited,
    status_fault_response,
    truncated,
)
from ._faults import (
    IMS_TOKEN_ROUTE,
    LINK_FAULT_KINDS,
    ROUTES,
    Fault,
    FaultInjector,
    FaultKind,
    LostResponse,
)
from ._gateway import check_gateway_headers
from ._handlers import (
    API_ROOT,
    JOB_ROUTE,
    JOBS_ROUTE,
    ClientDisconnectedError,
    JobHandlers,
    Request,
    drain_body,
)
from ._ims import TokenEndpoint, method_not_allowed
from ._rate_limit import RateLimiter
from ._responses import METHOD_NOT_ALLOWED_TYPE, NOT_FOUND_TYPE, Response, problem
from ._stats import EmulatorStats, RequestRecord
from ._store import JobStore
from ._tokens import TokenRegistry

__all__ = ["API_ROOT", "JOBS_ROUTE", "JOB_ROUTE", "EmulatorApp"]

logger = logging.getLogger("aep_jobs.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Statuses that nginx logs for requests that got no response, used in the request log.
CLIENT_CLOSED = 499
"""The client closed its connection, or gave up, before the response."""
CONNECTION_DROPPED = 444
"""The emulator closed the connection without a complete response, as a fault."""


@dataclass
class _Outcome:
    """The status and fault that the request log records for a request once it ends."""

    status: int = CLIENT_CLOSED
    fault: FaultKind | None = None


class EmulatorApp:
    """ASGI 3 application serving one emulator's store."""

    def __init__(
        self,
        config: EmulatorConfig,
        store: JobStore,
        stats: EmulatorStats,
        faults: FaultInjector,
        tokens: TokenRegistry,
    ) -> None:
        self._config = config
        self._stats = stats
        self._faults = faults
        self._tokens = tokens
        self._handlers = JobHandlers(config, store)
        self._token_endpoint = TokenEndpoint(config, tokens)
        self._rate_limiter = (
            None if config.rate_limit is None else RateLimiter(config.rate_limit, config.clock)
        )

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
        request = Request(
            scope=scope,
            method=scope["method"],
            path=path,
            headers=headers,
            request_id=headers.get("x-request-id") or str(uuid.uuid4()),
            route=route,
            job_id_text=job_id_text,
        )

        self._stats.request_started(request.method, route)
        if route == IMS_TOKEN_ROUTE:
            self._tokens.count_request()
        # A cancelled request keeps the default status, because the client gave up waiting.
        outcome = _Outcome()
        try:
            if self._config.latency > 0:
                await anyio.sleep(self._config.latency)
            await self._serve(request, receive, send, outcome)
        except ClientDisconnectedError:
            # The client closed its connection while sending the body, so nothing is sent.
            outcome.status = CLIENT_CLOSED
        except ConnectionDropped:
            raise
        except Exception:
            outcome.status = 500
            raise
        finally:
            self._record(request, outcome, time.perf_counter() - started)

    def _record(self, request: Request, outcome: _Outcome, duration: float) -> None:
        full_path = request.full_path
        self._stats.request_finished(
            RequestRecord(
                request.method,
                full_path,
                request.route,
                outcome.status,
                request.request_id,
                duration,
                outcome.fault,
            )
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.2f ms (request id %s)",
                request.method,
                full_path,
                outcome.status,
                duration * 1000,
                request.request_id,
            )

    async def _serve(
        self, request: Request, receive: Receive, send: Send, outcome: _Outcome
    ) -> None:
        response = self._check_request(request)
        # The rate limit is per organisation, and token requests name none.
        limiter = None if request.route == IMS_TOKEN_ROUTE else self._rate_limiter
        if response is None and limiter is not None:
            response = self._apply_rate_limit(request, limiter)
        if response is None:
            fault = self._faults.choose(request.method, request.route)
            if fault is not None:
                await self._serve_with_fault(request, receive, send, fault, outcome)
                return
            response = await self._process(request, receive)

        outcome.status = response.status
        await response.send(send, request.request_id)

    async def _process(
        self, request: Request, receive: Receive, link_fault: Fault | None = None
    ) -> Response:
        """Run the handler of the request's route."""
        if request.route == IMS_TOKEN_ROUTE:
            return await self._token_endpoint.handle(request, receive)
        return await self._handlers.handle(request, receive, link_fault)

    def _check_request(self, request: Request) -> Response | None:
        """Return the gateway's or the router's error response, or None to go on."""
        if request.route == IMS_TOKEN_ROUTE:
            return None if request.method == "POST" else method_not_allowed(request.method)

        path = request.path
        if path != API_ROOT and not path.startswith(API_ROOT + "/"):
            return _route_not_found(request)

        rejection = check_gateway_headers(request.headers, self._config, self._tokens)
        if rejection is not None:
            return rejection

        if not request.route:
            return _route_not_found(request)
        allowed = ROUTES[request.route]
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
        return None

    def _apply_rate_limit(self, request: Request, limiter: RateLimiter) -> Response | None:
        org_id = request.headers.get("x-gw-ims-org-id", "")
        retry_after = limiter.acquire(org_id)
        if retry_after is None:
            return None
        self._stats.request_rate_limited()
        logger.debug(
            "Rate limit exceeded for organisation %s: %s %s -> 429, Retry-After %d (request id %s)",
            org_id,
            request.method,
            request.full_path,
            retry_after,
            request.request_id,
        )
        return rate_limited(retry_after)

    async def _serve_with_fault(
        self, request: Request, receive: Receive, send: Send, fault: Fault, outcome: _Outcome
    ) -> None:
        kind = fault.kind
        outcome.fault = kind
        self._stats.fault_injected(kind)
        logger.debug(
            "Injecting %s into %s %s (request id %s)",
            fault,
            request.method,
            request.full_path,
            request.request_id,
        )

        if kind == "status" and request.route == IMS_TOKEN_ROUTE:
            response = ims_status_fault_response(fault)
        elif kind == "status":
            response = status_fault_response(fault, request.request_id)
        elif kind == "not_json":
            response = not_json_response()
        elif kind == "refuse" or (kind == "reset" and not fault.after_processing):
            await drain_body(receive)
            outcome.status = CONNECTION_DROPPED
            if kind == "refuse":
                raise ConnectionDropped("reset", refused=True)
            raise ConnectionDropped("close")
        else:
            response = await self._process_with_fault(request, receive, send, fault, outcome)

        outcome.status = response.status
        await response.send(send, request.request_id)

    async def _process_with_fault(
        self, request: Request, receive: Receive, send: Send, fault: Fault, outcome: _Outcome
    ) -> Response:
        """Process the request, then apply a fault that needs the handler's response."""
        kind = fault.kind
        if kind == "stall" and not fault.after_processing:
            await anyio.sleep(fault.seconds)

        link_fault = fault if kind in LINK_FAULT_KINDS else None
        response = await self._process(request, receive, link_fault)

        if kind == "stall" and fault.after_processing:
            try:
                await anyio.sleep(fault.seconds)
            except anyio.get_cancelled_exc_class():
                self._record_lost(request, response, kind)
                raise
        elif kind == "reset":
            self._record_lost(request, response, kind)
            outcome.status = CONNECTION_DROPPED
            raise ConnectionDropped("close")
        elif kind == "truncated":
            self._record_lost(request, response, kind)
            response = truncated(response)
        elif kind == "reset_mid_body":
            self._record_lost(request, response, kind)
            outcome.status = CONNECTION_DROPPED
            await _send_half_and_drop(response, send, request.request_id)
        return response

    def _record_lost(self, request: Request, response: Response, kind: FaultKind) -> None:
        self._faults.record_lost(
            LostResponse(
                method=request.method,
                path=request.full_path,
                route=request.route,
                job_id=response.created_job_id,
                request_id=request.request_id,
                fault=kind,
            )
        )


async def _send_half_and_drop(response: Response, send: Send, request_id: str) -> None:
    """Send the head and the first half of the body, then drop the connection."""
    headers = response.head(request_id)
    half = response.body[: len(response.body) // 2]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": half, "more_body": True})
    raise ConnectionDropped("close", status=response.status, headers=headers, sent_body=half)


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
    if path == IMS_TOKEN_ROUTE:
        return IMS_TOKEN_ROUTE, None
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


def _route_not_found(request: Request) -> Response:
    return problem(
        404,
        "Not Found",
        f"No route for {request.method} {request.path}",
        request.request_id,
        problem_type=NOT_FOUND_TYPE,
    )
