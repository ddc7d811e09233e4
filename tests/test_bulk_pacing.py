"""The pacing of bulk runs: AIMD concurrency limit, the shared pause, the request rate."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from aep_jobs.bulk._pacing import ConcurrencyLimit, PauseGate, RateLimiter

pytestmark = pytest.mark.anyio


class ManualClock:
    """A clock that moves only when its sleep is awaited, and records each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        # Other tasks run while this one sleeps, before the clock has moved.
        await anyio.lowlevel.checkpoint()
        self.now += seconds


def test_limit_halves_once_per_window() -> None:
    limit = ConcurrencyLimit(32)
    window = limit.window

    assert limit.record_rate_limited(window)
    assert limit.limit == 16
    assert not limit.record_rate_limited(window)
    assert limit.limit == 16
    assert limit.record_rate_limited(limit.window)
    assert limit.limit == 8
    assert limit.slots.total_tokens == 8


def test_limit_never_below_one() -> None:
    limit = ConcurrencyLimit(2)
    for _ in range(5):
        limit.record_rate_limited(limit.window)

    assert limit.limit == 1


def test_limit_grows_one_per_window() -> None:
    limit = ConcurrencyLimit(8)
    limit.record_rate_limited(limit.window)
    assert limit.limit == 4

    for _ in range(3):
        limit.record_success()
    assert limit.limit == 4
    limit.record_success()
    assert limit.limit == 5
    for _ in range(5 + 6 + 7):
        limit.record_success()
    assert limit.limit == 8
    for _ in range(100):
        limit.record_success()
    assert limit.limit == 8


async def test_pause_one_sleep_for_all_waiters() -> None:
    clock = ManualClock()
    gate = PauseGate(clock, clock.sleep)
    gate.pause(2.0)
    finished: list[int] = []

    async def waiter(number: int) -> None:
        await gate.wait()
        finished.append(number)

    async with anyio.create_task_group() as group:
        for number in range(10):
            group.start_soon(waiter, number)

    assert clock.slept == [2.0]
    assert sorted(finished) == list(range(10))
    assert not gate.paused
    assert gate.generation == 1


async def test_pause_extended_while_running() -> None:
    clock = ManualClock()
    released = anyio.Event()
    slept: list[float] = []

    async def held_sleep(seconds: float) -> None:
        slept.append(seconds)
        await released.wait()
        clock.now += seconds

    gate = PauseGate(clock, held_sleep)
    gate.pause(1.0)
    async with anyio.create_task_group() as group:
        group.start_soon(gate.wait)
        while not slept:
            await anyio.lowlevel.checkpoint()
        gate.pause(3.0)
        released.set()

    # Asked at the same clock reading, the longer pause ends 2 s after the first one.
    assert slept == [1.0, 2.0]
    assert gate.generation == 1


async def test_no_pause_no_sleep() -> None:
    clock = ManualClock()
    gate = PauseGate(clock, clock.sleep)
    await gate.wait()

    assert clock.slept == []
    assert gate.generation == 0


async def test_rate_spaces_callers() -> None:
    clock = ManualClock()
    rate = RateLimiter(4.0, clock, clock.sleep)
    for _ in range(3):
        await rate.wait()

    # The first goes at once, each next one a quarter second after the one before.
    assert clock.slept == [0.25, 0.25]


async def test_rate_saves_no_burst() -> None:
    clock = ManualClock()
    rate = RateLimiter(10.0, clock, clock.sleep)
    await rate.wait()
    clock.now += 60.0
    await rate.wait()
    await rate.wait()

    assert clock.slept == [pytest.approx(0.1)]
