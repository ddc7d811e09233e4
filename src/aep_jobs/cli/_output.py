"""Terminal output shared by the commands: job fields, table lines, live counts.

rich is imported only when something is drawn, so that piped output works without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import importlib.util
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import msgspec

from ..models import ExportJob
from . import UsageError


def require_rich(purpose: str) -> ModuleType:
    """Import rich with its console, table, live and progress modules, or explain the fix."""
    try:
        rich = importlib.import_module("rich")
        for name in ("console", "table", "live", "progress", "text"):
            importlib.import_module(f"rich.{name}")
    except ImportError:
        raise UsageError(
            f"showing {purpose} needs the 'rich' package: pip install 'aep-jobs[cli]'"
        ) from None
    return rich


def has_rich() -> bool:
    """Check whether rich can be imported."""
    return importlib.util.find_spec("rich") is not None


def choose_format(requested: str) -> str:
    """Resolve ``auto`` to a table on a terminal when rich is installed, else JSON lines."""
    if requested != "auto":
        return requested
    return "table" if sys.stdout.isatty() and has_rich() else "jsonl"


@dataclass(frozen=True)
class JobField:
    """A field of a job that a table shows as a column and ``--fields`` writes as a key.

    :ivar width: the column's width in characters; the last column of a line is never cut
    :ivar value: the field's value for one job, as JSON would hold it
    """

    name: str
    width: int
    value: Callable[[ExportJob], Any]
    help: str


def _timestamp(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _segment_ids(job: ExportJob) -> list[str]:
    segments = job.filter.segments if job.filter is not None else ()
    return [segment.segment_id or "?" for segment in segments]


def error_texts(job: ExportJob) -> list[str]:
    return [f"{error.code or 'no code'}: {error.msg or 'no message'}" for error in job.errors]


JOB_FIELDS: dict[str, JobField] = {
    field.name: field
    for field in (
        JobField("id", 10, lambda job: job.id, "the job id"),
        JobField("status", 10, lambda job: job.status, "NEW, PROCESSING, SUCCEEDED, ..."),
        JobField("created", 20, lambda job: _timestamp(job.created_at), "creation time, UTC"),
        JobField("updated", 20, lambda job: _timestamp(job.updated_at), "last update, UTC"),
        JobField(
            "dataset",
            24,
            lambda job: job.destination.dataset_id if job.destination else None,
            "the destination dataset id",
        ),
        JobField("segments", 38, _segment_ids, "the exported segment ids"),
        JobField(
            "schema", 22, lambda job: job.schema.name if job.schema else None, "the schema name"
        ),
        JobField(
            "profiles",
            10,
            lambda job: job.metrics.total_exported_profile_counter if job.metrics else None,
            "profiles exported",
        ),
        JobField("errors", 40, error_texts, "the errors of a FAILED job, code: message"),
        JobField("type", 10, lambda job: job.job_type, "the job type, e.g. BATCH"),
        JobField(
            "merge-policy",
            36,
            lambda job: job.merge_policy.id if job.merge_policy else None,
            "the merge policy id",
        ),
    )
}
DEFAULT_LIST_FIELDS = ("id", "status", "created", "dataset", "segments")
DEFAULT_WATCH_FIELDS = ("id", "status", "updated", "profiles", "errors")

# Styles of the status cell on a terminal; other statuses are not coloured.
_STATUS_STYLES = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "CANCELLING": "yellow",
    "NEW": "cyan",
    "PROCESSING": "cyan",
}


def parse_fields(text: str) -> tuple[str, ...]:
    """Parse ``--fields``: names separated by commas.

    :raises ValueError: naming an unknown field and listing the known ones
    """
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError(f"expected field names separated by commas, got {text!r}")
    for name in names:
        if name not in JOB_FIELDS:
            raise ValueError(f"unknown field {name!r}; expected some of: {', '.join(JOB_FIELDS)}")
    return names


def fields_help() -> str:
    """Return the help text that lists every field."""
    return "; ".join(f"{field.name} ({field.help})" for field in JOB_FIELDS.values())


class JobTable:
    """Lines of a job table with fixed column widths, so rows printed one by one line up."""

    def __init__(self, names: Sequence[str]) -> None:
        self._fields = [JOB_FIELDS[name] for name in names]

    def header(self) -> str:
        """Return the header line."""
        return self._line([field.name for field in self._fields])

    def row(self, job: ExportJob) -> str:
        """Return a job's line."""
        return self._line([_cell(field.value(job)) for field in self._fields])

    def status_span(self) -> tuple[int, int] | None:
        """Return where the status cell starts and ends in every line, if it is shown."""
        start = 0
        for field in self._fields:
            if field.name == "status":
                return start, start + field.width
            start += field.width + len(_GAP)
        return None

    def styled_row(self, job: ExportJob) -> Any:
        """Return a job's line as rich Text, with its status coloured."""
        from rich.text import Text

        text = Text(self.row(job), no_wrap=True, overflow="ellipsis")
        span = self.status_span()
        style = _STATUS_STYLES.get(job.status)
        if span is not None and style is not None:
            text.stylize(style, *span)
        return text

    def _line(self, cells: list[str]) -> str:
        parts = []
        last = len(self._fields) - 1
        for index, (field, cell) in enumerate(zip(self._fields, cells, strict=True)):
            if index < last:
                if len(cell) > field.width:
                    cell = cell[: field.width - 1] + "…"
                cell = cell.ljust(field.width)
            parts.append(cell)
        return _GAP.join(parts).rstrip()


_GAP = "  "


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def print_line(console: Any, line: Any, style: str | None = None) -> None:
    """Print one table line: cut with an ellipsis at a terminal's edge, and whole when piped."""
    if console.is_terminal:
        console.print(
            line,
            style=style,
            markup=False,
            highlight=False,
            no_wrap=True,
            overflow="ellipsis",
            crop=True,
        )
    else:
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def job_record(job: ExportJob, names: Sequence[str] | None) -> bytes:
    """Encode a job as one JSON line: the API's whole job, or only the named fields."""
    if names is None:
        return _ENCODER.encode(job) + b"\n"
    return _ENCODER.encode({name: JOB_FIELDS[name].value(job) for name in names}) + b"\n"


_ENCODER = msgspec.json.Encoder()


class LiveCount:
    """A count with its rate and elapsed time, redrawn on one line of a terminal.

    ``add`` is cheap enough to call for every job: the text is rebuilt ten times a second
    at most.
    """

    _REDRAW_EVERY = 0.1

    def __init__(self, progress: Any | None, noun: str) -> None:
        self._progress = progress
        self._noun = noun
        self._task = progress.add_task(self._text(0, 0.0), total=None) if progress else None
        self._count = 0
        self._started = time.monotonic()
        self._redrawn = self._started

    @property
    def elapsed(self) -> float:
        """Seconds since the count started."""
        return time.monotonic() - self._started

    def add(self, number: int = 1) -> None:
        """Count ``number`` more."""
        self._count += number
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._redrawn >= self._REDRAW_EVERY:
            self._redrawn = now
            self._progress.update(self._task, description=self._text(self._count, now))

    def summary(self) -> str:
        """Return the final count, time and rate as a sentence."""
        elapsed = self.elapsed
        rate = f" ({self._count / elapsed:,.0f} {self._noun}/s)" if elapsed > 0 else ""
        return f"{self._count:,} {self._noun} in {elapsed:.1f} s{rate}"

    def _text(self, count: int, now: float) -> str:
        elapsed = now - self._started if count else 0.0
        rate = f", {count / elapsed:,.0f}/s" if elapsed > 0 else ""
        return f"{count:,} {self._noun}{rate}"


@contextlib.contextmanager
def live_count(console: Any, noun: str) -> Iterator[LiveCount]:
    """Show a live count on ``console`` until the block ends; the line is then erased.

    Off a terminal, nothing is drawn and the count is only kept.
    """
    if not console.is_terminal:
        yield LiveCount(None, noun)
        return

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield LiveCount(progress, noun)
