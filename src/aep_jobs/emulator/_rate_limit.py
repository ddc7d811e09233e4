"""A token bucket per organisation, like the rate limit of an API gateway."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimiter"]


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` requests at once, refilled at ``per_second`` requests a second.

    Each organisation (the ``x-gw-ims-org-id`` header) has its own bucket, full at first.
    A request takes one token. A request that finds no whole token gets 429.

    NOTE: Adobe publishes no rate limit for this endpoint. The figures are the caller's.
    """

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError(
                f"per_second must be a positive number of requests, got {self.per_second}"
            )
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {self.burst!r}")


class RateLimiter:
    """The buckets of one emulator, safe to use from any thread.

    :param clock: the emulator's clock, in seconds. A clock that goes back refills nothing.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        # Tokens left and the clock reading they were counted at, per organisation.
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> int | None:
        """Take a token from the bucket of ``key``.

        :returns: None when the request may go on, or else the whole seconds after which
            a token will be there (the ``Retry-After`` value), at least 1.
        """
        limit = self._limit
        with self._lock:
            now = self._clock()
            tokens, counted_at = self._buckets.get(key, (float(limit.burst), now))
            elapsed = max(0.0, now - counted_at)
            tokens = min(float(limit.burst), tokens + elapsed * limit.per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)

        wait = (1.0 - tokens) / limit.per_second
        # The small margin keeps float error from turning an exact 2 s into 3 s.
        return max(1, math.ceil(wait - 1e-9))
