"""Terminal output helpers shared by the commands; rich is imported only when needed."""

from __future__ import annotations

import importlib
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


def job_table_columns() -> tuple[str, ...]:
    """Return the column titles of a job table."""
    return ("id", "status", "created (UTC)", "dataset", "segments")


def job_row(job: ExportJob) -> tuple[str, ...]:
    """Return a job's cells for a job table."""
    created = job.created_at.strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""
    dataset = job.destination.dataset_id or "" if job.destination else ""
    segments = ", ".join(
        segment.segment_id or "?" for segment in (job.filter.segments if job.filter else [])
    )
    return (str(job.id), job.status, created, dataset, segments)
