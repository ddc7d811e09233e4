"""The retry policy: which failures are retried, how long to wait, and the retry budget.

Defaults, all in one place:

- up to 4 attempts per call (the first and 3 retries);
- retried: connection failures, timeouts, and HTTP 408, 429, 500, 502, 503 and 504;
- backoff: "full jitter", a random delay between 0 and ``min(max_backoff, initial_backoff *
  multiplier ** (retry - 1))``, so 0-0.5 s, 0-1 s, 0-2 s, ... capped at 20 s;
- ``Retry-After`` (seconds or an HTTP date) replaces the backoff when present, up to 60 s;
  a longer delay ends the call with [`RateLimitError`][aep_jobs.RateLimitError];
- a create is retried only when the server certainly did not act on it (see
  [`RetryPolicy.create_is_safe_to_retry`][aep_jobs.RetryPolicy.create_is_safe_to_retry]),
  unless ``retry_creates=True``;
- a client-wide [`RetryBudget`][aep_jobs.RetryBudget] of 500 tokens.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx

__all__ = ["RETRYABLE_STATUSES", "SAFE_CREATE_STATUSES", "RetryBudget", "RetryPolicy"]

#: HTTP statuses after which a call is retried.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: HTTP statuses after which a create is retried without ``retry_creates``, because they mean
#: that the server did not process the request (too many requests, service unavailable).
SAFE_CREATE_STATUSES = frozenset({429, 503})

# httpx errors raised before any byte of the request reached the server.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

# httpx errors that a new attempt may not meet. A LocalProtocolError (an invalid request) or
# an UnsupportedProtocol (a URL that is not http or https) would fail again in the same way.
_TRANSIENT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The retry policy of a call.

    :param max_attempts: attempts per call, the first included; 1 turns retries off
    :param initial_backoff: seconds, the ceiling of the first random delay
    :param max_backoff: seconds, the highest ceiling of a random delay
    :param multiplier: growth of the ceiling from one retry to the next
    :param max_retry_after: seconds, the longest ``Retry-After`` that is waited for
    :param retry_creates: also retry a create whose outcome is unknown (a timeout or a
        broken connection after the request was sent, HTTP 500, 502, 504). The server has no
        idempotency key, so this can create a job twice.
    :param statuses: the HTTP statuses that are retried
    :param sleep: waits the given seconds; tests pass a function that returns at once
    :param jitter: returns a random number in [0, 1)
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 20.0
    multiplier: float = 2.0
    max_retry_after: float = 60.0
    retry_creates: bool = False
    statuses: frozenset[int] = RETRYABLE_STATUSES
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    jitter: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            problems.append(f"max_attempts {self.max_attempts!r}: expected an integer >= 1")
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                problems.append(f"{name} {value!r}: expected seconds >= 0")
        if not isinstance(self.multiplier, (int, float)) or self.multiplier < 1:
            problems.append(f"multiplier {self.multiplier!r}: expected a number >= 1")
        if problems:
            raise ValueError("Invalid RetryPolicy: " + "; ".join(problems))

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that makes one attempt and never retries."""
        return cls(max_attempts=1)

    def backoff(self, retry: int) -> float:
        """Return the delay in seconds before retry number ``retry`` (1 for the first)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return ceiling * self.jitter()

    def is_retryable(self, status_code: int | None, cause: BaseException | None) -> bool:
        """Check whether a failure may be retried at all, whatever the method.

        :param status_code: the HTTP status, or ``None`` when no response arrived
        :param cause: the httpx exception when no response arrived
        """
        if status_code is not None:
            return status_code in self.statuses
        return isinstance(cause, _TRANSIENT_ERRORS)

    @staticmethod
    def create_is_safe_to_retry(status_code: int | None, cause: BaseException | None) -> bool:
        """Check whether the server certainly did not act on a failed create.

        That is so when the connection failed before the request was sent, or when the server
        responded 429 or 503.
        """
        if status_code is not None:
            return status_code in SAFE_CREATE_STATUSES
        return isinstance(cause, _NOT_SENT_ERRORS)


@dataclasses.dataclass
class RetryBudget:
    """A client-wide token bucket that limits retries during an outage.

    The scheme is the retry quota of the AWS SDKs' "standard" retry mode: each retry takes
    tokens out, each success puts one back, and when the bucket is empty calls fail at once
    instead of adding load to a struggling server. With the defaults, an outage that fails
    every call allows 100 retries (50 after timeouts or throttling) before retries stop, and
    500 successes fill the bucket again.

    :param capacity: tokens in a full bucket
    :param retry_cost: tokens a retry takes
    :param timeout_retry_cost: tokens a retry after a timeout or a 429 takes
    :param success_refund: tokens a success puts back, up to ``capacity``
    """

    capacity: int = 500
    retry_cost: int = 5
    timeout_retry_cost: int = 10
    success_refund: int = 1
    tokens: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    @classmethod
    def unlimited(cls) -> RetryBudget:
        """Return a budget that never runs out, so that only the retry policy limits retries."""
        return cls(capacity=0, retry_cost=0, timeout_retry_cost=0, success_refund=0)

    def withdraw(self, *, expensive: bool) -> bool:
        """Take the cost of one retry out of the bucket, if it contains enough.

        :param expensive: the retry follows a timeout or a 429
        :return: whether the retry may go ahead
        """
        cost = self.timeout_retry_cost if expensive else self.retry_cost
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def refund(self) -> None:
        """Put a success's tokens back."""
        self.tokens = min(self.capacity, self.tokens + self.success_refund)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the delay of a ``Retry-After`` header in seconds, or ``None`` if unusable.

    Both forms of RFC 9110 section 10.2.3 are read: a number of seconds, and an HTTP date
    (a date in the past gives 0).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
