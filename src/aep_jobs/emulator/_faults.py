"""Faults the emulator can inject, the rules that choose requests for them, and lost responses.

An API request reaches the fault rules when it passed the gateway's header checks and the
rate limit, and its route and method exist. A token request reaches them when its method is
POST. Every rule whose method and route match counts the request and, when it has a
``share``, draws a number for it. Of the rules that choose the request and have not reached
their ``limit``, the first injected fires.
"""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, get_args

import msgspec

__all__ = [
    "API_ROUTES",
    "IMS_TOKEN_ROUTE",
    "LINK_FAULT_KINDS",
    "ROUTES",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "LostResponse",
]

#: The fault kinds, each named after the ``Fault`` constructor that makes it.
FaultKind = Literal[
    "status",
    "reset",
    "refuse",
    "stall",
    "not_json",
    "truncated",
    "reset_mid_body",
    "repeated_cursor",
    "foreign_next_link",
]
_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

# Faults that rewrite link.next, so they apply only to GET /export/jobs.
LINK_FAULT_KINDS: frozenset[str] = frozenset({"repeated_cursor", "foreign_next_link"})

# The IMS token endpoint, at the server root as on Adobe's IMS host. Its path is its template.
IMS_TOKEN_ROUTE = "/ims/token/v3"

# Route templates as EmulatorStats names them, with the methods each one serves. The API
# routes are relative to the API root, /data/core/ups.
ROUTES: dict[str, tuple[str, ...]] = {
    "/export/jobs": ("GET", "POST"),
    "/export/jobs/{id}": ("GET", "DELETE"),
    IMS_TOKEN_ROUTE: ("POST",),
}
# The routes that a rule without a route matches: all but the token endpoint.
API_ROUTES = frozenset(route for route in ROUTES if route != IMS_TOKEN_ROUTE)
_METHODS = frozenset(method for methods in ROUTES.values() for method in methods)

_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class Fault:
    """One fault, built with one of the constructors such as ``Fault.status(503)``.

    Fields that do not apply to ``kind`` keep their defaults.
    """

    kind: FaultKind
    status_code: int = 0
    """HTTP status of a ``status`` fault."""
    retry_after: str | None = None
    """``Retry-After`` header value of a ``status`` fault."""
    body: bytes | None = None
    """Body of a ``status`` fault, or None for the default body of its status."""
    content_type: str = "application/json"
    """Content-Type of a ``status`` fault with a body."""
    after_processing: bool = False
    """Whether a ``reset`` or ``stall`` happens after the handler processed the request."""
    seconds: float = 0.0
    """Duration of a ``stall``."""
    host: str = ""
    """Host of the link written by ``foreign_next_link``."""

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(
                f"Unknown fault kind {self.kind!r}. Known kinds: {', '.join(sorted(_FAULT_KINDS))}"
            )

    def __str__(self) -> str:
        if self.kind == "status":
            suffix = "" if self.retry_after is None else f" with Retry-After {self.retry_after}"
            return f"status {self.status_code}{suffix}"
        if self.kind == "reset":
            return "reset after processing" if self.after_processing else "reset"
        if self.kind == "stall":
            when = " after processing" if self.after_processing else ""
            return f"stall of {self.seconds:g} s{when}"
        if self.kind == "foreign_next_link":
            return f"foreign next link to {self.host}"
        return self.kind.replace("_", " ")

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: str | int | datetime | None = None,
        body: bytes | str | Mapping[str, Any] | None = None,
        *,
        content_type: str = "application/json",
    ) -> Fault:
        """Respond with an error status instead of processing the request.

        Without ``body``, the body has the shape Adobe's API uses for that status: the
        gateway's ``{"error_code", "message"}`` for 401, 408, 429, 502 and 504, and
        problem details with the request id for the others, such as 500 and 503.

        :param code: an HTTP status from 400 to 599.
        :param retry_after: the ``Retry-After`` header: delay seconds as an integer or a
            string such as ``"2"``, an HTTP-date string, or an aware datetime, which is
            sent as an HTTP-date. Any other string is sent as it is, so that clients can
            be tested with malformed values. None sends no header.
        :param body: bytes sent as they are, a string sent as UTF-8, or a mapping sent
            as JSON.
        :param content_type: the Content-Type of ``body``.
        """
        if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
            raise ValueError(f"A status fault needs an HTTP status from 400 to 599, got {code!r}")
        _check_header_value("content_type", content_type)
        return cls(
            "status",
            status_code=code,
            retry_after=_retry_after_value(retry_after),
            body=_body_bytes(body),
            content_type=content_type,
        )

    @classmethod
    def reset(cls, after_processing: bool = False) -> Fault:
        """Close the connection without a response.

        :param after_processing: False closes it before the request is processed. True
            processes the request first, so that a create stores its job, then drops the
            response and adds the request to ``Emulator.lost_responses``.
        """
        return cls("reset", after_processing=after_processing)

    @classmethod
    def refuse(cls) -> Fault:
        """Fail the connection before the request is sent, so it is never processed.

        In-process the transport raises ``httpx.ConnectError``. A server cannot refuse a
        request it already received, so over a socket the emulator reads the request, then
        resets the connection (TCP RST) without processing it, and httpx raises
        ``httpx.ReadError``. A client then cannot tell that the request was not processed.
        """
        return cls("refuse")

    @classmethod
    def stall(cls, seconds: float, after_processing: bool = False) -> Fault:
        """Send nothing for ``seconds``, then the normal response.

        The wait is cancellable: a client that gives up cancels it in-process, and closes
        the connection over a socket, which ends it there too.

        :param after_processing: False waits before the request is processed, so a
            request given up during the wait is never processed. True processes it
            first, and records a response given up during the wait in
            ``Emulator.lost_responses``.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"A stall needs a finite number of seconds >= 0, got {seconds}")
        return cls("stall", seconds=float(seconds), after_processing=after_processing)

    @classmethod
    def not_json(cls) -> Fault:
        """Respond 200 with an HTML page instead of processing the request."""
        return cls("not_json")

    @classmethod
    def truncated(cls) -> Fault:
        """Process the request, then send its body cut in the middle.

        The Content-Length matches the cut body, so the HTTP layer reads the response and
        only decoding fails. The request is added to ``Emulator.lost_responses``. An
        empty body, such as that of a 204, stays empty.
        """
        return cls("truncated")

    @classmethod
    def reset_mid_body(cls) -> Fault:
        """Process the request, send the head and half the body, then close the connection.

        The request is added to ``Emulator.lost_responses``.
        """
        return cls("reset_mid_body")

    @classmethod
    def repeated_cursor(cls) -> Fault:
        """Make a listing's ``link.next`` repeat the offset of the request.

        A request without an offset gets the cursor of its page's first job. An empty
        page without an offset has no cursor to repeat and keeps its link. Applies to
        ``GET /export/jobs`` only.
        """
        return cls("repeated_cursor")

    @classmethod
    def foreign_next_link(cls, host: str = "other.example") -> Fault:
        """Make a listing's ``link.next`` an absolute ``https`` URL on ``host``.

        The link keeps the path and query that the page would link to. The emulator only
        writes it and never connects to ``host``. Applies to ``GET /export/jobs`` only.

        :param host: a host name or bracketed IPv6 address, with an optional port.
        """
        if not _HOST.fullmatch(host):
            raise ValueError(
                f"host must be a host name with an optional port, such as "
                f"'other.example:8443', got {host!r}"
            )
        return cls("foreign_next_link", host=host)


class FaultRule:
    """A rule that injects ``fault`` into some of the requests it matches.

    Add it with ``Emulator.inject()``. Once injected, ``matched`` and ``fired`` count
    the requests it matched and the faults it injected.

    :param fault: the fault to inject.
    :param method: ``GET``, ``POST`` or ``DELETE``, or None for any.
    :param route: ``/export/jobs``, ``/export/jobs/{id}`` or ``/ims/token/v3`` (the IMS
        token endpoint), or None for both API routes. A rule fires on token requests only
        when it names ``/ims/token/v3``, so that API faults leave a client's token requests
        alone.
    :param share: probability, from 0 to 1, that the rule fires on a matching request,
        drawn from a generator seeded with the emulator's ``seed``.
    :param requests: 1-based numbers of the matching requests to fire on, such as
        ``{2, 5}``. With ``share`` as well, the rule fires when either selects a request.
        With neither, it fires on every matching request.
    :param limit: maximum number of times the rule fires, None for no maximum.
    :raises ValueError: for an unknown method or route, a share outside 0 to 1, request
        numbers below 1, a negative limit, or a listing fault on another route or method.
    """

    def __init__(
        self,
        fault: Fault,
        method: str | None = None,
        route: str | None = None,
        share: float = 0.0,
        requests: Iterable[int] = (),
        limit: int | None = None,
    ) -> None:
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, got {type(fault).__name__}")
        method = None if method is None else method.upper()
        if method is not None and method not in _METHODS:
            raise ValueError(f"method must be GET, POST, DELETE or None, got {method!r}")
        if route is not None and route not in ROUTES:
            raise ValueError(f"route must be {', '.join(map(repr, ROUTES))} or None, got {route!r}")
        if not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
            raise ValueError(f"share must be between 0 and 1, got {share!r}")
        numbers = frozenset(requests)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in numbers):
            raise ValueError(f"requests must be 1-based request numbers, got {sorted(numbers)}")
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise ValueError(f"limit must be None or >= 0, got {limit!r}")
        if fault.kind in LINK_FAULT_KINDS and (
            method not in (None, "GET") or route not in (None, "/export/jobs")
        ):
            raise ValueError(
                f"A {fault} fault applies to GET /export/jobs only, "
                f"got method {method!r} and route {route!r}"
            )

        self.fault = fault
        self.method = method
        self.route = route
        self.share = float(share)
        self.requests = numbers
        self.limit = limit
        self._matched = 0
        self._fired = 0
        self._rng: random.Random | None = None

    def __repr__(self) -> str:
        parts = [f"fault={self.fault}"]
        for name in ("method", "route"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        if self.share:
            parts.append(f"share={self.share}")
        if self.requests:
            parts.append(f"requests={sorted(self.requests)}")
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        parts.append(f"fired={self._fired}")
        return f"FaultRule({', '.join(parts)})"

    @property
    def matched(self) -> int:
        """Number of requests that matched the rule's method and route."""
        return self._matched

    @property
    def fired(self) -> int:
        """Number of times the rule injected its fault."""
        return self._fired

    def _matches(self, method: str, route: str) -> bool:
        if self.fault.kind in LINK_FAULT_KINDS and (method, route) != ("GET", "/export/jobs"):
            return False
        route_matches = route in API_ROUTES if self.route is None else self.route == route
        return route_matches and (self.method is None or self.method == method)

    def _selects(self) -> bool:
        """Count one matching request and return whether the rule chooses it.

        The draw happens even when the request is not chosen, so that a rule's draws
        do not depend on the other rules.
        """
        self._matched += 1
        drawn = self._rng is not None and self.share > 0 and self._rng.random() < self.share
        if self.requests or self.share > 0:
            chosen = self._matched in self.requests or drawn
        else:
            chosen = True
        return chosen and (self.limit is None or self._fired < self.limit)


@dataclass(frozen=True)
class LostResponse:
    """A request that the emulator processed but whose response the client never read whole."""

    method: str
    path: str
    """Path with the query string, if any. A token request's path has no query string."""
    route: str
    job_id: int | None
    """The job the request created, or None when it created none."""
    request_id: str
    fault: FaultKind
    """The fault that lost the response."""


class FaultInjector:
    """The injected rules of one emulator and the responses they lost, safe from any thread."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._injected_count = 0
        self._lost: list[LostResponse] = []

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    @property
    def lost_responses(self) -> list[LostResponse]:
        with self._lock:
            return list(self._lost)

    def inject(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            if rule._rng is not None:
                raise ValueError(f"{rule!r} was already injected. Inject a new FaultRule.")
            # Each rule draws from its own generator, seeded by its position among the
            # rules ever injected, so the same calls give the same faults.
            rule._rng = random.Random(f"fault-rule-{self._seed}-{self._injected_count}")
            self._injected_count += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def choose(self, method: str, route: str) -> Fault | None:
        """Return the fault to inject into a request, or None, and count it on its rule."""
        with self._lock:
            if not self._rules:
                return None
            chosen: FaultRule | None = None
            for rule in self._rules:
                if rule._matches(method, route) and rule._selects() and chosen is None:
                    chosen = rule
            if chosen is None:
                return None
            chosen._fired += 1
            return chosen.fault

    def record_lost(self, lost: LostResponse) -> None:
        with self._lock:
            self._lost.append(lost)


def _retry_after_value(retry_after: str | int | datetime | None) -> str | None:
    if retry_after is None:
        return None
    if isinstance(retry_after, datetime):
        if retry_after.tzinfo is None:
            raise ValueError("retry_after must be an aware datetime, got a naive one")
        return email.utils.format_datetime(retry_after.astimezone(timezone.utc), usegmt=True)
    if isinstance(retry_after, bool):
        raise ValueError(f"retry_after must be seconds, an HTTP-date or None, got {retry_after}")
    if isinstance(retry_after, int):
        if retry_after < 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after}")
        return str(retry_after)
    _check_header_value("retry_after", retry_after)
    return retry_after


def _check_header_value(name: str, value: str) -> None:
    if not value or any(character in value for character in "\r\n\0"):
        raise ValueError(f"{name} must be a non-empty header value on one line, got {value!r}")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be Latin-1 text, got {value!r}") from None


def _body_bytes(body: bytes | str | Mapping[str, Any] | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return msgspec.json.encode(dict(body))
