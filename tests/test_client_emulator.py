"""The client against the emulator: in-process, and over a real loopback socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aep_jobs import (
    AuthenticationError,
    Destination,
    ExportFilter,
    ExportJobRequest,
    ExportJobsClient,
    JobStatus,
    NotFoundError,
    SchemaRef,
    SegmentFilter,
)
from aep_jobs.emulator import IN_PROCESS_BASE_URL, Emulator, EmulatorConfig, serve

pytestmark = pytest.mark.anyio

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"


class FakeClock:
    """A clock that moves only when a test advances it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def make_client(
    emulator: Emulator, *, token: str = "token", page_size: int = 100
) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="key",
        sandbox="prod",
        token=token,
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
        page_size=page_size,
    )


def export_request(segment_id: str = "52c26d0d-45f2-47a2-ab30-ed06abc981ff") -> ExportJobRequest:
    return ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(segments=[SegmentFilter(segment_id=segment_id, status=["realized"])]),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    return Emulator(EmulatorConfig(clock=clock, processing_after=1.0, finish_after=5.0))


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[ExportJobsClient]:
    async with make_client(emulator) as client:
        yield client


async def test_ten_thousand_jobs_once_in_order(emulator: Emulator) -> None:
    emulator.seed(10_000)
    async with make_client(emulator, page_size=357) as client:
        ids = [job.id async for job in client.iter_jobs()]

    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    assert ids == emulator.job_ids()


async def test_pages_newest_first(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.seed(1_000)
    times = [job.creation_time or 0 async for job in client.iter_jobs()]

    assert min(times) > 0
    assert times == sorted(times, reverse=True)


async def test_status_filter_across_pages(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.seed(3_000)
    expected = [
        job_id
        for job_id in emulator.job_ids()
        if (job := emulator.get_job(job_id)) is not None and job["status"] == "FAILED"
    ]

    ids = [job.id async for job in client.iter_jobs(status="FAILED", page_size=50)]

    assert len(expected) > 50
    assert ids == expected


async def test_server_page_cap_still_complete(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, max_page_size=40))
    emulator.seed(1_000)
    async with make_client(emulator, page_size=500) as client:
        pages = client.iter_pages()
        ids = [job.id async for page in pages for job in page.records]

    assert ids == emulator.job_ids()
    assert pages.pages_read == 25


async def test_every_variant_spelling_decodes(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, variant_share=1.0))
    emulator.seed(500)
    async with make_client(emulator) as client:
        jobs = [job async for job in client.iter_jobs()]

    assert len(jobs) == 500
    assert all(job.destination is not None for job in jobs)
    assert all(job.destination.dataset_id for job in jobs if job.destination)


async def test_max_items_stops_early(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.seed(1_000)
    ids = [job.id async for job in client.iter_jobs(max_items=150)]

    assert ids == emulator.job_ids()[:150]


async def test_resume_from_cursor(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.seed(1_000)
    pages = client.iter_pages(page_size=100, max_pages=3)
    head = [job.id async for page in pages for job in page.records]
    rest = [job.id async for job in client.iter_jobs(page_size=100, offset=pages.cursor)]

    assert head + rest == emulator.job_ids()


async def test_create_get_cancel(
    emulator: Emulator, client: ExportJobsClient, clock: FakeClock
) -> None:
    created = await client.create(export_request(), profile_instance_id="ups")

    assert created.status == JobStatus.NEW
    assert created.profile_instance_id == "ups"
    assert created.destination is not None
    assert created.destination.dataset_id == "5b7c86968f7b6501e21ba9df"
    assert emulator.created_count == 1

    clock.now += 2.0
    fetched = await client.get(created.id)
    assert fetched.status == JobStatus.PROCESSING

    result = await client.cancel(created.id)
    assert result.status is True
    assert (await client.get(created.id)).status == "CANCELLED"


async def test_created_job_finishes(
    emulator: Emulator, client: ExportJobsClient, clock: FakeClock
) -> None:
    job = await client.create(export_request())
    clock.now += 10.0

    finished = await client.get(job.id)

    assert finished.is_finished
    assert finished.status in ("SUCCEEDED", "FAILED")


async def test_cancel_without_body(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, cancel_style="empty"))
    async with make_client(emulator) as client:
        job = await client.create(export_request())
        result = await client.cancel(job.id)

    assert result.status is True
    assert result.message is None


async def test_unknown_job_not_found(client: ExportJobsClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get(987654321)

    assert caught.value.status_code == 404
    assert "987654321" in caught.value.message


async def test_rejected_token_is_authentication_error(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, access_tokens={"good-token"}))
    async with make_client(emulator, token="bad-token") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_page(limit=1)

    assert caught.value.code == "401013"
    assert caught.value.message == "Oauth token is not valid"


async def test_over_loopback_socket() -> None:
    emulator = Emulator()
    emulator.seed(2_000)
    expected = emulator.job_ids()
    with serve(emulator) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        async with ExportJobsClient(
            org_id=ORG_ID, api_key="key", sandbox="prod", token="token", base_url=server.base_url
        ) as client:
            ids = [job.id async for job in client.iter_jobs(page_size=250)]
            created = await client.create(export_request())

    assert ids == expected
    assert created.status == "NEW"
    assert emulator.job_ids()[0] == created.id


@pytest.mark.parametrize("stop_after", [1, 99, 100, 101, 250, 999])
async def test_resume_after_break_exact(
    emulator: Emulator, client: ExportJobsClient, stop_after: int
) -> None:
    emulator.seed(1_000)
    first = client.iter_jobs(page_size=100)
    head = []
    async for job in first:
        head.append(job.id)
        if len(head) == stop_after:
            break

    rest = [job.id async for job in client.iter_jobs(offset=first.cursor, skip=first.skip)]

    assert head + rest == emulator.job_ids()


async def test_resume_after_max_items_exact(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.seed(1_000)
    first = client.iter_jobs(page_size=100, max_items=250)
    head = [job.id async for job in first]

    rest = [job.id async for job in client.iter_jobs(offset=first.cursor, skip=first.skip)]

    assert first.cursor is not None
    assert first.skip == 50
    assert head + rest == emulator.job_ids()


async def test_cancelled_job_is_finished(emulator: Emulator, client: ExportJobsClient) -> None:
    job = await client.create(export_request())
    await client.cancel(job.id)

    cancelled = await client.get(job.id)

    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.is_finished is True
