"""Listings that decode into a projection, and listings that fetch pages ahead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import msgspec
import pytest

from aep_jobs import (
    ExportJobsClient,
    RequestValidationError,
    RetryPolicy,
    ServerError,
)
from aep_jobs.emulator import IN_PROCESS_BASE_URL, Emulator, Fault, FaultRule

pytestmark = pytest.mark.anyio


class JobSummary(msgspec.Struct, rename="camel"):
    """A projection: the three fields a dashboard needs."""

    id: int
    status: str
    creation_time: int


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def emulator() -> Emulator:
    emulator = Emulator()
    emulator.seed(1_000)
    return emulator


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[ExportJobsClient]:
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
        retry=RetryPolicy(sleep=no_sleep),
    ) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# Projections


async def test_projection_yields_own_struct(emulator: Emulator, client: ExportJobsClient) -> None:
    summaries = [job async for job in client.iter_jobs(job_type=JobSummary, page_size=250)]

    assert [summary.id for summary in summaries] == emulator.job_ids()
    assert all(type(summary) is JobSummary for summary in summaries)
    first = emulator.get_job(summaries[0].id)
    assert first is not None
    assert summaries[0].status == first["status"]
    assert summaries[0].creation_time == first["creationTime"]


async def test_projection_of_one_page(emulator: Emulator, client: ExportJobsClient) -> None:
    page = await client.list_page(limit=10, job_type=JobSummary)

    assert [job.id for job in page.records] == emulator.job_ids()[:10]
    assert page.next_link is not None


async def test_projection_must_be_struct(client: ExportJobsClient) -> None:
    with pytest.raises(RequestValidationError) as caught:
        client.iter_jobs(job_type=dict)

    assert caught.value.field == "job_type"
    assert caught.value.problem == (
        "expected a msgspec.Struct class, e.g. ExportJob or a projection of your own"
    )


# ---------------------------------------------------------------------------------------------
# Prefetch


async def test_prefetch_yields_same_jobs(emulator: Emulator, client: ExportJobsClient) -> None:
    async with client.iter_jobs(page_size=100, prefetch=2) as jobs:
        ids = [job.id async for job in jobs]

    assert ids == emulator.job_ids()
    assert jobs.pages.pages_read == 10
    assert jobs.cursor is None


async def test_prefetch_pages_keep_positions(emulator: Emulator, client: ExportJobsClient) -> None:
    offsets = []
    async with client.iter_pages(page_size=300, prefetch=3) as pages:
        async for page in pages:
            offsets.append((pages.page_offset, pages.cursor, len(page.records)))

    assert [count for _, _, count in offsets] == [300, 300, 300, 100]
    assert offsets[0][0] is None
    assert offsets[1][0] == offsets[0][1]
    assert offsets[-1][1] is None


async def test_prefetch_needs_context_manager(client: ExportJobsClient) -> None:
    pages = client.iter_pages(prefetch=1)

    with pytest.raises(RuntimeError) as caught:
        await pages.__anext__()

    assert "must be used inside 'async with'" in str(caught.value)
    assert "async with client.iter_jobs(prefetch=2) as jobs:" in str(caught.value)


async def test_prefetch_stops_after_break(emulator: Emulator, client: ExportJobsClient) -> None:
    async with client.iter_jobs(page_size=100, prefetch=2) as jobs:
        async for job in jobs:
            last = job
            if jobs.jobs_read == 150:
                break
    requests_at_exit = emulator.stats.total_requests

    await anyio.sleep(0.05)

    # Two pages read, at most two fetched ahead, and nothing after the block closed.
    assert requests_at_exit <= 4
    assert emulator.stats.total_requests == requests_at_exit
    assert last.id == emulator.job_ids()[149]


async def test_prefetch_error_after_good_pages(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    emulator.inject(FaultRule(Fault.status(500), method="GET", requests={3, 4, 5, 6}))
    ids: list[int] = []

    async def read_all() -> None:
        async with client.iter_jobs(page_size=100, prefetch=2) as jobs:
            async for job in jobs:
                ids.append(job.id)

    with pytest.raises(ServerError) as caught:
        await read_all()

    assert ids == emulator.job_ids()[:200]
    assert caught.value.cursor is not None
    rest = [job.id async for job in client.iter_jobs(page_size=100, offset=caught.value.cursor)]
    assert ids + rest == emulator.job_ids()


async def test_prefetch_cancelled_cleanly(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.inject(FaultRule(Fault.stall(30), method="GET", requests={2}))
    ids: list[int] = []

    with anyio.move_on_after(0.3) as scope:
        async with client.iter_jobs(page_size=100, prefetch=1) as jobs:
            async for job in jobs:
                ids.append(job.id)

    assert scope.cancelled_caught
    assert ids == emulator.job_ids()[:100]
