"""Bulk creates and cancels against the emulator, in-process and over a loopback server."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import anyio
import anyio.lowlevel
import pytest

from aep_jobs import (
    BulkOutcome,
    BulkProgress,
    BulkRun,
    DecodeError,
    Destination,
    ExportFilter,
    ExportJob,
    ExportJobRequest,
    ExportJobsClient,
    NotFoundError,
    OutcomeStatus,
    OutcomeUnknownError,
    RateLimitError,
    RequestValidationError,
    RetryPolicy,
    SchemaRef,
    SegmentFilter,
    collect,
)
from aep_jobs.bulk._pools import REQUESTS_PER_POOL, pool_count
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
DATASET_ID = "5b7c86968f7b6501e21ba9df"


class FakeTime:
    """A clock for the emulator whose sleep, given to the bulk run, moves it at once."""

    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


async def no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


def make_client(
    emulator: Emulator, *, base_url: str = IN_PROCESS_BASE_URL, **options: Any
) -> ExportJobsClient:
    transport = emulator.transport() if base_url == IN_PROCESS_BASE_URL else None
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=base_url,
        transport=transport,
        **options,
    )


def export_request(segment_id: str) -> ExportJobRequest:
    return ExportJobRequest(
        destination=Destination(dataset_id=DATASET_ID),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(segments=[SegmentFilter(segment_id=segment_id, status=["realized"])]),
    )


def segment_ids(count: int, prefix: str = "segment") -> list[str]:
    return [f"{prefix}-{number:05d}" for number in range(count)]


def created_segments(emulator: Emulator) -> list[str]:
    """Return the segment id of every job the emulator holds, one entry per job."""
    segments: list[str] = []
    for job_id in emulator.job_ids():
        job = emulator.get_job(job_id)
        assert job is not None
        segments.extend(segment["segmentId"] for segment in job["filter"]["segments"])
    return segments


def outcome_segment(outcome: BulkOutcome[ExportJobRequest]) -> str:
    request_filter = outcome.input.filter
    assert request_filter is not None
    assert request_filter.segments is not None
    return request_filter.segments[0].segment_id


async def consume(
    run: BulkRun[Any], into: list[BulkOutcome[Any]], fail_with: Exception | None = None
) -> None:
    """Iterate over a run inside its block, raising ``fail_with`` at the first outcome."""
    async with run:
        async for outcome in run:
            if fail_with is not None:
                raise fail_with
            into.append(outcome)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


# ---------------------------------------------------------------------------------------------
# Limits and completeness


async def test_two_thousand_creates_bounded() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.005, request_log_size=0))
    wanted = segment_ids(2000)
    async with make_client(emulator) as client:
        summary = await collect(
            client.create_many([export_request(s) for s in wanted], max_concurrency=32)
        )

    assert emulator.stats.peak_in_flight <= 32
    assert emulator.stats.peak_in_flight > 8
    assert summary.total == 2000
    assert [outcome.index for outcome in summary.succeeded] == list(range(2000))
    assert summary.counts[OutcomeStatus.CREATED] == 2000
    assert emulator.created_count == 2000
    assert sorted(created_segments(emulator)) == wanted
    assert summary.rate_limited == 0


async def test_creates_over_loopback_server() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.005))
    wanted = segment_ids(300)
    with serve(emulator) as server:
        async with make_client(emulator, base_url=server.base_url) as client:
            assert pool_count(client, 32) == 32 // REQUESTS_PER_POOL
            summary = await collect(
                client.create_many([export_request(s) for s in wanted], max_concurrency=32)
            )

    assert emulator.stats.peak_in_flight <= 32
    assert summary.counts[OutcomeStatus.CREATED] == 300
    assert emulator.created_count == 300
    assert sorted(created_segments(emulator)) == wanted


async def test_one_outcome_per_input_as_they_finish() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.002))
    async with (
        make_client(emulator) as client,
        client.create_many(
            [export_request(s) for s in segment_ids(100)], max_concurrency=10
        ) as outcomes,
    ):
        indexes = [outcome.index async for outcome in outcomes]
        assert outcomes.total == 100

    assert sorted(indexes) == list(range(100))


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "8"])
async def test_max_concurrency_invalid(value: object) -> None:
    async with make_client(Emulator()) as client:
        with pytest.raises(RequestValidationError) as caught:
            client.create_many([], max_concurrency=cast(int, value))

    assert caught.value.field == "max_concurrency"
    assert "expected a positive integer" in str(caught.value)


async def test_max_concurrency_above_pool() -> None:
    async with make_client(Emulator(), max_connections=20) as client:
        with pytest.raises(RequestValidationError) as caught:
            client.cancel_many([1], max_concurrency=21)

    message = str(caught.value)
    assert "21" in message
    assert "max_connections (20)" in message
    assert "max_concurrency=20 or less" in message
    assert "max_connections=21" in message


@pytest.mark.parametrize("value", [0, -5.0, math.inf, math.nan, "10"])
async def test_max_per_second_invalid(value: object) -> None:
    async with make_client(Emulator()) as client:
        with pytest.raises(RequestValidationError) as caught:
            client.create_many([], max_per_second=cast(float, value))

    assert caught.value.field == "max_per_second"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"reconcile_slack": -1.0}, "reconcile_slack"),
        ({"reconcile_slack": math.nan}, "reconcile_slack"),
        ({"retry": 3}, "retry"),
    ],
    ids=["negative-slack", "nan-slack", "retry-not-policy"],
)
async def test_other_options_invalid(options: dict[str, Any], field: str) -> None:
    async with make_client(Emulator()) as client:
        with pytest.raises(RequestValidationError) as caught:
            client.create_many([], **options)

    assert caught.value.field == field


async def test_max_per_second_spaces_requests() -> None:
    emulator = Emulator()
    async with make_client(emulator) as client:
        started = anyio.current_time()
        summary = await collect(
            client.create_many([export_request(s) for s in segment_ids(21)], max_per_second=200)
        )
        elapsed = anyio.current_time() - started

    assert summary.counts[OutcomeStatus.CREATED] == 21
    # 21 requests spaced 5 ms apart cannot take less than 20 intervals.
    assert elapsed >= 20 / 200


# ---------------------------------------------------------------------------------------------
# Rate limits: one pause for every worker, AIMD on the concurrency


async def test_rate_limit_every_create_succeeds_once(fake_time: FakeTime) -> None:
    count, per_second, concurrency = 600, 100, 32
    emulator = Emulator(
        EmulatorConfig(
            clock=fake_time,
            latency=0.002,
            rate_limit=RateLimit(per_second=per_second, burst=per_second),
        )
    )
    wanted = segment_ids(count)
    async with make_client(emulator) as client:
        run = client.create_many(
            [export_request(s) for s in wanted],
            max_concurrency=concurrency,
            retry=RetryPolicy(sleep=fake_time.sleep),
        )
        summary = await collect(run)

    assert summary.counts[OutcomeStatus.CREATED] == count
    assert emulator.created_count == count
    assert sorted(created_segments(emulator)) == wanted
    # The emulator sends Retry-After: 1, and a second refills 100 tokens, so the 500
    # creates beyond the first burst need 5 pauses (6, as a pause measured on the monotonic
    # clock lasts a little less than the second it was asked for). Each pause starts with
    # one 429, and only requests in flight then (at most max_concurrency) get one as well.
    pauses_needed = math.ceil((count - per_second) / per_second) + 1
    assert len(fake_time.slept) <= pauses_needed
    assert all(seconds > 0.99 for seconds in fake_time.slept)
    assert emulator.stats.rate_limited <= len(fake_time.slept) * concurrency
    assert summary.rate_limited == emulator.stats.rate_limited
    assert sum(outcome.sends - 1 for outcome in summary.succeeded) == summary.rate_limited


async def test_rate_limit_halves_concurrency(fake_time: FakeTime) -> None:
    emulator = Emulator(
        EmulatorConfig(clock=fake_time, latency=0.002, rate_limit=RateLimit(50, burst=50))
    )
    seen: list[BulkProgress] = []
    async with make_client(emulator) as client:
        await collect(
            client.create_many(
                [export_request(s) for s in segment_ids(120)],
                max_concurrency=16,
                progress=seen.append,
                retry=RetryPolicy(sleep=fake_time.sleep),
            )
        )

    limits = [progress.concurrency for progress in seen]
    first_drop = next(index for index, limit in enumerate(limits) if limit < 16)
    assert limits[0] == 16
    assert limits[first_drop] == 8
    # Each window of successes adds one slot back.
    assert max(limits[first_drop:]) > 8
    assert all(abs(b - a) <= 1 or b == a // 2 for a, b in itertools.pairwise(limits))
    assert seen[-1].rate_limited == emulator.stats.rate_limited


async def test_rate_limit_without_retry_after(fake_time: FakeTime) -> None:
    emulator = Emulator()
    emulator.inject(FaultRule(Fault.status(429), method="POST", requests={1, 2}))
    async with make_client(emulator) as client:
        summary = await collect(
            client.create_many(
                [export_request(s) for s in segment_ids(5)],
                max_concurrency=1,
                retry=RetryPolicy(sleep=fake_time.sleep),
            )
        )

    assert summary.counts[OutcomeStatus.CREATED] == 5
    # Without Retry-After the pause starts at 0.5 s and doubles while no request succeeds.
    assert fake_time.slept == pytest.approx([0.5, 1.0], abs=0.01)
    assert summary.succeeded[0].sends == 3


async def test_retry_after_too_long_fails_rest() -> None:
    emulator = Emulator()
    emulator.inject(FaultRule(Fault.status(429, retry_after=600), method="POST"))
    async with make_client(emulator) as client:
        summary = await collect(
            client.create_many(
                [export_request(s) for s in segment_ids(50)],
                max_concurrency=4,
                retry=RetryPolicy(max_retry_after=60, sleep=no_wait),
            )
        )

    assert summary.counts[OutcomeStatus.FAILED] == 50
    assert all(isinstance(outcome.error, RateLimitError) for outcome in summary.failed)
    note = summary.failed[0].error.retry_note if summary.failed[0].error else None
    assert note is not None
    assert "600 s, more than the 60 s" in note
    # Only the requests sent before the first 429 came back were sent at all.
    assert emulator.stats.count("POST", "/export/jobs") <= 4
    assert emulator.created_count == 0


# ---------------------------------------------------------------------------------------------
# Unknown outcomes and reconciliation


def lost_segments(emulator: Emulator) -> set[str]:
    segments = set()
    for lost in emulator.lost_responses:
        assert lost.job_id is not None
        job = emulator.get_job(lost.job_id)
        assert job is not None
        segments.add(job["filter"]["segments"][0]["segmentId"])
    return segments


async def test_lost_responses_are_unknown() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.001))
    emulator.inject(
        FaultRule(Fault.reset(after_processing=True), method="POST", requests={3, 40, 77})
    )
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", share=0.05))
    async with make_client(emulator) as client:
        summary = await collect(
            client.create_many([export_request(s) for s in segment_ids(200)], max_concurrency=8)
        )

    assert len(emulator.lost_responses) >= 3
    assert len(summary.unknown) == len(emulator.lost_responses)
    assert {outcome_segment(outcome) for outcome in summary.unknown} == lost_segments(emulator)
    assert all(isinstance(outcome.error, OutcomeUnknownError) for outcome in summary.unknown)
    assert len(summary.succeeded) + len(summary.unknown) == 200
    assert emulator.created_count == 200


async def test_reconcile_finds_lost_jobs() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.001))
    emulator.seed(300)
    emulator.inject(
        FaultRule(Fault.reset(after_processing=True), method="POST", requests={2, 30, 31, 90})
    )
    # These requests are dropped before the emulator processes them: no job is created.
    emulator.inject(FaultRule(Fault.reset(), method="POST", requests={5, 60}))
    wanted = segment_ids(120)
    outcomes: list[BulkOutcome[ExportJobRequest]] = []
    async with (
        make_client(emulator) as client,
        client.create_many(
            [export_request(s) for s in wanted], max_concurrency=8, reconcile=True
        ) as run,
    ):
        async for outcome in run:
            outcomes.append(outcome)

    lost_job_ids = {lost.job_id for lost in emulator.lost_responses}
    reconciled = [outcome for outcome in outcomes if outcome.reconciled]
    found = [outcome for outcome in reconciled if outcome.status is OutcomeStatus.CREATED]
    not_created = [o for o in reconciled if o.status is OutcomeStatus.NOT_CREATED]
    assert len(outcomes) == 120
    assert len(lost_job_ids) == 4
    assert {outcome.job.id for outcome in found if outcome.job} == lost_job_ids
    assert {outcome_segment(outcome) for outcome in found} == lost_segments(emulator)
    assert len(not_created) == 2
    assert all(isinstance(outcome.error, OutcomeUnknownError) for outcome in not_created)
    assert not [outcome for outcome in outcomes if outcome.status is OutcomeStatus.UNKNOWN]
    # Reconciled outcomes come after the others, once every request has finished.
    assert outcomes[-6:] == reconciled
    assert emulator.created_count == 118
    not_created_segments = {outcome_segment(outcome) for outcome in not_created}
    assert not_created_segments.isdisjoint(created_segments(emulator))


async def test_reconcile_skips_twin_created_in_run() -> None:
    emulator = Emulator()
    # The second of two identical requests loses its response: the job of the first must
    # not be taken for the job of the second.
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", requests={2}))
    twins = [export_request("twin"), export_request("twin")]
    async with make_client(emulator) as client:
        summary = await collect(client.create_many(twins, max_concurrency=1, reconcile=True))

    assert emulator.created_count == 2
    jobs = {outcome.index: outcome.job.id for outcome in summary.succeeded if outcome.job}
    assert len(jobs) == 2
    assert jobs[0] != jobs[1]
    assert summary.succeeded[1].reconciled


async def test_decode_error_on_create_unknown() -> None:
    emulator = Emulator()
    emulator.inject(FaultRule(Fault.truncated(), method="POST", requests={1}))
    async with make_client(emulator) as client:
        plain = await collect(client.create_many([export_request("cut")], max_concurrency=1))
        reconciled = await collect(
            client.create_many([export_request("cut-too")], max_concurrency=1, reconcile=True)
        )

    assert len(plain.unknown) == 1
    assert isinstance(plain.unknown[0].error, DecodeError)
    assert reconciled.counts[OutcomeStatus.CREATED] == 1
    assert emulator.created_count == 2


async def test_reconcile_listing_failure_keeps_unknown() -> None:
    emulator = Emulator()
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", requests={1}))
    emulator.inject(FaultRule(Fault.status(403), method="GET", route="/export/jobs"))
    async with make_client(emulator) as client:
        summary = await collect(
            client.create_many([export_request("a")], max_concurrency=1, reconcile=True)
        )

    assert len(summary.unknown) == 1
    assert summary.unknown[0].reconcile_error is not None
    assert not summary.unknown[0].reconciled


# ---------------------------------------------------------------------------------------------
# Inputs


def numbered_requests(count: int) -> Iterator[ExportJobRequest]:
    for segment in segment_ids(count):
        yield export_request(segment)


async def async_requests(count: int) -> AsyncIterator[ExportJobRequest]:
    for segment in segment_ids(count):
        await anyio.lowlevel.checkpoint()
        yield export_request(segment)


@pytest.mark.parametrize("kind", ["list", "generator", "async generator", "mappings"])
async def test_inputs_of_every_kind(kind: str) -> None:
    sources: dict[str, Any] = {
        "list": [export_request(s) for s in segment_ids(40)],
        "generator": numbered_requests(40),
        "async generator": async_requests(40),
        "mappings": [
            {
                "destination": {"datasetId": DATASET_ID},
                "schema": {"name": "_xdm.context.profile"},
                "filter": {"segments": [{"segmentId": s}]},
            }
            for s in segment_ids(40)
        ],
    }
    emulator = Emulator()
    async with (
        make_client(emulator) as client,
        client.create_many(sources[kind], max_concurrency=4) as run,
    ):
        outcomes = [outcome async for outcome in run]
        total = run.total

    assert sorted(outcome.index for outcome in outcomes) == list(range(40))
    assert all(outcome.status is OutcomeStatus.CREATED for outcome in outcomes)
    assert sorted(created_segments(emulator)) == segment_ids(40)
    assert total == (40 if kind in ("list", "mappings") else None)


async def test_bad_inputs_fail_alone() -> None:
    emulator = Emulator()
    inputs: list[Any] = [
        export_request("good-1"),
        5,
        {"destination": {"datasetId": DATASET_ID}},
        export_request("good-2"),
        None,
    ]
    async with make_client(emulator) as client:
        summary = await collect(client.create_many(inputs, max_concurrency=2))

    assert [outcome.index for outcome in summary.succeeded] == [0, 3]
    assert [outcome.index for outcome in summary.failed] == [1, 2, 4]
    assert all(isinstance(o.error, RequestValidationError) for o in summary.failed)
    assert summary.failed[0].input == 5
    assert emulator.created_count == 2
    assert emulator.stats.count("POST", "/export/jobs") == 2


async def test_infinite_input_read_lazily() -> None:
    emulator = Emulator()
    pulled = 0

    def endless() -> Iterator[ExportJobRequest]:
        nonlocal pulled
        while True:
            pulled += 1
            yield export_request(f"endless-{pulled}")

    concurrency, wanted = 8, 50
    async with make_client(emulator) as client:
        async with client.create_many(endless(), max_concurrency=concurrency) as run:
            taken = 0
            async for _ in run:
                taken += 1
                if taken == wanted:
                    break
        pulled_at_exit = pulled
        await anyio.sleep(0.05)

    assert pulled_at_exit <= wanted + 3 * concurrency + 1
    assert pulled == pulled_at_exit


async def test_input_error_after_outcomes() -> None:
    async def failing() -> AsyncIterator[ExportJobRequest]:
        for segment in segment_ids(5):
            yield export_request(segment)
        raise ValueError("the segment file is unreadable")

    emulator = Emulator()
    outcomes: list[BulkOutcome[Any]] = []
    async with make_client(emulator) as client:
        run = client.create_many(failing(), max_concurrency=2)
        with pytest.raises(ValueError, match="unreadable"):
            await consume(run, outcomes)

    assert sorted(outcome.index for outcome in outcomes) == list(range(5))
    assert emulator.created_count == 5


# ---------------------------------------------------------------------------------------------
# Cancellation and the run's lifetime


async def test_cancel_mid_run_stops_everything() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.05))
    tasks_before = len(anyio.get_running_tasks())
    received = 0
    async with make_client(emulator) as client:
        with anyio.move_on_after(0.2) as scope:
            async with client.create_many(
                [export_request(s) for s in segment_ids(1000)], max_concurrency=16
            ) as run:
                async for _ in run:
                    received += 1
        requests_at_cancel = emulator.stats.total_requests
        tasks_after = len(anyio.get_running_tasks())
        await anyio.sleep(0.15)

    assert scope.cancelled_caught
    assert 0 < received < 1000
    assert tasks_after == tasks_before
    assert emulator.stats.in_flight == 0
    assert emulator.stats.total_requests == requests_at_cancel


async def test_break_cancels_in_flight() -> None:
    emulator = Emulator(EmulatorConfig(latency=0.05))
    async with make_client(emulator) as client:
        async with client.create_many(
            [export_request(s) for s in segment_ids(200)], max_concurrency=8
        ) as run:
            async for _ in run:
                break
        requests_at_exit = emulator.stats.total_requests
        await anyio.sleep(0.1)

    assert emulator.stats.total_requests == requests_at_exit
    assert emulator.stats.in_flight == 0
    assert requests_at_exit <= 16


async def test_caller_error_propagates_unwrapped() -> None:
    emulator = Emulator()
    async with make_client(emulator) as client:
        run = client.create_many([export_request("a")], max_concurrency=1)
        with pytest.raises(KeyError):
            await consume(run, [], fail_with=KeyError("stop"))


async def test_run_entered_once() -> None:
    async with make_client(Emulator()) as client:
        run = client.create_many([export_request("a")], max_concurrency=1)
        with pytest.raises(RuntimeError, match="before iterating"):
            await run.__anext__()
        async with run:
            assert [outcome.status async for outcome in run] == [OutcomeStatus.CREATED]
        with pytest.raises(RuntimeError, match="only once"):
            async with run:
                pass


async def test_progress_after_each_outcome() -> None:
    seen: list[BulkProgress] = []
    emulator = Emulator()
    emulator.inject(FaultRule(Fault.status(400), method="POST", requests={3}))
    async with make_client(emulator) as client:
        await collect(
            client.create_many(
                [export_request(s) for s in segment_ids(10)],
                max_concurrency=2,
                progress=seen.append,
            )
        )

    assert [progress.done for progress in seen] == list(range(1, 11))
    assert seen[-1].succeeded == 9
    assert seen[-1].failed == 1
    assert seen[-1].total == 10
    assert seen[-1].elapsed > 0
    assert seen[-1].rate > 0


# ---------------------------------------------------------------------------------------------
# Cancels


async def test_cancel_every_new_job_from_listing() -> None:
    emulator = Emulator(EmulatorConfig(processing_after=60, finish_after=120))
    async with make_client(emulator, page_size=7) as client:
        created = await collect(
            client.create_many([export_request(s) for s in segment_ids(40)], max_concurrency=8)
        )
        summary = await collect(
            client.cancel_many(
                (job.id async for job in client.iter_jobs(status="NEW")), max_concurrency=8
            )
        )

    assert len(created.jobs) == 40
    assert summary.counts[OutcomeStatus.CANCELLED] == 40
    assert sorted(emulator.job_ids("CANCELLED")) == sorted(job.id for job in created.jobs)
    assert emulator.job_ids("NEW") == []


async def test_cancel_bad_and_missing_ids() -> None:
    emulator = Emulator(EmulatorConfig(processing_after=60, finish_after=120))
    async with make_client(emulator) as client:
        job = await client.create(export_request("to-cancel"))
        targets: list[int | str | ExportJob] = [job, 999_999, "abc"]
        summary = await collect(client.cancel_many(targets, max_concurrency=3))

    assert [outcome.index for outcome in summary.succeeded] == [0]
    assert summary.succeeded[0].cancel_result is not None
    assert isinstance(summary.failed[0].error, NotFoundError)
    assert isinstance(summary.failed[1].error, RequestValidationError)
    assert emulator.job_ids("CANCELLED") == [job.id]


# ---------------------------------------------------------------------------------------------
# Connection pools


def network_client(**options: Any) -> ExportJobsClient:
    return ExportJobsClient(org_id=ORG_ID, api_key="key", sandbox="prod", token="token", **options)


async def test_pools_split_for_network_transport() -> None:
    async with network_client() as client:
        assert pool_count(client, 8) == 1
        assert pool_count(client, 9) == 2
        assert pool_count(client, 128) == 128 // REQUESTS_PER_POOL


async def test_pools_not_split_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    async with make_client(Emulator()) as in_process:
        assert pool_count(in_process, 64) == 1
    # A proxy from the environment is mounted on the client; the run keeps the client.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with network_client() as proxied:
        assert pool_count(proxied, 64) == 1
