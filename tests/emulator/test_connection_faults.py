"""Faults that drop or hold the connection: reset, refuse, stall, reset mid-body.

Each runs in-process and over a loopback socket, and the client must see the same thing,
except for ``refuse``, which a server can only approximate.
"""

from __future__ import annotations

import re
import time

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
    FaultKind,
    FaultRule,
    LostResponse,
    serve,
)

from .helpers import HEADERS, FakeClock, Target, api_client, create_body, wait_until

pytestmark = pytest.mark.anyio

DISCONNECTED = "^Server disconnected without sending a response.$"
JOBS_PATH = "/data/core/ups/export/jobs"


def _lost(
    job_id: int | None, request_id: str, fault: FaultKind, method: str = "POST"
) -> LostResponse:
    return LostResponse(method, JOBS_PATH, "/export/jobs", job_id, request_id, fault)


async def test_reset_before_processing_stores_nothing(target: Target) -> None:
    emulator = target.emulator
    rule = emulator.inject(FaultRule(Fault.reset(), method="POST"))
    async with target.client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            await client.post("/export/jobs", json=create_body())
        listing = await client.get("/export/jobs")

    assert listing.json()["records"] == []
    assert emulator.created_count == 0
    assert emulator.lost_responses == []
    assert rule.fired == 1
    assert emulator.stats.faults == {"reset": 1}


async def test_reset_after_processing_stores_job(target: Target) -> None:
    emulator = target.emulator
    rule = emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST"))
    async with target.client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            await client.post("/export/jobs", json=create_body(), headers={"x-request-id": "r1"})
        listing = await client.get("/export/jobs")

    assert [record["id"] for record in listing.json()["records"]] == [1]
    assert emulator.created_count == 1
    assert emulator.lost_responses == [_lost(1, "r1", "reset")]
    assert rule.fired == 1


async def test_reset_after_processing_up_to_limit(target: Target) -> None:
    emulator = target.emulator
    rule = emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", limit=3))
    async with target.client() as client:
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/export/jobs", json=create_body())
        fourth = await client.post("/export/jobs", json=create_body())

    assert fourth.json()["id"] == 4
    assert emulator.created_count == 4
    assert [lost.job_id for lost in emulator.lost_responses] == [1, 2, 3]
    assert rule.fired == 3


async def test_reset_after_processing_of_get(target: Target) -> None:
    target.emulator.inject(FaultRule(Fault.reset(after_processing=True), requests={1}))
    async with target.client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            await client.get("/export/jobs", headers={"x-request-id": "r2"})
        retry = await client.get("/export/jobs")

    assert retry.status_code == 200
    assert target.emulator.lost_responses == [_lost(None, "r2", "reset", method="GET")]


async def test_reset_is_logged_as_dropped(target: Target) -> None:
    target.emulator.inject(FaultRule(Fault.reset()))
    async with target.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/export/jobs")

    [record] = target.emulator.request_log
    assert (record.status, record.fault) == (444, "reset")


async def test_refuse_in_process_raises_connect_error(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.refuse(), method="POST"))
    async with api_client(emulator) as client:
        with pytest.raises(httpx.ConnectError, match=r"^All connection attempts failed$"):
            await client.post("/export/jobs", json=create_body())

    assert emulator.created_count == 0
    assert emulator.lost_responses == []
    assert rule.fired == 1
    assert emulator.stats.faults == {"refuse": 1}


async def test_refuse_over_socket_resets_connection(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.refuse(), method="POST", limit=1))
    with serve(emulator) as server:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
            with pytest.raises(httpx.ReadError):
                await client.post("/export/jobs", json=create_body())
            retry = await client.post("/export/jobs", json=create_body())

    assert retry.json()["id"] == 1
    assert emulator.created_count == 1
    assert emulator.lost_responses == []
    assert rule.fired == 1


async def test_stall_delays_response(target: Target) -> None:
    rule = target.emulator.inject(FaultRule(Fault.stall(0.2)))
    async with target.client() as client:
        started = time.monotonic()
        response = await client.get("/export/jobs")
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert 0.1 <= elapsed < 5
    assert rule.fired == 1
    assert target.emulator.stats.faults == {"stall": 1}


def test_stall_duration_on_mock_clock(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.stall(30)))

    async def timed_request() -> float:
        transport = emulator.transport()
        async with httpx.AsyncClient(
            transport=transport, base_url=IN_PROCESS_BASE_URL, headers=HEADERS, timeout=60
        ) as client:
            started = trio.current_time()
            response = await client.get("/export/jobs")
        assert response.status_code == 200
        return trio.current_time() - started

    # Trio's mock clock jumps ahead whenever every task sleeps, so 30 s pass at once.
    elapsed = trio.run(timed_request, clock=trio.testing.MockClock(autojump_threshold=0))

    assert elapsed == pytest.approx(30)


async def test_stall_cancelled_by_client(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.stall(60), method="POST"))
    async with target.client() as client:
        with anyio.move_on_after(0.2) as scope:
            await client.post("/export/jobs", json=create_body(), headers={"x-request-id": "s1"})
        await wait_until(lambda: emulator.stats.in_flight == 0)
        listing = await client.get("/export/jobs")

    assert scope.cancelled_caught
    assert listing.status_code == 200
    # The stall came before processing, so the abandoned create stored nothing.
    assert emulator.created_count == 0
    assert emulator.lost_responses == []
    record = next(record for record in emulator.request_log if record.request_id == "s1")
    assert (record.status, record.fault) == (499, "stall")


async def test_stall_hits_read_timeout(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.stall(60), limit=1))
    async with target.client(timeout=httpx.Timeout(5, read=0.1)) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/export/jobs")
        elapsed = time.monotonic() - started
        await wait_until(lambda: emulator.stats.in_flight == 0)
        retry = await client.get("/export/jobs")

    assert 0.05 <= elapsed < 5
    assert retry.status_code == 200


async def test_stall_after_processing_abandoned_is_lost(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.stall(60, after_processing=True), method="POST"))
    async with target.client(timeout=httpx.Timeout(5, read=0.15)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/export/jobs", json=create_body(), headers={"x-request-id": "s2"})
        await wait_until(lambda: emulator.stats.in_flight == 0)

    assert emulator.created_count == 1
    assert emulator.lost_responses == [_lost(1, "s2", "stall")]


async def test_stall_after_processing_completes(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.stall(0.05, after_processing=True), method="POST"))
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=create_body())

    assert response.json()["id"] == 1
    assert emulator.lost_responses == []


async def test_reset_mid_body_after_headers(target: Target) -> None:
    emulator = target.emulator
    emulator.seed(20)
    emulator.inject(FaultRule(Fault.reset_mid_body(), requests={2}))
    async with target.client() as client:
        whole = await client.get("/export/jobs", params={"limit": 10})
        size = len(whole.content)
        message = (
            "peer closed connection without sending complete message body "
            f"(received {size // 2} bytes, expected {size})"
        )
        with pytest.raises(httpx.RemoteProtocolError, match=f"^{re.escape(message)}$"):
            await client.get("/export/jobs", params={"limit": 10}, headers={"x-request-id": "m1"})

    assert emulator.lost_responses == [
        LostResponse("GET", f"{JOBS_PATH}?limit=10", "/export/jobs", None, "m1", "reset_mid_body")
    ]
    assert emulator.stats.faults == {"reset_mid_body": 1}


async def test_reset_mid_body_streamed(target: Target) -> None:
    target.emulator.seed(20)
    target.emulator.inject(FaultRule(Fault.reset_mid_body(), requests={2}))
    async with target.client() as client:
        whole = (await client.get("/export/jobs", params={"limit": 10})).content
        chunks: list[bytes] = []
        async with client.stream("GET", "/export/jobs", params={"limit": 10}) as response:
            status = response.status_code
            length = response.headers["content-length"]
            with pytest.raises(httpx.RemoteProtocolError):
                await _read_into(response, chunks)

    assert status == 200
    assert length == str(len(whole))
    assert b"".join(chunks) == whole[: len(whole) // 2]


async def _read_into(response: httpx.Response, chunks: list[bytes]) -> None:
    async for chunk in response.aiter_raw():
        chunks.append(chunk)


async def test_reset_mid_body_create_is_lost(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.reset_mid_body(), method="POST"))
    async with target.client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message"):
            await client.post("/export/jobs", json=create_body(), headers={"x-request-id": "m2"})

    assert emulator.created_count == 1
    assert emulator.job_ids() == [1]
    assert emulator.lost_responses == [_lost(1, "m2", "reset_mid_body")]


async def test_rule_counts_exact_across_threads(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock))
    rule = emulator.inject(FaultRule(Fault.status(503), limit=50))
    statuses: list[int] = []

    async def send_requests(client: httpx.AsyncClient) -> None:
        for _ in range(25):
            statuses.append((await client.get("/export/jobs")).status_code)

    # The server thread and this thread decide faults for the same rule at the same time.
    with serve(emulator) as server:
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as remote,
            httpx.AsyncClient(
                transport=emulator.transport(), base_url=IN_PROCESS_BASE_URL, headers=HEADERS
            ) as local,
            anyio.create_task_group() as tasks,
        ):
            for index in range(8):
                tasks.start_soon(send_requests, remote if index % 2 else local)

    assert len(statuses) == 200
    assert statuses.count(503) == 50
    assert rule.fired == 50
    assert rule.matched == 200
    assert emulator.stats.faults == {"status": 50}
