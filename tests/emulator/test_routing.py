"""Routing, ASGI lifespan, request counters and the request log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import anyio
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import HEADERS, FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


async def test_unknown_service_path_is_404(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.get("/export/schedules", headers={"x-request-id": "req-1"})

    assert response.status_code == 404
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1004-404",
        "title": "Not Found",
        "status": 404,
        "detail": "No route for GET /data/core/ups/export/schedules",
        "requestId": "req-1",
    }


async def test_path_outside_api_root_is_404(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.get("http://127.0.0.1/export/jobs")

    assert response.status_code == 404
    assert response.json()["detail"] == "No route for GET /export/jobs"


async def test_job_path_with_extra_segment_is_404(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs/1/batches")

    assert response.status_code == 404


async def test_wrong_method_on_job_list_is_405(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.put("/export/jobs", json={})

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["detail"] == (
        "Method PUT is not allowed on /data/core/ups/export/jobs. Allowed methods: GET, POST."
    )


async def test_wrong_method_on_job_is_405(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs/1", json={})

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, DELETE"


async def test_job_list_route_accepts_trailing_slash(emulator: Emulator) -> None:
    emulator.seed(3)
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs/", params={"limit": 2})

    assert response.status_code == 200
    assert response.json()["page"]["pageSize"] == 2


async def test_lifespan_startup_and_shutdown(emulator: Emulator) -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await emulator.app({"type": "lifespan"}, receive, send)

    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


async def test_requests_counted_per_route(emulator: Emulator) -> None:
    emulator.seed(2)
    async with api_client(emulator) as client:
        await client.get("/export/jobs")
        await client.get("/export/jobs/")
        await client.get("/export/jobs/1")
        await client.delete("/export/jobs/999")
        await client.get("/unknown")

    assert emulator.stats.requests == {
        ("GET", "/export/jobs"): 2,
        ("GET", "/export/jobs/{id}"): 1,
        ("DELETE", "/export/jobs/{id}"): 1,
        ("GET", ""): 1,
    }
    assert emulator.stats.total_requests == 5
    assert emulator.stats.in_flight == 0


async def test_peak_in_flight_counts_concurrent_requests(emulator: Emulator) -> None:
    body_may_finish = anyio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},'
        await body_may_finish.wait()
        yield b'"schema": {"name": "_xdm.context.profile"}}'

    async with api_client(emulator) as client:

        async def create_slowly() -> None:
            response = await client.post(
                "/export/jobs",
                content=slow_body(),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 200

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(create_slowly)
            await anyio.wait_all_tasks_blocked()
            listing = await client.get("/export/jobs")
            body_may_finish.set()

    assert listing.status_code == 200
    assert emulator.stats.peak_in_flight == 2
    assert emulator.stats.in_flight == 0


async def test_request_log_records_requests(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        await client.get("/export/jobs", params={"limit": 5}, headers={"x-request-id": "req-7"})

    [record] = emulator.request_log
    assert record.method == "GET"
    assert record.path == "/data/core/ups/export/jobs?limit=5"
    assert record.route == "/export/jobs"
    assert record.status == 200
    assert record.request_id == "req-7"
    assert record.duration >= 0


async def test_request_log_keeps_configured_size(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, request_log_size=3))
    async with api_client(emulator) as client:
        for index in range(5):
            await client.get("/export/jobs", headers={"x-request-id": f"req-{index}"})

    assert [record.request_id for record in emulator.request_log] == ["req-2", "req-3", "req-4"]
    assert emulator.stats.total_requests == 5


async def test_stats_reset_clears_counters(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        await client.get("/export/jobs")
    emulator.stats.reset()

    assert emulator.stats.requests == {}
    assert emulator.request_log == []
    assert emulator.stats.peak_in_flight == 0


async def test_oversized_body_is_413(emulator: Emulator) -> None:
    body = create_body()
    body["fields"] = "x" * (1024 * 1024)
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=body)

    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is larger than 1048576 bytes."
    assert emulator.created_count == 0


async def test_debug_log_names_request_without_token(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**HEADERS, "Authorization": "Bearer secret-token-value", "x-request-id": "req-9"}
    with caplog.at_level(logging.DEBUG, logger="aep_jobs.emulator"):
        async with api_client(emulator, headers) as client:
            await client.get("/export/jobs", params={"limit": 3})

    [record] = [record for record in caplog.records if record.name == "aep_jobs.emulator"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("GET /data/core/ups/export/jobs?limit=3 -> 200 in ")
    assert record.getMessage().endswith(" ms (request id req-9)")
    assert "secret-token-value" not in caplog.text
