"""Request counters of the emulator: per route, in flight, recent requests, faults, 429s."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass

__all__ = ["EmulatorStats", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator served. Header values are never recorded."""

    method: str
    path: str
    """Path with the query string, if any."""
    route: str
    """Route template such as ``/export/jobs/{id}``, or ``""`` when no route matched."""
    status: int
    """Status sent, or 499 when the client left first and 444 when a fault dropped the
    connection, as nginx logs them."""
    request_id: str
    duration: float
    """Time from receiving the request to sending the response, in seconds."""
    fault: str | None = None
    """Kind of the fault injected into the request, if any."""


class EmulatorStats:
    """Counters of the requests one emulator has served, safe to read from any thread."""

    def __init__(self, log_size: int) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._log: deque[RequestRecord] = deque(maxlen=log_size)
        self._in_flight = 0
        self._peak_in_flight = 0
        self._faults: Counter[str] = Counter()
        self._rate_limited = 0

    @property
    def requests(self) -> dict[tuple[str, str], int]:
        """Number of requests per ``(method, route)``, where ``route`` is a route template."""
        with self._lock:
            return dict(self._requests)

    @property
    def total_requests(self) -> int:
        with self._lock:
            return self._requests.total()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """Maximum number of requests in flight at the same time since the last reset."""
        return self._peak_in_flight

    @property
    def recent_requests(self) -> list[RequestRecord]:
        """The most recent requests, oldest first, up to the configured log size."""
        with self._lock:
            return list(self._log)

    @property
    def faults(self) -> dict[str, int]:
        """Number of injected faults per fault kind, such as ``{"status": 2, "reset": 1}``."""
        with self._lock:
            return dict(self._faults)

    @property
    def rate_limited(self) -> int:
        """Number of requests rejected with 429 by the configured rate limit."""
        return self._rate_limited

    def count(self, method: str, route: str) -> int:
        with self._lock:
            return self._requests[(method, route)]

    def reset(self) -> None:
        """Clear the counters and the log. Requests still in flight stay counted."""
        with self._lock:
            self._requests.clear()
            self._log.clear()
            self._peak_in_flight = self._in_flight
            self._faults.clear()
            self._rate_limited = 0

    def request_started(self, method: str, route: str) -> None:
        with self._lock:
            self._requests[(method, route)] += 1
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def request_finished(self, record: RequestRecord) -> None:
        with self._lock:
            self._in_flight -= 1
            self._log.append(record)

    def fault_injected(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def request_rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1
