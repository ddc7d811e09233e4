"""Waiting for export jobs to finish, one at a time and many at a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from aep_jobs import (
    Destination,
    ExportJobRequest,
    ExportJobsClient,
    JobFailedError,
    NotFoundError,
    RequestValidationError,
    SchemaRef,
    WaitTimeoutError,
)
from aep_jobs.emulator import IN_PROCESS_BASE_URL, Emulator, EmulatorConfig

pytestmark = pytest.mark.anyio

REQUEST = ExportJobRequest(
    destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
    schema=SchemaRef(name="_xdm.context.profile"),
)


def make_emulator(failure_share: float = 0.0) -> Emulator:
    # Jobs finish 0.2 s after they are created, on the real clock.
    return Emulator(
        EmulatorConfig(processing_after=0.05, finish_after=0.2, failure_share=failure_share)
    )


@pytest.fixture
def emulator() -> Emulator:
    return make_emulator()


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[ExportJobsClient]:
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
    ) as client:
        yield client


async def test_wait_returns_finished_job(client: ExportJobsClient) -> None:
    created = await client.create(REQUEST)

    with anyio.fail_after(10):
        job = await client.wait(created.id, poll_interval=0.02, max_poll_interval=0.05)

    assert job.id == created.id
    assert job.status == "SUCCEEDED"
    assert job.is_finished


async def test_wait_timeout_reports_status(client: ExportJobsClient) -> None:
    created = await client.create(REQUEST)

    with pytest.raises(WaitTimeoutError) as caught:
        await client.wait(created.id, timeout=0.02, poll_interval=0.01)

    assert caught.value.job_id == str(created.id)
    assert caught.value.last_status in ("NEW", "PROCESSING")
    assert str(caught.value).startswith(f"Export job {created.id} did not finish within 0.")
    assert re.search(r"within \d+\.\d s \(last seen (NEW|PROCESSING)\)", str(caught.value))


async def test_wait_failed_job_returned() -> None:
    emulator = make_emulator(failure_share=1.0)
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
    ) as client:
        created = await client.create(REQUEST)
        with anyio.fail_after(10):
            returned = await client.wait(created.id, poll_interval=0.02)
        with anyio.fail_after(10), pytest.raises(JobFailedError) as caught:
            await client.wait(created.id, poll_interval=0.02, raise_on_failure=True)

    assert returned.status == "FAILED"
    assert caught.value.job.id == created.id
    assert str(caught.value).startswith(f"Export job {created.id} failed (")


async def test_wait_cancelled_job_finishes(client: ExportJobsClient) -> None:
    created = await client.create(REQUEST)
    await client.cancel(created.id)

    job = await client.wait(created.id, poll_interval=0.01)

    assert job.status == "CANCELLED"


async def test_wait_unknown_job_not_found(client: ExportJobsClient) -> None:
    with pytest.raises(NotFoundError):
        await client.wait(987654, poll_interval=0.01)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"max_poll_interval": float("nan")}, "max_poll_interval"),
    ],
)
async def test_wait_arguments_checked(
    client: ExportJobsClient, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.wait(1, **options)

    assert caught.value.field == field


async def test_wait_many_yields_each_once(emulator: Emulator, client: ExportJobsClient) -> None:
    created = [await client.create(REQUEST) for _ in range(30)]
    await client.cancel(created[0].id)

    with anyio.fail_after(20):
        async with client.wait_many(
            (job.id for job in created), max_concurrency=4, poll_interval=0.02
        ) as finished:
            jobs = [job async for job in finished]

    assert sorted(job.id for job in jobs) == sorted(job.id for job in created)
    assert all(job.is_finished for job in jobs)
    assert emulator.stats.peak_in_flight <= 4


async def test_wait_many_async_input(client: ExportJobsClient) -> None:
    created = [await client.create(REQUEST) for _ in range(5)]

    async def ids() -> AsyncIterator[int]:
        for job in created:
            yield job.id

    with anyio.fail_after(20):
        async with client.wait_many(ids(), poll_interval=0.02) as finished:
            count = len([job async for job in finished])

    assert count == 5


async def test_wait_many_error_raised(client: ExportJobsClient) -> None:
    async def read_all() -> None:
        async with client.wait_many([987654], poll_interval=0.01) as finished:
            async for _ in finished:
                pass

    with pytest.raises(NotFoundError):
        await read_all()


async def test_wait_many_needs_context_manager(client: ExportJobsClient) -> None:
    finished = client.wait_many([1])

    with pytest.raises(RuntimeError) as caught:
        await finished.__anext__()

    assert "must be used as 'async with client.wait_many(...) as finished:'" in str(caught.value)


async def test_wait_many_stops_polling_on_exit(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    created = await client.create(REQUEST)

    with anyio.move_on_after(0.1):
        async with client.wait_many([created.id], poll_interval=10) as finished:
            async for _ in finished:
                pass
    requests = emulator.stats.total_requests
    await anyio.sleep(0.3)

    assert emulator.stats.total_requests == requests


async def test_wait_on_poll_sees_each_status(client: ExportJobsClient) -> None:
    created = await client.create(REQUEST)
    seen: list[tuple[int, str]] = []

    with anyio.fail_after(10):
        job = await client.wait(
            created.id,
            poll_interval=0.01,
            max_poll_interval=0.02,
            on_poll=lambda polled: seen.append((polled.id, polled.status)),
        )

    assert len(seen) >= 2
    assert {job_id for job_id, _ in seen} == {created.id}
    assert seen[0][1] in ("NEW", "PROCESSING")
    assert seen[-1] == (created.id, job.status)


async def test_wait_on_poll_must_be_callable(client: ExportJobsClient) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.wait(1, on_poll="print")  # type: ignore[arg-type]

    assert caught.value.field == "on_poll"
    assert str(caught.value) == "Invalid on_poll 'print': expected a function that takes a job"


async def test_wait_many_continues_after_error(client: ExportJobsClient) -> None:
    created = [await client.create(REQUEST) for _ in range(3)]
    polled: set[int] = set()
    jobs: list[int] = []
    errors: list[NotFoundError] = []

    with anyio.fail_after(20):
        async with client.wait_many(
            [987654, *(job.id for job in created)],
            poll_interval=0.02,
            on_poll=lambda job: polled.add(job.id),
        ) as finished:
            while True:
                try:
                    async for job in finished:
                        jobs.append(job.id)
                except NotFoundError as error:
                    errors.append(error)
                    continue
                break

    assert sorted(jobs) == sorted(job.id for job in created)
    assert len(errors) == 1
    assert errors[0].job_id == "987654"
    assert polled == {job.id for job in created}


async def test_get_and_cancel_errors_carry_job_id(client: ExportJobsClient) -> None:
    with pytest.raises(NotFoundError) as get_error:
        await client.get(987654)
    with pytest.raises(NotFoundError) as cancel_error:
        await client.cancel("987655")

    assert get_error.value.job_id == "987654"
    assert cancel_error.value.job_id == "987655"
