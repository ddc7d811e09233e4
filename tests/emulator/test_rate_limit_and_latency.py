"""The rate limit (a token bucket per organisation on the emulator's clock) and added latency."""

from __future__ import annotations

import re
import time
from typing import Any

import anyio
import httpx
import pytest
import trio
import trio.testing

from aep_jobs.emulator import (
    IN_PROCESS_BASE_URL,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultRule,
    RateLimit,
    serve,
)

from .helpers import HEADERS, FakeClock, api_client

pytestmark = pytest.mark.anyio

TOO_MANY_REQUESTS = {"error_code": "429001", "message": "Too many requests"}


def _limited(clock: FakeClock, per_second: float, burst: int, **settings: Any) -> Emulator:
    rate_limit = RateLimit(per_second=per_second, burst=burst)
    return Emulator(EmulatorConfig(clock=clock, rate_limit=rate_limit, **settings))


async def _get(client: httpx.AsyncClient, org_id: str | None = None) -> httpx.Response:
    headers = None if org_id is None else {"x-gw-ims-org-id": org_id}
    return await client.get("/export/jobs", headers=headers)


async def test_rate_limit_allows_burst_then_429(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=0.5, burst=2)
    async with api_client(emulator) as client:
        allowed = [(await _get(client)).status_code for _ in range(2)]
        rejected = await _get(client)

    assert allowed == [200, 200]
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "2"
    assert rejected.json() == TOO_MANY_REQUESTS
    assert emulator.stats.rate_limited == 1


async def test_rate_limit_refills_on_clock(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=0.5, burst=2)
    async with api_client(emulator) as client:
        for _ in range(2):
            await _get(client)
        clock.advance(1)
        after_one_second = await _get(client)
        clock.advance(1)
        after_two_seconds = await _get(client)
        again = await _get(client)

    assert after_one_second.status_code == 429
    assert after_one_second.headers["retry-after"] == "1"
    assert after_two_seconds.status_code == 200
    assert again.headers["retry-after"] == "2"
    assert emulator.stats.rate_limited == 2


async def test_retry_after_is_at_least_one_second(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=4, burst=1)
    async with api_client(emulator) as client:
        await _get(client)
        rejected = await _get(client)
        clock.advance(0.25)
        allowed = await _get(client)

    # A token is back after 0.25 s, but Retry-After counts whole seconds.
    assert rejected.headers["retry-after"] == "1"
    assert allowed.status_code == 200


async def test_retry_after_rounds_up(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=0.4, burst=1)
    async with api_client(emulator) as client:
        await _get(client)
        clock.advance(1)
        rejected = await _get(client)

    # 0.4 token after one second; the remaining 0.6 takes 1.5 s.
    assert rejected.headers["retry-after"] == "2"


async def test_refill_is_capped_at_burst(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=10, burst=3)
    async with api_client(emulator) as client:
        clock.advance(3_600)
        statuses = [(await _get(client)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


async def test_clock_going_back_refills_nothing(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=1, burst=1)
    async with api_client(emulator) as client:
        await _get(client)
        clock.advance(-10)
        rejected = await _get(client)

    assert rejected.status_code == 429


async def test_each_organisation_has_own_bucket(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=1, burst=1)
    async with api_client(emulator) as client:
        first = await _get(client, "AAAAAAAAAAAAAAAAAAAAAAAA@AdobeOrg")
        same_org = await _get(client, "AAAAAAAAAAAAAAAAAAAAAAAA@AdobeOrg")
        other_org = await _get(client, "BBBBBBBBBBBBBBBBBBBBBBBB@AdobeOrg")

    assert (first.status_code, same_org.status_code, other_org.status_code) == (200, 429, 200)


async def test_gateway_rejection_takes_no_token(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=1, burst=1)
    headers = {key: value for key, value in HEADERS.items() if key != "x-api-key"}
    async with api_client(emulator, headers) as rejected_client:
        rejected = await rejected_client.get("/export/jobs")
    async with api_client(emulator) as client:
        allowed = await _get(client)

    assert rejected.status_code == 403
    assert allowed.status_code == 200
    assert emulator.stats.rate_limited == 0


async def test_rate_limited_requests_skip_fault_rules(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=1, burst=2)
    rule = emulator.inject(FaultRule(Fault.status(503), requests={3}))
    async with api_client(emulator) as client:
        statuses = [(await _get(client)).status_code for _ in range(3)]
        clock.advance(1)
        statuses.append((await _get(client)).status_code)

    # The 429 did not reach the rule, so its third matching request is the fourth sent.
    assert statuses == [200, 200, 429, 503]
    assert rule.matched == 3
    assert emulator.stats.faults == {"status": 1}


async def test_rate_limit_over_socket(clock: FakeClock) -> None:
    emulator = _limited(clock, per_second=1, burst=1)
    with serve(emulator) as server:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
            allowed = await _get(client)
            rejected = await _get(client)

    assert allowed.status_code == 200
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "1"
    assert rejected.json() == TOO_MANY_REQUESTS


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"per_second": 0, "burst": 1}, "per_second must be a positive number of requests, got 0"),
        (
            {"per_second": float("nan"), "burst": 1},
            "per_second must be a positive number of requests, got nan",
        ),
        ({"per_second": 1, "burst": 0}, "burst must be an integer >= 1, got 0"),
        ({"per_second": 1, "burst": 2.5}, "burst must be an integer >= 1, got 2.5"),
    ],
)
def test_invalid_rate_limit_is_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RateLimit(**settings)


def test_config_rejects_other_rate_limit_type() -> None:
    with pytest.raises(TypeError, match=r"^rate_limit must be a RateLimit or None, got dict$"):
        EmulatorConfig(rate_limit={"per_second": 1, "burst": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize("latency", [-0.1, float("inf")])
def test_config_rejects_invalid_latency(latency: float) -> None:
    message = f"latency must be a finite number of seconds >= 0, got {latency}"

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        EmulatorConfig(latency=latency)


async def test_latency_delays_each_request(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, latency=0.05))
    async with api_client(emulator) as client:
        started = time.monotonic()
        for _ in range(3):
            await _get(client)
        elapsed = time.monotonic() - started

    assert 0.075 <= elapsed < 5


def test_latency_on_mock_clock(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, latency=0.25))
    forbidden_headers = {key: value for key, value in HEADERS.items() if key != "Authorization"}

    async def timed_requests() -> list[float]:
        durations = []
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url=IN_PROCESS_BASE_URL, headers=HEADERS
        ) as client:
            for headers in (None, None, forbidden_headers):
                started = trio.current_time()
                await client.get("/export/jobs", headers=headers)
                durations.append(trio.current_time() - started)
        return durations

    durations = trio.run(timed_requests, clock=trio.testing.MockClock(autojump_threshold=0))

    # Gateway errors wait too: the latency is added to every request.
    assert durations == pytest.approx([0.25, 0.25, 0.25])


async def test_latency_cancelled_leaves_nothing_in_flight(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, latency=30))
    async with api_client(emulator) as client:
        with anyio.move_on_after(0.1):
            await _get(client)

    [record] = emulator.request_log
    assert record.status == 499
    assert emulator.stats.in_flight == 0
