"""How fast a bulk run sends: the AIMD concurrency limit, the shared 429 pause, the request rate.

Every worker of a run consults these three in turn before each request, so together they decide
when the next request goes out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

import anyio

logger = logging.getLogger("aep_jobs")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ConcurrencyLimit:
    """The number of requests that may be in flight, adjusted by AIMD.

    Additive increase, multiplicative decrease, as TCP's congestion control does it: a 429
    halves the limit, and each window of successes (as many successes in a row as the limit
    allows in flight) adds one slot, up to ``maximum``. Only one halving happens per window:
    a 429 answering a request sent before the last halving reports the overload that the
    halving already answered.

    :param maximum: the limit at the start and the highest it grows back to
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        #: How many times the limit was halved; requests remember it when they are sent.
        self.window = 0
        self._successes = 0
        self._slots = anyio.CapacityLimiter(maximum)

    @property
    def slots(self) -> anyio.CapacityLimiter:
        """The limiter slot that a worker keeps while its request is in flight."""
        return self._slots

    def record_success(self) -> None:
        """Count a success, and add a slot after a full window of them."""
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self._set(self.limit + 1)

    def record_rate_limited(self, sent_in_window: int) -> bool:
        """Halve the limit for a 429, once per window.

        :param sent_in_window: the value of ``window`` when the request was sent
        :return: whether the limit was halved
        """
        if sent_in_window != self.window:
            return False
        self.window += 1
        self._set(max(1, self.limit // 2))
        return True

    def _set(self, limit: int) -> None:
        self.limit = limit
        self._successes = 0
        # A lower total does not take slots back from requests in flight: no new request
        # starts until enough of them finish.
        self._slots.total_tokens = limit


class PauseGate:
    """A pause that every worker of a run waits out before sending, after a 429.

    The first worker to reach the gate during a pause sleeps until the pause ends, and the
    others wait for it, so one pause takes one call of ``sleep`` however many workers wait.
    A pause requested while another runs extends it when it ends later.

    :param clock: seconds on a monotonic clock
    :param sleep: waits the given seconds
    """

    def __init__(self, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        # The clock reading at which the requested pause ends, or None when there is none.
        self._until: float | None = None
        self._sleeper_done: anyio.Event | None = None
        #: How many pauses have started; requests remember it when they are sent.
        self.generation = 0

    @property
    def paused(self) -> bool:
        """Whether a pause was requested and has not ended yet."""
        return self._until is not None

    def pause(self, seconds: float) -> None:
        """Hold back every request for ``seconds`` from now, or longer if already asked."""
        until = self._clock() + seconds
        if self._until is None:
            self.generation += 1
            self._until = until
        elif until > self._until:
            self._until = until

    async def wait(self) -> None:
        """Return at once when there is no pause, else when the pause has ended."""
        while self._until is not None:
            if self._sleeper_done is not None:
                await self._sleeper_done.wait()
                continue
            done = self._sleeper_done = anyio.Event()
            try:
                await self._sleep_out_pause()
            finally:
                self._sleeper_done = None
                done.set()

    async def _sleep_out_pause(self) -> None:
        # The clock is read once: after each sleep, the time slept is added to the start
        # instead of reading the clock again, so a sleep that only pretends to wait (as in
        # tests) ends the pause as surely as a real one.
        slept_until = self._clock()
        while self._until is not None and self._until > slept_until:
            delay = self._until - slept_until
            await self._sleep(delay)
            slept_until += delay
        self._until = None


class RateLimiter:
    """Spaces requests at least ``1 / per_second`` seconds apart, with no bursts.

    Each caller reserves the next free moment before it waits, so callers that arrive
    together leave one interval apart. Time that passed with no requests is not saved up:
    after a pause the rate stays at ``per_second``.

    :param per_second: requests per second, > 0
    :param clock: seconds on a monotonic clock
    :param sleep: waits the given seconds
    """

    def __init__(self, per_second: float, clock: Clock, sleep: Sleep) -> None:
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next_free = -math.inf

    async def wait(self) -> None:
        """Wait for this caller's moment to send."""
        now = self._clock()
        moment = max(now, self._next_free)
        self._next_free = moment + self.interval
        if moment > now:
            await self._sleep(moment - now)
