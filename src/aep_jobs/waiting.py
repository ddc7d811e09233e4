"""Waiting for export jobs to finish: polling with backoff, alone or many at a time.

Adobe documents no polling interval for export jobs. The first poll is sent at once, the
second 2 s later by default, and each wait after that is 1.5 times longer, up to 60 s.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._validation import check_job_id
from .errors import AepJobsError, RequestValidationError
from .models import ExportJob, JobStatus

if TYPE_CHECKING:
    from typing_extensions import Self

    from .client import ExportJobsClient

__all__ = [
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "JobFailedError",
    "WaitResults",
    "WaitTimeoutError",
]

#: Seconds between the first and the second poll; the first is sent at once.
DEFAULT_POLL_INTERVAL = 2.0
#: The maximum wait between two polls, in seconds.
DEFAULT_MAX_POLL_INTERVAL = 60.0
#: Seconds to wait for a job in all before giving up: export jobs can run for hours.
DEFAULT_WAIT_TIMEOUT = 6 * 3600.0
_GROWTH = 1.5


class JobFailedError(AepJobsError):
    """An export job that was waited for ended FAILED (raised with ``raise_on_failure``).

    :ivar job: the failed job, with its ``errors``
    """

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        reasons = "; ".join(
            f"{error.code or 'no code'}: {error.msg or 'no message'}" for error in job.errors
        )
        super().__init__(
            f"Export job {job.id} failed" + (f" ({reasons})" if reasons else " with no errors")
        )


class WaitTimeoutError(AepJobsError):
    """A job did not finish before the wait's timeout.

    :ivar job_id: the job waited for
    :ivar last_status: the status seen at the last poll, or ``None`` if no poll succeeded
    :ivar waited: seconds spent waiting
    """

    def __init__(self, job_id: str, last_status: str | None, waited: float) -> None:
        self.job_id = job_id
        self.last_status = last_status
        self.waited = waited
        seen = f"last seen {last_status}" if last_status else "no status seen yet"
        super().__init__(
            f"Export job {job_id} did not finish within {waited:.1f} s ({seen}); wait longer, "
            "or check the job in Adobe Experience Platform"
        )


def check_wait_arguments(
    timeout: object, poll_interval: object, max_poll_interval: object, on_poll: object = None
) -> None:
    """Check the arguments of a wait.

    :raises RequestValidationError: naming the first invalid one
    """
    if on_poll is not None and not callable(on_poll):
        raise RequestValidationError("on_poll", on_poll, "expected a function that takes a job")
    if timeout is not None and not _positive(timeout):
        raise RequestValidationError("timeout", timeout, "expected seconds > 0, or None")
    if not _positive(poll_interval):
        raise RequestValidationError("poll_interval", poll_interval, "expected seconds > 0")
    if not _positive(max_poll_interval):
        raise RequestValidationError("max_poll_interval", max_poll_interval, "expected seconds > 0")


async def wait_for_job(
    client: ExportJobsClient,
    job_id: int | str,
    *,
    timeout: float | None,  # noqa: ASYNC109 - a wait's own time limit is part of its API
    poll_interval: float,
    max_poll_interval: float,
    raise_on_failure: bool,
    on_poll: Callable[[ExportJob], object] | None = None,
) -> ExportJob:
    """Poll a job until it is finished, and return it.

    See [`ExportJobsClient.wait`][aep_jobs.ExportJobsClient.wait].
    """
    path_id = check_job_id(job_id)
    check_wait_arguments(timeout, poll_interval, max_poll_interval, on_poll)
    started = time.monotonic()
    last_status: str | None = None
    interval = poll_interval

    with anyio.move_on_after(math.inf if timeout is None else timeout):
        while True:
            job = await client.get(path_id)
            last_status = job.status
            if on_poll is not None:
                on_poll(job)
            if job.is_finished:
                if raise_on_failure and job.status == JobStatus.FAILED:
                    raise JobFailedError(job)
                return job
            await anyio.sleep(interval)
            interval = min(interval * _GROWTH, max_poll_interval)

    raise WaitTimeoutError(path_id, last_status, time.monotonic() - started)


class WaitResults:
    """Jobs waited for many at a time, each yielded as it finishes.

    Use it as an async context manager, which owns the polling tasks:

        async with client.wait_many(job_ids, max_concurrency=8) as finished:
            async for job in finished:
                ...

    A job that cannot be waited for (a timeout, a 404) raises its error from the iteration.
    The other jobs are still polled, and iterating again goes on with them. Leaving the block
    stops every poll.
    """

    def __init__(
        self,
        client: ExportJobsClient,
        job_ids: Iterable[int | str] | AsyncIterable[int | str],
        *,
        max_concurrency: int,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        raise_on_failure: bool,
        on_poll: Callable[[ExportJob], object] | None = None,
    ) -> None:
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise RequestValidationError(
                "max_concurrency", max_concurrency, "expected a positive integer"
            )
        check_wait_arguments(timeout, poll_interval, max_poll_interval, on_poll)
        self._client = client
        self._job_ids = job_ids
        self._limiter = anyio.CapacityLimiter(max_concurrency)
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._raise_on_failure = raise_on_failure
        self._on_poll = on_poll
        self._group: TaskGroup | None = None
        self._results: MemoryObjectReceiveStream[ExportJob | Exception] | None = None

    async def __aenter__(self) -> Self:
        send, self._results = anyio.create_memory_object_stream[ExportJob | Exception](math.inf)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._wait_all, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._group is not None
        self._group.cancel_scope.cancel()
        group, self._group = self._group, None
        try:
            # Closed as if its body had ended normally, so that errors propagate unwrapped.
            await group.__aexit__(None, None, None)
        finally:
            if self._results is not None:
                self._results.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ExportJob:
        if self._results is None:
            raise RuntimeError(
                "wait_many polls in background tasks, so it must be used as "
                "'async with client.wait_many(...) as finished:'"
            )
        try:
            result = await self._results.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        if isinstance(result, Exception):
            raise result
        return result

    async def _wait_all(self, send: MemoryObjectSendStream[ExportJob | Exception]) -> None:
        async with send, anyio.create_task_group() as group:
            if isinstance(self._job_ids, AsyncIterable):
                async for job_id in self._job_ids:
                    await self._start(group, job_id, send)
            else:
                for job_id in self._job_ids:
                    await self._start(group, job_id, send)

    async def _start(
        self,
        group: TaskGroup,
        job_id: int | str,
        send: MemoryObjectSendStream[ExportJob | Exception],
    ) -> None:
        # A slot is taken before the task starts, so that inputs are read only as fast as
        # jobs finish and a long input never becomes a task for each of its ids at once.
        borrower = object()
        await self._limiter.acquire_on_behalf_of(borrower)
        group.start_soon(self._wait_one, job_id, borrower, send.clone())

    async def _wait_one(
        self,
        job_id: int | str,
        borrower: object,
        send: MemoryObjectSendStream[ExportJob | Exception],
    ) -> None:
        async with send:
            try:
                job = await wait_for_job(
                    self._client,
                    job_id,
                    timeout=self._timeout,
                    poll_interval=self._poll_interval,
                    max_poll_interval=self._max_poll_interval,
                    raise_on_failure=self._raise_on_failure,
                    on_poll=self._on_poll,
                )
            except AepJobsError as error:
                await send.send(error)
            else:
                await send.send(job)
            finally:
                self._limiter.release_on_behalf_of(borrower)


def _positive(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
        and math.isfinite(value)
    )
