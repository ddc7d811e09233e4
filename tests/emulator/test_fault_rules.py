"""Fault rules: which requests they choose, in which order, how often, and bad arguments."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig, Fault, FaultRule

from .helpers import HEADERS, FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


async def _list_statuses(client: httpx.AsyncClient, count: int) -> list[int]:
    return [(await client.get("/export/jobs")).status_code for _ in range(count)]


async def _faulted_request_numbers(emulator: Emulator, count: int) -> list[int]:
    """Send ``count`` listings and return the 1-based numbers of those that got 503."""
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, count)
    return [number for number, status in enumerate(statuses, start=1) if status == 503]


async def test_requests_fire_on_listed_numbers(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), requests={2, 5}))
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, 6)

    assert statuses == [200, 503, 200, 200, 503, 200]
    assert rule.fired == 2
    assert rule.matched == 6
    assert emulator.stats.faults == {"status": 2}


async def test_rule_without_selection_fires_every_time(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(500), method="POST"))
    async with api_client(emulator) as client:
        listing = await client.get("/export/jobs")
        creates = [await client.post("/export/jobs", json=create_body()) for _ in range(3)]

    assert listing.status_code == 200
    assert [response.status_code for response in creates] == [500, 500, 500]
    assert rule.fired == 3
    assert emulator.created_count == 0


async def test_limit_caps_fired(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(502), limit=3))
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, 5)

    assert statuses == [502, 502, 502, 200, 200]
    assert rule.fired == 3
    assert rule.matched == 5


async def test_limit_caps_listed_numbers(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), requests={1, 2, 4}, limit=2))
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, 4)

    assert statuses == [503, 503, 200, 200]
    assert rule.fired == 2


async def test_limit_zero_never_fires(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), limit=0))
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, 2)

    assert statuses == [200, 200]
    assert rule.fired == 0
    assert rule.matched == 2


async def test_method_and_route_filter(emulator: Emulator) -> None:
    emulator.seed(1)
    rule = emulator.inject(FaultRule(Fault.status(503), method="get", route="/export/jobs/{id}"))
    async with api_client(emulator) as client:
        listing = await client.get("/export/jobs")
        job = await client.get("/export/jobs/1")
        cancel = await client.delete("/export/jobs/1")

    assert rule.method == "GET"
    assert (listing.status_code, job.status_code, cancel.status_code) == (200, 503, 200)
    assert rule.matched == 1


async def test_first_rule_that_fires_wins(emulator: Emulator) -> None:
    first = emulator.inject(FaultRule(Fault.status(503), requests={2}))
    second = emulator.inject(FaultRule(Fault.status(429), requests={2, 3}))
    async with api_client(emulator) as client:
        statuses = await _list_statuses(client, 3)

    assert statuses == [200, 503, 429]
    assert first.fired == 1
    assert second.fired == 1
    # The second rule counts every matching request, even one the first rule took.
    assert second.matched == 3


async def test_share_repeats_for_same_seed(clock: FakeClock) -> None:
    runs = []
    for seed in (4, 4, 5):
        emulator = Emulator(EmulatorConfig(clock=clock, seed=seed))
        emulator.inject(FaultRule(Fault.status(503), share=0.3))
        runs.append(await _faulted_request_numbers(emulator, 100))

    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert 10 < len(runs[0]) < 50


async def test_share_draws_ignore_other_rules(clock: FakeClock) -> None:
    alone = Emulator(EmulatorConfig(clock=clock, seed=9))
    alone.inject(FaultRule(Fault.status(503), share=0.3))
    behind = Emulator(EmulatorConfig(clock=clock, seed=9))
    behind.inject(FaultRule(Fault.status(503), share=0.3))
    # Injected second, this rule fires only where the first did not.
    later = behind.inject(FaultRule(Fault.status(429), share=0.5))

    assert await _faulted_request_numbers(alone, 100) == await _faulted_request_numbers(behind, 100)
    assert later.matched == 100


async def test_share_fires_at_its_rate(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), share=0.1))
    faulted = await _faulted_request_numbers(emulator, 1_000)

    assert 60 <= len(faulted) <= 140
    assert rule.fired == len(faulted)
    assert rule.matched == 1_000


async def test_share_combines_with_requests(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), share=0.5, requests={1}))
    faulted = await _faulted_request_numbers(emulator, 100)

    assert faulted[0] == 1
    assert 30 < len(faulted) < 70
    assert rule.fired == len(faulted)


async def test_share_one_fires_every_time(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), share=1.0))

    assert await _faulted_request_numbers(emulator, 5) == [1, 2, 3, 4, 5]
    assert rule.fired == 5


async def test_clear_faults_stops_injection(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503)))
    async with api_client(emulator) as client:
        before = await client.get("/export/jobs")
        emulator.clear_faults()
        after = await client.get("/export/jobs")

    assert (before.status_code, after.status_code) == (503, 200)
    assert emulator.faults == []
    assert rule.fired == 1
    assert emulator.stats.faults == {"status": 1}


def test_faults_lists_rules_in_order(emulator: Emulator) -> None:
    first = emulator.inject(FaultRule(Fault.reset()))
    second = emulator.inject(FaultRule(Fault.not_json()))

    assert emulator.faults == [first, second]


def test_rule_injected_twice_is_rejected(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.reset()))

    with pytest.raises(ValueError, match=r"was already injected\. Inject a new FaultRule\.$"):
        emulator.inject(rule)
    with pytest.raises(ValueError, match="was already injected"):
        Emulator().inject(rule)


async def test_gateway_rejection_comes_before_faults(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503)))
    headers = {key: value for key, value in HEADERS.items() if key != "Authorization"}
    async with api_client(emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 403
    assert rule.matched == 0
    assert emulator.stats.faults == {}


async def test_unknown_route_and_method_get_no_fault(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503)))
    async with api_client(emulator) as client:
        unknown = await client.get("/export/schedules")
        wrong_method = await client.put("/export/jobs", json={})

    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    assert rule.matched == 0


async def test_request_log_names_fault(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.status(503), requests={2}))
    async with api_client(emulator) as client:
        await _list_statuses(client, 2)

    assert [(record.status, record.fault) for record in emulator.request_log] == [
        (200, None),
        (503, "status"),
    ]


async def test_injected_fault_logged_without_token(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject(FaultRule(Fault.status(429, retry_after="2")))
    headers = {**HEADERS, "Authorization": "Bearer secret-token-value", "x-request-id": "req-5"}
    with caplog.at_level(logging.DEBUG, logger="aep_jobs.emulator"):
        async with api_client(emulator, headers) as client:
            await client.get("/export/jobs", params={"limit": 3})

    messages = [
        record.getMessage() for record in caplog.records if record.name == "aep_jobs.emulator"
    ]
    assert messages[0] == (
        "Injecting status 429 with Retry-After 2 into GET /data/core/ups/export/jobs?limit=3 "
        "(request id req-5)"
    )
    assert caplog.records[0].levelno == logging.DEBUG
    assert "secret-token-value" not in caplog.text


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        (Fault.status(503), "status 503"),
        (Fault.status(429, retry_after=2), "status 429 with Retry-After 2"),
        (Fault.reset(), "reset"),
        (Fault.reset(after_processing=True), "reset after processing"),
        (Fault.refuse(), "refuse"),
        (Fault.stall(1.5), "stall of 1.5 s"),
        (Fault.stall(2, after_processing=True), "stall of 2 s after processing"),
        (Fault.not_json(), "not json"),
        (Fault.truncated(), "truncated"),
        (Fault.reset_mid_body(), "reset mid body"),
        (Fault.repeated_cursor(), "repeated cursor"),
        (Fault.foreign_next_link(), "foreign next link to other.example"),
    ],
)
def test_fault_describes_itself(fault: Fault, text: str) -> None:
    assert str(fault) == text


def test_rule_repr_shows_settings_and_fired() -> None:
    rule = FaultRule(Fault.status(503), method="GET", share=0.25, requests={5, 2}, limit=3)

    assert repr(rule) == (
        "FaultRule(fault=status 503, method='GET', share=0.25, requests=[2, 5], limit=3, fired=0)"
    )


def test_fault_is_frozen_and_comparable() -> None:
    fault = Fault.status(503)

    assert fault == Fault.status(503)
    assert fault.kind == "status"
    with pytest.raises(AttributeError):
        fault.status_code = 500  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Fault.status(200), "A status fault needs an HTTP status from 400 to 599, got 200"),
        (lambda: Fault.status(600), "A status fault needs an HTTP status from 400 to 599, got 600"),
        (
            lambda: Fault.status(429, retry_after="2\r\nx-injected: 1"),
            "retry_after must be a non-empty header value on one line, got '2\\r\\nx-injected: 1'",
        ),
        (
            lambda: Fault.status(429, retry_after=""),
            "retry_after must be a non-empty header value on one line, got ''",
        ),
        (lambda: Fault.status(429, retry_after=-1), "retry_after must be >= 0 seconds, got -1"),
        (
            lambda: Fault.status(429, retry_after="\u20ac"),
            "retry_after must be Latin-1 text, got '\u20ac'",
        ),
        (
            lambda: Fault.status(503, content_type="text/html\n"),
            "content_type must be a non-empty header value on one line, got 'text/html\\n'",
        ),
        (lambda: Fault.stall(-1), "A stall needs a finite number of seconds >= 0, got -1"),
        (
            lambda: Fault.stall(float("inf")),
            "A stall needs a finite number of seconds >= 0, got inf",
        ),
        (
            lambda: Fault.foreign_next_link("other.example/path"),
            "host must be a host name with an optional port, such as 'other.example:8443', "
            "got 'other.example/path'",
        ),
        (
            lambda: Fault.foreign_next_link(""),
            "host must be a host name with an optional port, such as 'other.example:8443', got ''",
        ),
        (
            lambda: Fault("explode"),  # type: ignore[arg-type]
            "Unknown fault kind 'explode'. Known kinds: foreign_next_link, not_json, refuse, "
            "repeated_cursor, reset, reset_mid_body, stall, status, truncated",
        ),
    ],
)
def test_invalid_fault_is_rejected(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build()


def test_naive_retry_after_datetime_is_rejected() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="retry_after must be an aware datetime, got a naive one"):
        Fault.status(429, retry_after=datetime(2025, 10, 9, 8, 53, 22))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "PUT"}, "method must be GET, POST, DELETE or None, got 'PUT'"),
        (
            {"route": "/export/jobs/1"},
            "route must be '/export/jobs', '/export/jobs/{id}', '/ims/token/v3' or None, "
            "got '/export/jobs/1'",
        ),
        ({"share": 1.5}, "share must be between 0 and 1, got 1.5"),
        ({"share": -0.1}, "share must be between 0 and 1, got -0.1"),
        ({"requests": {0, 2}}, "requests must be 1-based request numbers, got [0, 2]"),
        ({"limit": -1}, "limit must be None or >= 0, got -1"),
    ],
)
def test_invalid_rule_is_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        FaultRule(Fault.status(503), **settings)


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({"method": "POST"}, "method 'POST' and route None"),
        ({"route": "/export/jobs/{id}"}, "method None and route '/export/jobs/{id}'"),
    ],
)
def test_link_fault_rule_off_listing_is_rejected(settings: dict[str, Any], shown: str) -> None:
    message = f"A repeated cursor fault applies to GET /export/jobs only, got {shown}"

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        FaultRule(Fault.repeated_cursor(), **settings)


def test_rule_needs_a_fault() -> None:
    with pytest.raises(TypeError, match="fault must be a Fault, got str"):
        FaultRule("reset")  # type: ignore[arg-type]
