"""Job lifecycle on a fake clock: NEW, then PROCESSING, then SUCCEEDED or FAILED."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


def _lifecycle_emulator(clock: FakeClock, failure_share: float = 0.0) -> Emulator:
    config = EmulatorConfig(
        clock=clock, processing_after=0.5, finish_after=2.0, failure_share=failure_share
    )
    return Emulator(config)


async def _create(emulator: Emulator) -> dict[str, Any]:
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=create_body())
    job: dict[str, Any] = response.json()
    return job


async def _fetch(emulator: Emulator, job_id: int) -> dict[str, Any]:
    async with api_client(emulator) as client:
        response = await client.get(f"/export/jobs/{job_id}")
    job: dict[str, Any] = response.json()
    return job


async def test_job_stays_new_until_processing_time(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    clock.advance(0.499)

    assert await _fetch(emulator, created["id"]) == created


async def test_job_processing_after_processing_time(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    clock.advance(0.5)
    job = await _fetch(emulator, created["id"])

    assert job["status"] == "PROCESSING"
    assert job["updateTime"] == created["creationTime"] + 500
    assert job["computeGatewayJobId"]["exportJob"] != ""


async def test_job_succeeds_at_finish_time(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    clock.advance(1.999)
    processing = await _fetch(emulator, created["id"])
    clock.advance(0.001)
    job = await _fetch(emulator, created["id"])

    assert processing["status"] == "PROCESSING"
    assert job["status"] == "SUCCEEDED"
    assert job["updateTime"] == created["creationTime"] + 2_000


async def test_succeeded_job_has_batch_and_metrics(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    clock.advance(3)
    job = await _fetch(emulator, created["id"])

    metrics = job["metrics"]
    assert job["destination"]["batchId"] == created["destination"]["batchId"]
    assert metrics["totalTime"] == {
        "startTimeInMs": created["creationTime"],
        "endTimeInMs": created["creationTime"] + 2_000,
        "totalTimeInMs": 2_000,
    }
    assert metrics["profileExportTime"]["startTimeInMs"] == created["creationTime"] + 500
    assert metrics["totalExportedProfileCounter"] >= 1_000
    assert (
        sum(metrics["exportedProfileByNamespaceCounter"].values())
        <= metrics["totalExportedProfileCounter"]
    )
    assert "errors" not in job


async def test_failed_job_has_errors(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock, failure_share=1.0)
    created = await _create(emulator)
    clock.advance(2)
    job = await _fetch(emulator, created["id"])

    assert job["status"] == "FAILED"
    assert job["updateTime"] == created["creationTime"] + 2_000
    assert len(job["errors"]) == 1
    assert job["errors"][0]["code"] in {"0090000009", "0100000003"}
    assert job["errors"][0]["callStack"] == "com.adobe.aep.unifiedprofile.common.logging.Logger"


async def test_time_jump_applies_both_transitions(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    clock.advance(3_600)
    job = await _fetch(emulator, created["id"])

    assert job["status"] == "SUCCEEDED"
    assert job["updateTime"] == created["creationTime"] + 2_000


async def test_status_filter_follows_lifecycle(clock: FakeClock) -> None:
    emulator = _lifecycle_emulator(clock)
    created = await _create(emulator)
    new_ids = emulator.job_ids("NEW")
    clock.advance(1)
    processing_ids = emulator.job_ids("PROCESSING")
    clock.advance(1)

    assert new_ids == [created["id"]]
    assert processing_ids == [created["id"]]
    assert emulator.job_ids("NEW") == []
    assert emulator.job_ids("SUCCEEDED") == [created["id"]]


async def test_zero_delays_finish_job_on_next_read(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, processing_after=0, finish_after=0))
    created = await _create(emulator)
    job = await _fetch(emulator, created["id"])

    assert created["status"] == "NEW"
    assert job["status"] in {"SUCCEEDED", "FAILED"}


async def test_outcomes_repeat_for_same_seed(clock: FakeClock) -> None:
    outcomes = []
    for _ in range(2):
        config = EmulatorConfig(clock=clock, seed=11, failure_share=0.5)
        emulator = Emulator(config)
        async with api_client(emulator) as client:
            for index in range(20):
                # A fixed request id, because a generated one differs from run to run.
                headers = {"x-request-id": f"req-{index}"}
                await client.post("/export/jobs", json=create_body(), headers=headers)
        clock.advance(5)
        outcomes.append([emulator.get_job(job_id) for job_id in range(1, 21)])
        clock.advance(-5)

    statuses = [job["status"] for job in outcomes[0] if job is not None]
    assert outcomes[0] == outcomes[1]
    assert set(statuses) == {"SUCCEEDED", "FAILED"}


def test_seeded_in_flight_jobs_finish(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, processing_after=0.5, finish_after=2.0))
    emulator.seed(2_000)
    new_ids = emulator.job_ids("NEW")
    processing_ids = emulator.job_ids("PROCESSING")
    clock.advance(0.5)
    processing_after_start = emulator.job_ids("PROCESSING")
    clock.advance(1.5)

    assert len(new_ids) == 2
    assert len(processing_ids) == 2
    assert sorted(processing_after_start) == sorted(new_ids + processing_ids)
    assert emulator.job_ids("NEW") == []
    assert emulator.job_ids("PROCESSING") == []


def test_config_rejects_finish_before_processing() -> None:
    with pytest.raises(ValueError, match="finish_after"):
        EmulatorConfig(processing_after=3, finish_after=1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"variant_share": 1.5}, "variant_share must be between 0 and 1, got 1.5"),
        ({"failure_share": -0.1}, "failure_share must be between 0 and 1, got -0.1"),
        ({"cancel_style": "silent"}, "cancel_style must be 'body' or 'empty', got 'silent'"),
        ({"max_page_size": 0}, "max_page_size must be None or >= 1, got 0"),
        ({"org_id": ""}, "org_id must not be empty"),
    ],
)
def test_config_rejects_invalid_setting(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        EmulatorConfig(**settings)
