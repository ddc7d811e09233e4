"""Seeded jobs: determinism, realistic shapes, and the variant spellings at their share."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import FakeClock, api_client

pytestmark = pytest.mark.anyio


def _seeded(clock: FakeClock, count: int, **settings: Any) -> Emulator:
    emulator = Emulator(EmulatorConfig(clock=clock, **settings))
    emulator.seed(count)
    return emulator


def _jobs(emulator: Emulator) -> list[dict[str, Any]]:
    jobs = [emulator.get_job(job_id) for job_id in emulator.job_ids()]
    return [job for job in jobs if job is not None]


def _variant_markers(job: dict[str, Any]) -> set[str]:
    """Name the variant spellings that a job shows; an empty set for the documented shape."""
    markers = set()
    destination = job["destination"]
    batches = destination.get("batches")
    metrics = job.get("metrics", {})
    timings = [value for value in metrics.values() if isinstance(value, dict)]
    errors = job.get("errors", [])

    if "dataSetId" in destination:
        markers.add("dataSetId")
    if isinstance(batches, dict):
        markers.add("batches as one object")
    if isinstance(batches, list) and any(isinstance(batch["status"], str) for batch in batches):
        markers.add("batch status as a string")
    if isinstance(job["id"], float):
        markers.add("id as a float")
    if isinstance(job.get("mergePolicy", {}).get("version"), float):
        markers.add("merge policy version as a float")
    if any(isinstance(number, float) for timing in timings for number in timing.values()):
        markers.add("metrics as floats")
    if job["status"] == "SUCCEEDED" and errors:
        markers.add("errors on a succeeded job")
    if any(error["code"] == "unknown" for error in errors):
        markers.add("error code unknown")
    if destination.get("batchId") == "":
        markers.add("empty batch id")
    if job["computeGatewayJobId"] == {}:
        markers.add("empty compute gateway job id")
    if any(segment["segmentNs"] != "ups" for segment in job["filter"]["segments"]):
        markers.add("other namespaces")
    if "sandbox" in job:
        markers.add("undocumented fields")
    return markers


ALL_MARKERS = {
    "dataSetId",
    "batches as one object",
    "batch status as a string",
    "id as a float",
    "merge policy version as a float",
    "metrics as floats",
    "errors on a succeeded job",
    "error code unknown",
    "empty batch id",
    "empty compute gateway job id",
    "other namespaces",
    "undocumented fields",
}


def test_seed_is_deterministic(clock: FakeClock) -> None:
    first = _seeded(clock, 500, seed=5)
    second = _seeded(clock, 500, seed=5)

    assert _jobs(first) == _jobs(second)


def test_other_seed_gives_other_jobs(clock: FakeClock) -> None:
    first = _seeded(clock, 50, seed=5)
    second = _seeded(clock, 50, seed=6)

    assert _jobs(first) != _jobs(second)


def test_seeded_ids_count_from_one(clock: FakeClock) -> None:
    emulator = _seeded(clock, 300)

    assert sorted(emulator.job_ids()) == list(range(1, 301))
    assert emulator.created_count == 0


def test_seeded_jobs_are_created_before_now(clock: FakeClock) -> None:
    jobs = _jobs(_seeded(clock, 1_000))
    creation_times = [job["creationTime"] for job in jobs]

    assert max(creation_times) < clock.now_ms
    assert len(set(creation_times)) == 1_000
    assert creation_times == sorted(creation_times, reverse=True)


def test_seeding_twice_keeps_times_unique(clock: FakeClock) -> None:
    emulator = _seeded(clock, 400)
    emulator.seed(400)
    jobs = _jobs(emulator)

    assert sorted(int(job["id"]) for job in jobs) == list(range(1, 801))
    assert len({job["creationTime"] for job in jobs}) == 800


def test_seed_rejects_negative_count(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="count must be >= 0, got -1"):
        emulator.seed(-1)


def test_seed_zero_adds_nothing(emulator: Emulator) -> None:
    emulator.seed(0)

    assert emulator.job_ids() == []


def test_seeded_statuses_are_mostly_succeeded(clock: FakeClock) -> None:
    statuses = Counter(job["status"] for job in _jobs(_seeded(clock, 2_000, failure_share=0.1)))

    assert statuses["NEW"] == 2
    assert statuses["PROCESSING"] == 2
    assert 140 < statuses["FAILED"] < 260
    assert statuses["SUCCEEDED"] == 2_000 - 4 - statuses["FAILED"]


def test_newest_seeded_jobs_are_in_flight(clock: FakeClock) -> None:
    emulator = _seeded(clock, 1_000)
    newest = [emulator.get_job(job_id) for job_id in emulator.job_ids()[:3]]
    statuses = [job["status"] for job in newest if job is not None]

    assert statuses[:2] == ["NEW", "PROCESSING"]
    assert statuses[2] in {"SUCCEEDED", "FAILED"}


def test_seeded_job_size_is_about_1_1_kb(clock: FakeClock) -> None:
    emulator = _seeded(clock, 2_000)
    sizes = [len(msgspec.json.encode(job)) for job in _jobs(emulator)]

    assert 1_050 < sum(sizes) / len(sizes) < 1_300


def test_documented_shape_without_variants(clock: FakeClock) -> None:
    jobs = _jobs(_seeded(clock, 1_000, variant_share=0.0))

    assert [job["id"] for job in jobs if _variant_markers(job)] == []
    assert all(isinstance(job["id"], int) for job in jobs)


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_variants_appear_at_configured_share(clock: FakeClock, share: float) -> None:
    jobs = _jobs(_seeded(clock, 2_000, variant_share=share))
    with_variants = sum(1 for job in jobs if _variant_markers(job))

    assert share - 0.04 < with_variants / len(jobs) < share + 0.04


@pytest.mark.parametrize("marker", sorted(ALL_MARKERS))
def test_each_variant_appears(clock: FakeClock, marker: str) -> None:
    jobs = _jobs(_seeded(clock, 1_000, variant_share=1.0, failure_share=0.3))
    counts = Counter(found for job in jobs for found in _variant_markers(job))

    assert counts[marker] >= 5


def test_float_ids_are_integral(clock: FakeClock) -> None:
    jobs = _jobs(_seeded(clock, 1_000, variant_share=1.0))
    float_ids = [job["id"] for job in jobs if isinstance(job["id"], float)]

    assert 0 < len(float_ids) < 150
    assert all(job_id.is_integer() for job_id in float_ids)


async def test_metrics_use_exponent_notation_on_the_wire(clock: FakeClock) -> None:
    emulator = _seeded(clock, 200, variant_share=1.0)
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert b'"startTimeInMs":1.' in response.content
    assert b"E+12" in response.content
    assert b'"version":1.0' in response.content


def test_seeded_jobs_follow_adobe_examples(clock: FakeClock) -> None:
    jobs = _jobs(_seeded(clock, 500, variant_share=0.0))
    succeeded = next(job for job in jobs if job["status"] == "SUCCEEDED")

    assert succeeded["jobType"] == "BATCH"
    assert succeeded["imsOrgId"] == "1BD6382559DF0C130A49422D@AdobeOrg"
    assert succeeded["schema"] == {"name": "_xdm.context.profile"}
    assert succeeded["profileInstanceId"] == "ups"
    assert len(succeeded["destination"]["datasetId"]) == 24
    assert set(succeeded["metrics"]) >= {
        "totalTime",
        "profileExportTime",
        "totalExportedProfileCounter",
        "exportedProfileByNamespaceCounter",
    }
    assert succeeded["updateTime"] == succeeded["metrics"]["totalTime"]["endTimeInMs"]
