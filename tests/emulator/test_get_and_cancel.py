"""Getting one job and cancelling jobs, in both cancel response styles."""

from __future__ import annotations

import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


async def test_get_returns_job(emulator: Emulator) -> None:
    emulator.seed(5)
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs/3")

    assert response.status_code == 200
    assert response.json() == emulator.get_job(3)
    assert response.json()["id"] == 3


@pytest.mark.parametrize("job_id", ["722", "abc", "722.0", "-1", "+3"])
async def test_get_unknown_job_is_404(emulator: Emulator, job_id: str) -> None:
    emulator.seed(5)
    async with api_client(emulator) as client:
        response = await client.get(f"/export/jobs/{job_id}", headers={"x-request-id": "req-404"})

    assert response.status_code == 404
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1004-404",
        "title": "Not Found",
        "status": 404,
        "detail": f"Export job {job_id} not found",
        "requestId": "req-404",
        "errors": {
            "404": [{"code": "EXPORT_JOB_NOT_FOUND", "message": f"Export job {job_id} not found"}]
        },
    }


def test_get_job_of_unknown_id_is_none(emulator: Emulator) -> None:
    assert emulator.get_job(1) is None


async def test_cancel_new_job_answers_with_body(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        response = await client.delete("/export/jobs/1")

    assert response.status_code == 200
    assert response.json() == {
        "status": True,
        "message": "Export job has been marked for cancelling",
    }


async def test_cancel_with_empty_style_is_204(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, cancel_style="empty"))
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        response = await client.delete("/export/jobs/1")

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_cancelled_job_has_cancelled_status(emulator: Emulator, clock: FakeClock) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        clock.advance(0.25)
        await client.delete("/export/jobs/1")
        job = (await client.get("/export/jobs/1")).json()

    assert job["status"] == "CANCELLED"
    assert job["updateTime"] == clock.now_ms


async def test_cancel_processing_job(emulator: Emulator, clock: FakeClock) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        clock.advance(1)
        before = (await client.get("/export/jobs/1")).json()
        response = await client.delete("/export/jobs/1")

    assert before["status"] == "PROCESSING"
    assert response.status_code == 200
    assert emulator.get_job(1) == {**before, "status": "CANCELLED", "updateTime": clock.now_ms}


async def test_cancelled_job_stays_cancelled(emulator: Emulator, clock: FakeClock) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        await client.delete("/export/jobs/1")
        clock.advance(60)
        job = (await client.get("/export/jobs/1")).json()

    assert job["status"] == "CANCELLED"


async def test_cancel_cancelled_job_again_succeeds(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        first = await client.delete("/export/jobs/1")
        second = await client.delete("/export/jobs/1")

    assert first.status_code == 200
    assert second.status_code == 200


@pytest.mark.parametrize(("failure_share", "status"), [(0.0, "SUCCEEDED"), (1.0, "FAILED")])
async def test_cancel_finished_job_is_400(
    clock: FakeClock, failure_share: float, status: str
) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, failure_share=failure_share))
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        clock.advance(5)
        response = await client.delete("/export/jobs/1", headers={"x-request-id": "req-done"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1003-400",
        "title": "Bad Request",
        "status": 400,
        "detail": f"Export job 1 already finished with status {status} and cannot be cancelled.",
        "requestId": "req-done",
    }
    job = emulator.get_job(1)
    assert job is not None
    assert job["status"] == status


@pytest.mark.parametrize("job_id", ["722", "abc"])
async def test_cancel_unknown_job_is_404(emulator: Emulator, job_id: str) -> None:
    async with api_client(emulator) as client:
        response = await client.delete(f"/export/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json()["detail"] == f"Export job {job_id} not found"


async def test_cancelled_job_listed_under_its_status(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        await client.post("/export/jobs", json=create_body())
        await client.delete("/export/jobs/1")
        cancelled = (await client.get("/export/jobs", params={"status": "CANCELLED"})).json()
        new = (await client.get("/export/jobs", params={"status": "NEW"})).json()

    assert [record["id"] for record in cancelled["records"]] == [1]
    assert [record["id"] for record in new["records"]] == [2]
