"""The client against the emulator's injected faults: retried, or the right typed error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from aep_jobs import (
    DecodeError,
    Destination,
    ExportFilter,
    ExportJob,
    ExportJobRequest,
    ExportJobsClient,
    OutcomeUnknownError,
    PaginationError,
    RateLimitError,
    RetryPolicy,
    SchemaRef,
    SegmentFilter,
    ServerError,
    TransportError,
    TransportTimeoutError,
)
from aep_jobs.emulator import (
    IN_PROCESS_BASE_URL,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultRule,
    RateLimit,
    serve,
)

pytestmark = pytest.mark.anyio

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
LIST = "/export/jobs"
ONE_JOB = "/export/jobs/{id}"


class Sleeps:
    """A sleep function that returns at once and records each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(
    emulator: Emulator, sleeps: Sleeps, *, retry_creates: bool = False, **options: object
) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
        retry=RetryPolicy(sleep=sleeps, jitter=lambda: 1.0, retry_creates=retry_creates),
        **options,  # type: ignore[arg-type]
    )


def export_request(segment_id: str = "52c26d0d-45f2-47a2-ab30-ed06abc981ff") -> ExportJobRequest:
    return ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(segments=[SegmentFilter(segment_id=segment_id)]),
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def emulator() -> Emulator:
    emulator = Emulator()
    emulator.seed(300)
    return emulator


@pytest.fixture
async def client(emulator: Emulator, sleeps: Sleeps) -> AsyncIterator[ExportJobsClient]:
    async with make_client(emulator, sleeps) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# Faults that a retry gets past


@pytest.mark.parametrize(
    ("fault", "delay"),
    [
        (Fault.status(429, retry_after="2"), 2.0),
        (Fault.status(429), 0.5),
        (Fault.status(500), 0.5),
        (Fault.status(502), 0.5),
        (Fault.status(503, retry_after="1"), 1.0),
        (Fault.status(504), 0.5),
        (Fault.status(408), 0.5),
        (Fault.reset(), 0.5),
        (Fault.reset(after_processing=True), 0.5),
        (Fault.refuse(), 0.5),
        (Fault.not_json(), 0.5),
        (Fault.truncated(), 0.5),
        (Fault.reset_mid_body(), 0.5),
    ],
    ids=[
        "429-retry-after",
        "429",
        "500",
        "502",
        "503-retry-after",
        "504",
        "408",
        "reset",
        "reset-after",
        "refuse",
        "not-json",
        "truncated",
        "reset-mid-body",
    ],
)
async def test_get_retried_past_fault(
    emulator: Emulator, client: ExportJobsClient, sleeps: Sleeps, fault: Fault, delay: float
) -> None:
    job_id = emulator.job_ids()[0]
    rule = emulator.inject(FaultRule(fault, method="GET", route=ONE_JOB, limit=1))

    job = await client.get(job_id)

    assert job.id == job_id
    assert rule.fired == 1
    assert sleeps.delays == [delay]


async def test_lasting_fault_gives_typed_error(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    emulator.inject(FaultRule(Fault.status(503), method="GET", route=ONE_JOB))

    with pytest.raises(ServerError) as caught:
        await client.get(emulator.job_ids()[0])

    assert caught.value.status_code == 503
    assert caught.value.attempts == 4


async def test_lasting_bad_body_gives_decode_error(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    emulator.inject(FaultRule(Fault.not_json(), method="GET", route=ONE_JOB))

    with pytest.raises(DecodeError) as caught:
        await client.get(emulator.job_ids()[0])

    assert caught.value.status_code == 200
    assert caught.value.attempts == 4
    assert caught.value.body_prefix.startswith("<")


async def test_retry_after_past_cap_gives_up(emulator: Emulator, client: ExportJobsClient) -> None:
    rule = emulator.inject(FaultRule(Fault.status(429, retry_after="3600"), method="GET"))

    with pytest.raises(RateLimitError) as caught:
        await client.get(emulator.job_ids()[0])

    assert rule.fired == 1
    assert caught.value.retry_after == 3600.0


async def test_rate_limit_honoured(sleeps: Sleeps) -> None:
    clock = FakeClock()
    emulator = Emulator(EmulatorConfig(clock=clock, rate_limit=RateLimit(per_second=1, burst=1)))
    emulator.seed(10)

    async def advance(seconds: float) -> None:
        sleeps.delays.append(seconds)
        clock.now += seconds

    async with make_client(emulator, sleeps) as client:
        client_retry = RetryPolicy(sleep=advance, jitter=lambda: 1.0)
        first = await client.get(emulator.job_ids()[0], retry=client_retry)
        second = await client.get(emulator.job_ids()[1], retry=client_retry)

    assert first.id == emulator.job_ids()[0]
    assert second.id == emulator.job_ids()[1]
    assert emulator.stats.rate_limited == 1
    assert sleeps.delays == [1.0]


class FakeClock:
    """A clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------------------------
# Creates


async def test_lost_create_outcome_unknown(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", limit=1))
    request = export_request()

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create(request)

    assert caught.value.request == request
    assert isinstance(caught.value.__cause__, TransportError)
    assert emulator.created_count == 1
    assert len(emulator.lost_responses) == 1
    lost_job_id = emulator.lost_responses[0].job_id
    found = await find_created(client, request, caught.value.started_at)
    assert found is not None
    assert found.id == lost_job_id


async def test_unprocessed_create_found_absent(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    emulator.inject(FaultRule(Fault.reset(), method="POST", limit=1))
    request = export_request()

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create(request)

    assert emulator.created_count == 0
    assert await find_created(client, request, caught.value.started_at) is None


@pytest.mark.parametrize(
    "fault",
    [Fault.status(429, retry_after="1"), Fault.status(503), Fault.refuse()],
    ids=["429", "503", "refuse"],
)
async def test_safe_create_retried_once(
    emulator: Emulator, client: ExportJobsClient, fault: Fault
) -> None:
    rule = emulator.inject(FaultRule(fault, method="POST", limit=1))

    job = await client.create(export_request())

    assert rule.fired == 1
    assert job.status == "NEW"
    assert emulator.created_count == 1


async def test_opted_in_create_may_duplicate(emulator: Emulator, sleeps: Sleeps) -> None:
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", limit=1))

    async with make_client(emulator, sleeps, retry_creates=True) as client:
        job = await client.create(export_request())

    # The lost first attempt stored a job too: the caller accepted that by opting in.
    assert job.status == "NEW"
    assert emulator.created_count == 2
    assert emulator.lost_responses[0].job_id != job.id


async def test_stalled_create_times_out_unknown(emulator: Emulator, sleeps: Sleeps) -> None:
    emulator.inject(FaultRule(Fault.stall(30, after_processing=True), method="POST", limit=1))

    async with make_client(emulator, sleeps, timeout=httpx.Timeout(5.0, read=0.2)) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create(export_request())

    assert isinstance(caught.value.__cause__, TransportTimeoutError)
    assert emulator.created_count == 1


async def find_created(
    client: ExportJobsClient, request: ExportJobRequest, since_ms: int
) -> ExportJob | None:
    """Return the job that ``request`` created at ``since_ms`` or later, if there is one.

    This is the reconciliation that docs/errors-and-retries.md describes.
    """
    wanted = {s.segment_id for s in (request.filter.segments or [])} if request.filter else set()
    async for job in client.iter_jobs():
        if (job.creation_time or 0) < since_ms - 60_000:
            return None
        dataset = job.destination.dataset_id if job.destination else None
        segments = {s.segment_id for s in job.filter.segments} if job.filter else set()
        if dataset == request.destination.dataset_id and segments == wanted:
            return job
    return None


# ---------------------------------------------------------------------------------------------
# Listings


async def drain(jobs: AsyncIterator[ExportJob], ids: list[int]) -> None:
    """Append the id of every job to ``ids`` until the iterator ends or raises."""
    async for job in jobs:
        ids.append(job.id)


async def test_listing_survives_ten_percent_faults(sleeps: Sleeps) -> None:
    emulator = Emulator(EmulatorConfig(variant_share=0.2))
    emulator.seed(20_000)
    expected = emulator.job_ids()
    faults = [
        Fault.status(503),
        Fault.status(429, retry_after="1"),
        Fault.reset(),
        Fault.truncated(),
        Fault.reset_mid_body(),
    ]
    # Five rules at 2% each: about one listing request in ten meets a fault.
    rules = [
        emulator.inject(FaultRule(fault, method="GET", route=LIST, share=0.02)) for fault in faults
    ]

    async with make_client(emulator, sleeps) as client:
        ids = [job.id async for job in client.iter_jobs(page_size=100)]

    fired = sum(rule.fired for rule in rules)
    assert ids == expected
    assert 10 <= fired <= 40
    assert len(sleeps.delays) == fired


async def test_repeated_cursor_stops_listing(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.inject(FaultRule(Fault.repeated_cursor(), method="GET", route=LIST, requests={2}))
    ids: list[int] = []

    with pytest.raises(PaginationError) as caught:
        await drain(client.iter_jobs(page_size=100), ids)

    assert ids == emulator.job_ids()[:200]
    assert "a second time" in str(caught.value)


async def test_foreign_next_link_not_followed(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.inject(FaultRule(Fault.foreign_next_link(), method="GET", route=LIST, requests={1}))
    ids: list[int] = []

    with pytest.raises(PaginationError) as caught:
        await drain(client.iter_jobs(page_size=100), ids)

    assert ids == emulator.job_ids()[:100]
    assert "leads to another origin" in str(caught.value)
    assert emulator.stats.total_requests == 1


async def test_lasting_page_fault_resumes_exactly(
    emulator: Emulator, client: ExportJobsClient
) -> None:
    rule = emulator.inject(
        FaultRule(Fault.status(500), method="GET", route=LIST, requests={2, 3, 4, 5})
    )
    first = client.iter_jobs(page_size=100)
    seen: list[int] = []

    with pytest.raises(ServerError) as caught:
        await drain(first, seen)

    rest = [job.id async for job in client.iter_jobs(page_size=100, offset=caught.value.cursor)]
    assert rule.fired == 4
    assert caught.value.cursor == first.cursor
    assert seen + rest == emulator.job_ids()


async def test_stalled_page_times_out_naming_page(sleeps: Sleeps) -> None:
    emulator = Emulator()
    emulator.seed(300)
    emulator.inject(FaultRule(Fault.stall(30), method="GET", route=LIST, requests={2, 3, 4, 5}))

    with serve(emulator) as server:
        async with ExportJobsClient(
            org_id=ORG_ID,
            api_key="key",
            sandbox="prod",
            token="token",
            base_url=server.base_url,
            timeout=httpx.Timeout(5.0, read=0.2),
            retry=RetryPolicy(sleep=sleeps),
        ) as client:
            jobs = client.iter_jobs(page_size=100)
            with pytest.raises(TransportTimeoutError) as caught:
                await drain(jobs, [])

    assert caught.value.operation.startswith("list export jobs (page 2, offset ")
    assert caught.value.attempts == 4
    assert jobs.jobs_read == 100
