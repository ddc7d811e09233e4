"""The watch command: poll export jobs until they finish, with a live display on a terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._validation import check_job_id
from ..errors import AepJobsError
from ..models import ExportJob, JobStatus
from ..waiting import WaitResults
from . import EXIT_FAILED, EXIT_OK, print_error
from ._commands import open_client
from ._output import (
    DEFAULT_WATCH_FIELDS,
    JobTable,
    choose_format,
    error_texts,
    has_rich,
    job_record,
    print_line,
    require_rich,
)

if TYPE_CHECKING:
    from ..client import ExportJobsClient

# Jobs still running that the live display lists; the others are counted on one line.
_PENDING_SHOWN = 10
# The maximum number of jobs that did not succeed to list on standard error, one a line.
_FAILURES_SHOWN = 10


async def run_watch(arguments: argparse.Namespace) -> int:
    """Wait for every job to finish, showing each as it does; exit 0 if every one SUCCEEDED."""
    job_ids = _unique_ids(arguments.job_ids)
    output = choose_format(arguments.format)
    state = _WatchState(job_ids)

    async with open_client(arguments) as client:
        results = client.wait_many(
            job_ids,
            max_concurrency=arguments.max_concurrency,
            timeout=arguments.timeout,
            poll_interval=arguments.poll_interval,
            max_poll_interval=arguments.max_poll_interval,
            on_poll=state.polled,
        )
        if output == "table":
            await _watch_live(results, state, arguments.fields or DEFAULT_WATCH_FIELDS)
        else:
            await _watch_json_lines(results, state, arguments.fields)

    return EXIT_OK if state.all_succeeded() else EXIT_FAILED


async def wait_and_summarize(
    client: ExportJobsClient, job_ids: list[int], *, timeout: float, max_concurrency: int
) -> int:
    """Wait for created jobs with a progress bar on a terminal, and print a summary.

    Jobs that did not succeed are listed on standard error. Return the exit code: 0 if every
    job SUCCEEDED.
    """
    state = _WatchState([str(job_id) for job_id in job_ids])
    bar = _StderrBar(len(job_ids)) if sys.stderr.isatty() and has_rich() else None

    def on_job(job: ExportJob) -> None:
        state.finish(job)
        if bar is not None:
            bar.update(state)

    def on_error(error: AepJobsError) -> None:
        state.fail(error)
        if bar is not None:
            bar.update(state)

    results = client.wait_many(job_ids, max_concurrency=max_concurrency, timeout=timeout)
    with bar if bar is not None else contextlib.nullcontext():
        await _drain(results, on_job, on_error)

    _print_unsucceeded(state, with_errors=True)
    print(f"Finished {state.summary()}")
    return EXIT_OK if state.all_succeeded() else EXIT_FAILED


def _print_unsucceeded(state: _WatchState, *, with_errors: bool) -> None:
    """List the jobs that ended other than SUCCEEDED on standard error, the first few only.

    :param with_errors: list the jobs that could not be polled too, with their errors
    """
    failures = [
        f"export job {job.id} ended {job.status}: {'; '.join(error_texts(job)) or 'no errors'}"
        for job in state.finished.values()
        if job.status != JobStatus.SUCCEEDED
    ]
    if with_errors:
        failures += [str(error) for error in state.errors.values()]
    for failure in failures[:_FAILURES_SHOWN]:
        print_error(failure)
    if len(failures) > _FAILURES_SHOWN:
        print_error(f"{len(failures) - _FAILURES_SHOWN} more jobs did not succeed")


def _unique_ids(texts: list[str]) -> list[str]:
    """Check every id before anything is sent, and drop repeats, which are watched once."""
    ids: list[str] = []
    for text in texts:
        job_id = check_job_id(text)
        if job_id not in ids:
            ids.append(job_id)
    return ids


class _WatchState:
    """The state of each watched job: its last poll, and how its wait ended.

    The live display reads it from rich's refresh thread, so readers copy the dicts first.
    """

    def __init__(self, job_ids: list[str]) -> None:
        self.job_ids = job_ids
        self.last_polled: dict[str, ExportJob] = {}
        self.finished: dict[str, ExportJob] = {}
        self.errors: dict[str, AepJobsError] = {}
        self.started = time.monotonic()

    def polled(self, job: ExportJob) -> None:
        self.last_polled[str(job.id)] = job

    def finish(self, job: ExportJob) -> None:
        self.finished[str(job.id)] = job

    def fail(self, error: AepJobsError) -> None:
        self.errors[error.job_id or "?"] = error

    @property
    def done(self) -> int:
        return len(self.finished) + len(self.errors)

    def pending(self) -> list[str]:
        ended = dict(self.finished) | dict(self.errors)
        return [job_id for job_id in self.job_ids if job_id not in ended]

    def not_succeeded(self) -> int:
        statuses = [job.status for job in list(self.finished.values())]
        return len(self.errors) + sum(status != JobStatus.SUCCEEDED for status in statuses)

    def all_succeeded(self) -> bool:
        return len(self.finished) == len(self.job_ids) and self.not_succeeded() == 0

    def summary(self) -> str:
        counts = Counter(job.status for job in self.finished.values())
        parts = [f"{count:,} {status}" for status, count in sorted(counts.items())]
        if self.errors:
            parts.append(f"{len(self.errors):,} not watched to the end")
        elapsed = time.monotonic() - self.started
        noun = "job" if len(self.job_ids) == 1 else "jobs"
        return f"{len(self.job_ids):,} {noun} in {elapsed:.1f} s: {', '.join(parts)}"


async def _drain(
    results: WaitResults,
    on_job: Callable[[ExportJob], None],
    on_error: Callable[[AepJobsError], None],
) -> None:
    """Read every outcome; a job whose wait failed does not stop the others."""
    async with results:
        while True:
            try:
                async for job in results:
                    on_job(job)
            except AepJobsError as error:
                on_error(error)
                continue
            return


async def _watch_json_lines(
    results: WaitResults, state: _WatchState, fields: tuple[str, ...] | None
) -> None:
    """Write each finished job as a JSON line as it finishes; errors go to standard error."""
    out = sys.stdout.buffer
    bar = _StderrBar(len(state.job_ids)) if _shows_stderr_bar() else None

    def on_job(job: ExportJob) -> None:
        state.finish(job)
        out.write(job_record(job, fields))
        # Flushed at once, so that a reader of the pipe gets each job as it finishes.
        out.flush()
        if bar is not None:
            bar.update(state)

    def on_error(error: AepJobsError) -> None:
        state.fail(error)
        print_error(error)
        if bar is not None:
            bar.update(state)

    with bar if bar is not None else contextlib.nullcontext():
        await _drain(results, on_job, on_error)
    # The errors were printed as they came. A failure is explained even when piped, so that
    # the exit code 1 never comes alone.
    if not state.all_succeeded():
        _print_unsucceeded(state, with_errors=False)
    if bar is not None or not state.all_succeeded():
        print(state.summary(), file=sys.stderr)


def _shows_stderr_bar() -> bool:
    # Not drawn when standard output is the same terminal, where it would mix with the lines.
    return sys.stderr.isatty() and not sys.stdout.isatty() and has_rich()


class _StderrBar:
    """A progress bar of finished jobs on standard error."""

    def __init__(self, total: int) -> None:
        from rich.console import Console

        self._progress = _finished_bar(Console(stderr=True), total)

    def __enter__(self) -> None:
        self._progress.start()

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, state: _WatchState) -> None:
        self._progress.update(
            self._progress.task_ids[0], completed=state.done, failed=state.not_succeeded()
        )


def _finished_bar(console: Any, total: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("Finished"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} not succeeded"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    progress.add_task("finished", total=total, failed=0)
    return progress


async def _watch_live(results: WaitResults, state: _WatchState, fields: tuple[str, ...]) -> None:
    """Print each job as it finishes, above a live list of the running jobs and a bar."""
    require_rich("a live display")
    from rich.console import Console
    from rich.live import Live

    console = Console()
    table = JobTable(fields)
    bar = _finished_bar(console, len(state.job_ids))
    view = _RunningJobs(state, table, bar)

    def on_job(job: ExportJob) -> None:
        state.finish(job)
        print_line(console, table.styled_row(job))
        bar.update(bar.task_ids[0], completed=state.done, failed=state.not_succeeded())

    def on_error(error: AepJobsError) -> None:
        state.fail(error)
        print_error(error)
        bar.update(bar.task_ids[0], completed=state.done, failed=state.not_succeeded())

    print_line(console, table.header(), style="bold")
    # Standard error is shown above the live display only when it is the terminal too.
    with Live(
        view,
        console=console,
        transient=True,
        refresh_per_second=4,
        redirect_stderr=sys.stderr.isatty(),
    ):
        await _drain(results, on_job, on_error)
    console.print(state.summary(), highlight=False)


class _RunningJobs:
    """The live part of the display: the running jobs with their last status, then the bar."""

    def __init__(self, state: _WatchState, table: JobTable, bar: Any) -> None:
        self._state = state
        self._table = table
        self._bar = bar

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        pending = self._state.pending()
        last_polled = dict(self._state.last_polled)
        lines: list[Any] = []
        for job_id in pending[:_PENDING_SHOWN]:
            job = last_polled.get(job_id)
            if job is None:
                lines.append(Text(f"{job_id:<10}  waiting for the first poll", style="dim"))
            else:
                lines.append(self._table.styled_row(job))
        if len(pending) > _PENDING_SHOWN:
            lines.append(Text(f"… and {len(pending) - _PENDING_SHOWN:,} more running", style="dim"))
        return Group(*lines, self._bar.get_renderable())
