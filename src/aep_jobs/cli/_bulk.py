"""The bulk-create and bulk-cancel commands: many requests, a progress bar, a report file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

import msgspec

from .._validation import check_job_id
from ..bulk import BulkOutcome, BulkProgress, BulkRun, OutcomeStatus
from ..errors import RequestValidationError
from ..models import Destination, ExportFilter, ExportJobRequest, SchemaRef, SegmentFilter
from . import EXIT_FAILED, EXIT_OK, UsageError
from ._commands import open_client
from ._output import has_rich
from ._watch import wait_and_summarize

InputT = TypeVar("InputT")

# Failures listed one per line on standard error, at most; the report file has them all.
_FAILURES_SHOWN = 10


class _Report(msgspec.Struct):
    """One line of the report file."""

    index: int
    input: str
    status: str
    job_id: int | str | None
    error: str | None
    reconciled: bool


async def run_bulk_create(arguments: argparse.Namespace) -> int:
    """Create one export job per segment id read from a file or standard input."""
    segment_ids = _read_ids(arguments.file, _check_segment_id, "segment id")
    statuses = arguments.segment_status or None
    requests = [
        ExportJobRequest(
            destination=Destination(dataset_id=arguments.dataset_id),
            schema=SchemaRef(name=arguments.schema),
            filter=ExportFilter(segments=[SegmentFilter(segment_id=s, status=statuses)]),
        )
        for s in segment_ids
    ]
    created: list[int] = []
    with _open_report(arguments.report) as report:
        async with open_client(arguments) as client:
            with _ProgressBar("Creating exports") as bar:
                run = client.create_many(
                    requests,
                    max_concurrency=arguments.max_concurrency,
                    max_per_second=arguments.max_per_second,
                    reconcile=arguments.reconcile,
                    progress=bar.callback,
                )
                failures = await _drive(
                    run, report, _segment_of, inputs_are_job_ids=False, created=created
                )
            code = _summarize(run, failures, _segment_of, "Created")
            if arguments.wait and created:
                wait_code = await wait_and_summarize(
                    client,
                    created,
                    timeout=arguments.wait_timeout,
                    max_concurrency=arguments.max_concurrency,
                )
                code = max(code, wait_code)
    return code


async def run_bulk_cancel(arguments: argparse.Namespace) -> int:
    """Cancel the jobs whose ids are read from a file, or every job that a listing returns."""
    job_ids: Iterable[str] | None = None
    if arguments.status is None:
        job_ids = _read_ids(arguments.file, check_job_id, "job id")
    with _open_report(arguments.report) as report, _ProgressBar("Cancelling exports") as bar:
        async with open_client(arguments) as client:
            source: Iterable[str] | AsyncIterable[int]
            if job_ids is not None:
                source = job_ids
            else:
                # The listing is read as the cancels go, never collected first.
                source = (job.id async for job in client.iter_jobs(status=arguments.status))
            run = client.cancel_many(
                source,
                max_concurrency=arguments.max_concurrency,
                max_per_second=arguments.max_per_second,
                progress=bar.callback,
            )
            failures = await _drive(run, report, str, inputs_are_job_ids=True)
    return _summarize(run, failures, str, "Cancelled")


async def _drive(
    run: BulkRun[InputT],
    report: IO[bytes] | None,
    describe: Callable[[InputT], str],
    *,
    inputs_are_job_ids: bool,
    created: list[int] | None = None,
) -> list[BulkOutcome[InputT]]:
    """Run to the end, writing the report as outcomes come; return the failed and unknown.

    :param created: if given, receives the id of each job that the run created or found
    """
    encoder = msgspec.json.Encoder()
    failures: list[BulkOutcome[InputT]] = []
    async with run:
        async for outcome in run:
            if not outcome.ok:
                failures.append(outcome)
            elif created is not None and outcome.job is not None:
                created.append(outcome.job.id)
            if report is not None:
                line = _report_line(outcome, describe(outcome.input), inputs_are_job_ids)
                report.write(encoder.encode(line))
                report.write(b"\n")
    return failures


def _summarize(
    run: BulkRun[InputT],
    failures: list[BulkOutcome[InputT]],
    describe: Callable[[InputT], str],
    verb: str,
) -> int:
    """Print the first failures and a summary line, and return the exit code."""
    for outcome in sorted(failures, key=lambda outcome: outcome.index)[:_FAILURES_SHOWN]:
        error = " ".join(str(outcome.error).split())
        if outcome.status is OutcomeStatus.NOT_CREATED:
            # The kept error is the one that left the create unknown. It advises listing the
            # jobs first, so the message states that reconciliation already listed them.
            error = f"the listing shows no such job, so it can be created again; {error}"
        print(
            f"aep-jobs: {outcome.status.value}: input {outcome.index} "
            f"({describe(outcome.input)}): {error}",
            file=sys.stderr,
        )
    if len(failures) > _FAILURES_SHOWN:
        print(
            f"aep-jobs: {len(failures) - _FAILURES_SHOWN} more failed or unknown; "
            "--report FILE.jsonl lists every outcome",
            file=sys.stderr,
        )
    progress = run.progress
    print(
        f"{verb} {progress.succeeded:,} of {progress.done:,} in {progress.elapsed:.1f} s "
        f"({progress.rate:,.1f} per second): {progress.failed:,} failed, "
        f"{progress.unknown:,} unknown; {progress.rate_limited:,} responses were HTTP 429"
    )
    return EXIT_OK if not failures else EXIT_FAILED


def _report_line(outcome: BulkOutcome[Any], described: str, is_job_id: bool) -> _Report:
    job_id: int | str | None = None
    if is_job_id:
        job_id = int(described) if described.isdigit() else described
    if outcome.job is not None:
        job_id = outcome.job.id
    return _Report(
        index=outcome.index,
        input=described,
        status=outcome.status.value,
        job_id=job_id,
        error=None if outcome.error is None else " ".join(str(outcome.error).split()),
        reconciled=outcome.reconciled,
    )


def _segment_of(request: ExportJobRequest) -> str:
    segments = request.filter.segments if request.filter is not None else None
    return segments[0].segment_id if segments else ""


def _check_segment_id(text: str) -> str:
    if any(character.isspace() for character in text):
        raise RequestValidationError("segment id", text, "must not contain whitespace")
    return text


def _read_ids(path: str, check: Callable[[str], str], kind: str) -> list[str]:
    """Read one id a line, skipping blank lines and ``#`` comments; report duplicates.

    :raises UsageError: the file cannot be read, has no id, or has an invalid one
    """
    try:
        if path == "-":
            lines: Iterable[str] = sys.stdin.read().splitlines()
        else:
            with open(path, encoding="utf-8") as file:
                lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise UsageError(f"cannot read the {kind}s from {path!r}: {reason}") from None

    ids: list[str] = []
    first_line: dict[str, int] = {}
    for number, text in _numbered_ids(lines):
        try:
            value = check(text)
        except RequestValidationError as error:
            raise UsageError(
                f"{path}, line {number}: invalid {kind} {text!r}: {error.problem}"
            ) from None
        if value in first_line:
            print(
                f"aep-jobs: {path}, line {number}: duplicate {kind} {value} "
                f"(first on line {first_line[value]}); it is sent once",
                file=sys.stderr,
            )
            continue
        first_line[value] = number
        ids.append(value)
    if not ids:
        raise UsageError(f"no {kind}s in {path!r}: expected one {kind} a line")
    return ids


def _numbered_ids(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            yield number, text


@contextlib.contextmanager
def _open_report(path: str | None) -> Iterator[IO[bytes] | None]:
    if path is None:
        yield None
        return
    try:
        report = open(path, "wb")  # noqa: SIM115 - closed by this context manager
    except OSError as error:
        raise UsageError(f"cannot write the report file {path!r}: {error.strerror}") from None
    with report:
        yield report


class _ProgressBar:
    """A progress bar on standard error: drawn with rich on a terminal, else not at all."""

    def __init__(self, title: str) -> None:
        self._bar: Any = None
        self._task: Any = None
        if not (sys.stderr.isatty() and has_rich()):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn(title),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._bar.add_task(title, total=None, failed=0, rate=0.0)

    @property
    def callback(self) -> Callable[[BulkProgress], None] | None:
        """The ``progress`` callback of the run, or None when no bar is drawn."""
        return self._update if self._bar is not None else None

    def __enter__(self) -> _ProgressBar:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _update(self, progress: BulkProgress) -> None:
        self._bar.update(
            self._task,
            total=progress.total,
            completed=progress.done,
            failed=progress.failed + progress.unknown,
            rate=progress.rate,
        )
