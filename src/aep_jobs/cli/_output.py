"""Terminal output helpers shared by the commands; rich is imported only when needed."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from ..models import ExportJob
from . import UsageError


def require_rich(purpose: str) -> ModuleType:
    """Import rich with its console, table, live and progress modules, or explain the fix."""
    try:
        rich = importlib.import_module("rich")
        for name in ("console", "table", "live", "progress"):
            importlib.import_module(f"rich.{name}")
    except ImportError:
        raise UsageError(
            f"showing {purpose} needs the 'rich' package: pip install 'aep-jobs[cli]'"
        ) from None
    return rich


def has_rich() -> bool:
    """Check whether rich can be imported."""
    return importlib.util.find_spec("rich") is not None


# Column titles and widths, fixed so that rows printed page by page line up. The last
# column takes the rest of the line.
_COLUMNS = (("id", 10), ("status", 10), ("created (UTC)", 19), ("dataset", 24), ("segments", 0))


def job_line(cells: tuple[str, ...]) -> str:
    """Return one line of a job table: cells padded or cut to their column's width."""
    parts = []
    for (_, width), cell in zip(_COLUMNS, cells, strict=True):
        if width and len(cell) > width:
            cell = cell[: width - 1] + "…"
        parts.append(cell.ljust(width))
    return "  ".join(parts).rstrip()


def job_table_header() -> str:
    """Return the header line of a job table."""
    return job_line(tuple(title for title, _ in _COLUMNS))


def job_row(job: ExportJob) -> tuple[str, ...]:
    """Return a job's cells for a job table."""
    created = job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""
    dataset = job.destination.dataset_id or "" if job.destination else ""
    segments = ", ".join(
        segment.segment_id or "?" for segment in (job.filter.segments if job.filter else [])
    )
    return (str(job.id), job.status, created, dataset, segments)
