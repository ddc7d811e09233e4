"""The bulk run: a fixed pool of workers that send many inputs and report one outcome each.

A feeder task reads the inputs lazily into a memory object stream of ``max_concurrency``
places, and ``max_concurrency`` workers take them from it. At most ``3 * max_concurrency + 1``
inputs are therefore read ahead of the outcomes the caller has taken: one held by the
feeder, one per place in the input stream, one by each worker, and one per place in the
outcome stream. The task group lives inside the run's async context manager, so leaving the
``async with`` block cancels every request still in flight.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable, Sized
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

from ..errors import RateLimitError, RequestValidationError
from ..retry import RetryPolicy
from ._operations import Operation, SendResult
from ._outcomes import SUCCESS_STATUSES, BulkOutcome, BulkProgress, BulkSummary, OutcomeStatus
from ._pacing import ConcurrencyLimit, PauseGate, RateLimiter
from ._pools import close_pools, open_pools, pool_count
from ._reconcile import CreatedJobs, UnknownCreate, reconcile

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..client import ExportJobsClient

logger = logging.getLogger("aep_jobs")

InputT = TypeVar("InputT")

ProgressCallback = Callable[[BulkProgress], object]

# An outcome, and whether it is held back for reconciliation instead of being yielded now.
_Finished = tuple[BulkOutcome[InputT], bool]

# Pause after a 429 without a usable Retry-After: 0.5 s, doubled for each pause that follows
# without a success in between, up to 30 s. A Retry-After shorter than this is lengthened too,
# so that a server that responds "Retry-After: 0" is not sent a stream of requests.
_FIRST_PAUSE = 0.5
_MAX_PAUSE = 30.0


class BulkRun(Generic[InputT]):
    """Sends one request per input, at most ``max_concurrency`` at a time, and yields outcomes.

    Use it as an async context manager, and iterate over it inside the block:

        async with client.create_many(requests, max_concurrency=32) as outcomes:
            async for outcome in outcomes:
                print(outcome.index, outcome.status, outcome.error)

    Leaving the block, by ``break``, an exception or a cancellation, cancels the requests in
    flight and sends no more. Build it with ``ExportJobsClient.create_many`` or
    ``cancel_many``.

    :ivar total: the number of inputs when the input is a sized collection, else ``None``
    """

    def __init__(
        self,
        client: ExportJobsClient,
        inputs: Iterable[InputT] | AsyncIterable[InputT],
        operation: Operation,
        *,
        max_concurrency: int,
        max_per_second: float | None,
        retry: RetryPolicy,
        progress: ProgressCallback | None,
        reconcile: bool,
        reconcile_slack: float,
    ) -> None:
        self._client = client
        self._inputs = inputs
        self._operation = operation
        self._max_concurrency = max_concurrency
        self._max_per_second = max_per_second
        self._max_retry_after = retry.max_retry_after
        self._sleep = retry.sleep
        self._progress = progress
        self._reconcile = reconcile
        self._reconcile_slack = reconcile_slack
        self.total = len(inputs) if isinstance(inputs, Sized) else None

        self._entered = False
        self._task_group: TaskGroup | None = None
        self._pools: list[ExportJobsClient] = []
        self._outcomes: MemoryObjectReceiveStream[_Finished[InputT]] | None = None
        self._limit = ConcurrencyLimit(max_concurrency)
        self._gate = PauseGate(time.monotonic, self._sleep)
        self._rate: RateLimiter | None = None
        self._input_error: Exception | None = None
        # Set when the server requests a longer pause than the retry policy allows. Inputs
        # not sent yet then fail with this error instead of being sent.
        self._stop_error: RateLimitError | None = None
        self._pauses_without_success = 0

        self._unknowns: list[UnknownCreate] = []
        self._created = CreatedJobs(round(reconcile_slack * 1000))
        self._decided: deque[BulkOutcome[InputT]] = deque()
        self._counts = dict.fromkeys(OutcomeStatus, 0)
        self._done = 0
        self.rate_limited = 0
        self._started = 0.0
        self._finished: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the run started, up to its last outcome once it has ended."""
        if not self._entered:
            return 0.0
        end = self._finished if self._finished is not None else time.monotonic()
        return end - self._started

    @property
    def progress(self) -> BulkProgress:
        """The counts of the run so far."""
        elapsed = self.elapsed
        counts = self._counts
        return BulkProgress(
            done=self._done,
            succeeded=counts[OutcomeStatus.CREATED] + counts[OutcomeStatus.CANCELLED],
            failed=counts[OutcomeStatus.FAILED] + counts[OutcomeStatus.NOT_CREATED],
            unknown=counts[OutcomeStatus.UNKNOWN],
            total=self.total,
            elapsed=elapsed,
            rate=self._done / elapsed if elapsed > 0 else 0.0,
            rate_limited=self.rate_limited,
            concurrency=self._limit.limit,
        )

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("A bulk run can be entered only once; start a new one")
        self._entered = True
        self._started = time.monotonic()
        if self._max_per_second is not None:
            self._rate = RateLimiter(self._max_per_second, time.monotonic, self._sleep)

        self._pools = open_pools(self._client, pool_count(self._client, self._max_concurrency))
        task_group = self._task_group = anyio.create_task_group()
        await task_group.__aenter__()

        items_in, items_out = anyio.create_memory_object_stream[tuple[int, InputT]](
            self._max_concurrency
        )
        outcomes_in, outcomes_out = anyio.create_memory_object_stream[_Finished[InputT]](
            self._max_concurrency
        )
        task_group.start_soon(self._feed, items_in, name="aep_jobs bulk feeder")
        for number in range(self._max_concurrency):
            pool = self._pools[number % len(self._pools)]
            task_group.start_soon(
                self._work,
                pool,
                items_out.clone(),
                outcomes_in.clone(),
                name="aep_jobs bulk worker",
            )
        items_out.close()
        outcomes_in.close()
        self._outcomes = outcomes_out
        logger.info(
            "Started a bulk %s of %s inputs: %d requests in flight at most%s",
            self._operation.name,
            "an unknown number of" if self.total is None else f"{self.total:,}",
            self._max_concurrency,
            "" if self._max_per_second is None else f", {self._max_per_second:g} per second",
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        task_group = self._task_group
        if task_group is None:
            return False
        try:
            # Whatever ended the block, nothing may be left running or sent after it.
            task_group.cancel_scope.cancel()
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                return bool(await task_group.__aexit__(exc_type, exc, traceback))
            # Another exception, or none, is the caller's: it is not wrapped in the task
            # group's exception group, and goes on as it was.
            await task_group.__aexit__(None, None, None)
            return False
        finally:
            if self._outcomes is not None:
                self._outcomes.close()
            await close_pools(self._client, self._pools)
            if self._finished is None:
                self._finished = time.monotonic()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BulkOutcome[InputT]:
        if self._outcomes is None:
            raise RuntimeError(
                "Enter the bulk run with 'async with' before iterating over its outcomes"
            )
        while True:
            try:
                outcome, held = await self._outcomes.receive()
            except anyio.EndOfStream:
                return await self._next_after_last_request()
            except anyio.ClosedResourceError:
                # The block was left: the outcomes not taken by then are gone.
                raise StopAsyncIteration from None
            self._count(outcome)
            if held:
                # Held back until the last request, so that one listing serves them all.
                continue
            return outcome

    async def _next_after_last_request(self) -> BulkOutcome[InputT]:
        if self._unknowns:
            unknowns, self._unknowns = self._unknowns, []
            decided = await reconcile(
                self._client, unknowns, created=self._created, slack=self._reconcile_slack
            )
            for outcome in decided:
                self._counts[OutcomeStatus.UNKNOWN] -= 1
                self._counts[outcome.status] += 1
            self._decided.extend(decided)
        if self._decided:
            outcome = self._decided.popleft()
            self._report_progress()
            return outcome

        if self._finished is None:
            self._finished = time.monotonic()
            self._log_end()
        if self._input_error is not None:
            error, self._input_error = self._input_error, None
            raise error
        raise StopAsyncIteration

    def _count(self, outcome: BulkOutcome[InputT]) -> None:
        self._done += 1
        self._counts[outcome.status] += 1
        self._report_progress()

    def _report_progress(self) -> None:
        if self._progress is not None:
            self._progress(self.progress)

    def _log_end(self) -> None:
        counts = ", ".join(f"{count:,} {status.value}" for status, count in self._counts.items())
        logger.info(
            "Finished a bulk %s of %d inputs in %.1f s: %s; %d responses were HTTP 429",
            self._operation.name,
            self._done,
            self.elapsed,
            counts,
            self.rate_limited,
        )

    async def _feed(self, items: ObjectSendStream[tuple[int, InputT]]) -> None:
        """Read the inputs and hand them to the workers, one at a time."""
        async with items:
            try:
                if isinstance(self._inputs, AsyncIterable):
                    await _feed_async(self._inputs, items)
                else:
                    for index, item in enumerate(self._inputs):
                        await items.send((index, item))
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as error:
                # The inputs already read still get their outcomes; the error is raised
                # after the last of them.
                logger.warning(
                    "Reading the inputs of a bulk %s failed: %s", self._operation.name, error
                )
                self._input_error = error

    async def _work(
        self,
        pool: ExportJobsClient,
        items: ObjectReceiveStream[tuple[int, InputT]],
        outcomes: ObjectSendStream[_Finished[InputT]],
    ) -> None:
        async with items, outcomes:
            async for index, item in items:
                await outcomes.send(await self._process(pool, index, item))

    async def _process(self, pool: ExportJobsClient, index: int, item: InputT) -> _Finished[InputT]:
        """Send one input until it has an outcome, resending it after each 429."""
        sends = 0
        while True:
            if self._stop_error is not None:
                failed = BulkOutcome(
                    index, item, OutcomeStatus.FAILED, error=self._stop_error, sends=sends
                )
                return failed, False
            async with self._limit.slots:
                if self._rate is not None:
                    await self._rate.wait()
                await self._gate.wait()
                window = self._limit.window
                generation = self._gate.generation
                sends += 1
                try:
                    result = await self._operation.send(pool, item)
                except RateLimitError as error:
                    if self._rate_limited(error, window, generation):
                        continue
                    failed = BulkOutcome(
                        index, item, OutcomeStatus.FAILED, error=error, sends=sends
                    )
                    return failed, False
            return self._record(index, item, result, sends)

    def _record(
        self, index: int, item: InputT, result: SendResult, sends: int
    ) -> _Finished[InputT]:
        """Turn a send's result into an outcome, and note what the pacing and
        reconciliation need to know about it."""
        outcome = BulkOutcome(
            index,
            item,
            result.status,
            job=result.job,
            cancel_result=result.cancel_result,
            error=result.error,
            sends=sends,
        )
        if result.status in SUCCESS_STATUSES:
            self._limit.record_success()
            self._pauses_without_success = 0
        if not self._reconcile:
            return outcome, False

        if result.job is not None:
            self._created.add(result.job.id, int(time.time() * 1000))
        if (
            result.status is OutcomeStatus.UNKNOWN
            and result.request is not None
            and result.started_at is not None
        ):
            self._created.keep_all()
            self._unknowns.append(UnknownCreate(outcome, result.request, result.started_at))
            return outcome, True
        return outcome, False

    def _rate_limited(self, error: RateLimitError, window: int, generation: int) -> bool:
        """Pause the run and lower the concurrency for a 429.

        :param window: the concurrency window in which the request was sent
        :param generation: the pause generation in which the request was sent
        :return: whether to send the input again; ``False`` when the server asked for a
            longer pause than the retry policy allows
        """
        self.rate_limited += 1
        retry_after = error.retry_after
        if retry_after is not None and retry_after > self._max_retry_after:
            error.retry_note = (
                f"the server asked to wait {retry_after:g} s, more than the "
                f"{self._max_retry_after:g} s that the retry policy allows; "
                "the inputs not sent yet fail with this error"
            )
            if self._stop_error is None:
                logger.warning("Stopping a bulk %s: %s", self._operation.name, error.retry_note)
                self._stop_error = error
            return False

        halved_from = self._limit.limit
        self._limit.record_rate_limited(window)
        # A 429 for a request sent before the latest pause began reports the overload that
        # the pause already waited out, so it may lengthen a pause still running but starts
        # no new one.
        if generation == self._gate.generation or self._gate.paused:
            backoff = min(_MAX_PAUSE, _FIRST_PAUSE * 2**self._pauses_without_success)
            delay = backoff if retry_after is None else max(retry_after, _FIRST_PAUSE)
            starts = not self._gate.paused
            self._gate.pause(delay)
            if starts:
                self._pauses_without_success += 1
                logger.info(
                    "Rate limited (HTTP 429) during a bulk %s: pausing every request for "
                    "%.2f s, with at most %d requests in flight after it (was %d)",
                    self._operation.name,
                    delay,
                    self._limit.limit,
                    halved_from,
                )
        return True


async def collect(run: BulkRun[InputT]) -> BulkSummary[InputT]:
    """Run a bulk run to its end and return every outcome in a summary.

    ``summary = await collect(client.create_many(requests))`` keeps every outcome in memory;
    iterate over the run instead to handle outcomes as they come.

    :raises Exception: what reading the inputs raised, after the other inputs were sent
    """
    outcomes: list[BulkOutcome[InputT]] = []
    async with run:
        async for outcome in run:
            outcomes.append(outcome)
    return BulkSummary.from_outcomes(outcomes, elapsed=run.elapsed, rate_limited=run.rate_limited)


async def _feed_async(
    inputs: AsyncIterable[InputT], items: ObjectSendStream[tuple[int, InputT]]
) -> None:
    """Hand the inputs of an async iterable to the workers, and close the iterator after."""
    iterator = aiter(inputs)
    try:
        index = 0
        async for item in iterator:
            await items.send((index, item))
            index += 1
    finally:
        # An async generator left open would run its cleanup later, outside the run.
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


def check_limits(client: ExportJobsClient, max_concurrency: object, max_per_second: object) -> None:
    """Check the limits of a bulk run before it starts.

    :raises RequestValidationError: naming the value, the limit it breaks and the fix
    """
    if (
        not isinstance(max_concurrency, int)
        or isinstance(max_concurrency, bool)
        or max_concurrency < 1
    ):
        raise RequestValidationError(
            "max_concurrency", max_concurrency, "expected a positive integer such as 32"
        )
    if max_concurrency > client.max_connections:
        raise RequestValidationError(
            "max_concurrency",
            max_concurrency,
            f"is more than the client's max_connections ({client.max_connections}), so "
            "requests would wait for a connection and could fail with a pool timeout; use "
            f"max_concurrency={client.max_connections} or less, or create the client with "
            f"max_connections={max_concurrency}",
        )
    if max_per_second is not None and (
        not isinstance(max_per_second, (int, float))
        or isinstance(max_per_second, bool)
        or not math.isfinite(max_per_second)
        or max_per_second <= 0
    ):
        raise RequestValidationError(
            "max_per_second",
            max_per_second,
            "expected a number of requests per second > 0, or None for no limit",
        )
