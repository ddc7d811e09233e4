"""Reconciliation: find out whether each create of unknown outcome created its job.

One listing, newest jobs first, serves every unknown create of a run. A listed job matches a
request when it has the request's dataset and the same set of segment ids, and the same
``fields`` and schema name where both the job and the request have one. The listing stops at
jobs created before the earliest unknown create started, minus a clock slack that allows for a
difference between the server's clock and this machine's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import AepJobsError
from ..models import ExportJob, ExportJobRequest
from ._outcomes import BulkOutcome, OutcomeStatus

if TYPE_CHECKING:
    from ..client import ExportJobsClient

logger = logging.getLogger("aep_jobs")

#: Seconds by which the server's clock may differ from this machine's, by default.
DEFAULT_CLOCK_SLACK = 60.0

# The part of a request or job that must be equal: dataset id and segment ids.
_Key = tuple[str | None, frozenset[str]]


@dataclasses.dataclass
class UnknownCreate:
    """A create of unknown outcome, waiting for reconciliation."""

    outcome: BulkOutcome[Any]
    request: ExportJobRequest
    #: Epoch milliseconds when the create was first sent.
    started_at: int


class CreatedJobs:
    """The ids of jobs that this run created, which a reconciliation listing must skip.

    Two identical requests in one run may both create a job: the job of the one that
    succeeded must not be taken for the job of the one left unknown. Until the first unknown
    create, only the ids of the last ``2 * slack`` seconds are kept, since the listing cannot
    reach older jobs. After it, every id is kept.

    :param slack_ms: the clock slack in milliseconds
    """

    def __init__(self, slack_ms: int) -> None:
        self._horizon_ms = 2 * slack_ms
        self._recent: deque[tuple[int, int]] = deque()
        self._all_ids: set[int] | None = None

    def add(self, job_id: int, at_ms: int) -> None:
        """Record a created job; ``at_ms`` is this machine's epoch milliseconds."""
        if self._all_ids is not None:
            self._all_ids.add(job_id)
            return
        self._recent.append((at_ms, job_id))
        while self._recent and self._recent[0][0] < at_ms - self._horizon_ms:
            self._recent.popleft()

    def keep_all(self) -> None:
        """Keep every id from now on: an unknown create happened."""
        if self._all_ids is None:
            self._all_ids = {job_id for _, job_id in self._recent}
            self._recent.clear()

    def __contains__(self, job_id: object) -> bool:
        if self._all_ids is not None:
            return job_id in self._all_ids
        return any(job_id == recent for _, recent in self._recent)


async def reconcile(
    client: ExportJobsClient,
    unknowns: list[UnknownCreate],
    *,
    created: CreatedJobs,
    slack: float,
) -> list[BulkOutcome[Any]]:
    """Decide the unknown creates with one listing, and return their new outcomes.

    A create whose job is found becomes ``created`` with that job; one whose job is not found
    becomes ``not_created``. When the listing fails, every create stays ``unknown`` with the
    listing's error as ``reconcile_error``.
    """
    if not unknowns:
        return []
    slack_ms = round(slack * 1000)
    oldest_ms = min(unknown.started_at for unknown in unknowns) - slack_ms
    waiting = _by_key(unknowns)
    found: dict[int, ExportJob] = {}
    listed = 0

    try:
        async for job in client.iter_jobs():
            listed += 1
            if job.creation_time is not None and job.creation_time < oldest_ms:
                break
            if job.id in created:
                continue
            candidates = waiting.get(_job_key(job))
            if not candidates:
                continue
            match = _first_match(job, candidates, slack_ms)
            if match is not None:
                candidates.remove(match)
                found[match.outcome.index] = job
                if len(found) == len(unknowns):
                    break
    except AepJobsError as error:
        logger.warning(
            "Could not reconcile %d creates of unknown outcome: %s", len(unknowns), error
        )
        return [dataclasses.replace(unknown.outcome, reconcile_error=error) for unknown in unknowns]

    logger.info(
        "Reconciled %d creates of unknown outcome after listing %d jobs: %d found, %d not created",
        len(unknowns),
        listed,
        len(found),
        len(unknowns) - len(found),
    )
    return [_decided(unknown, found.get(unknown.outcome.index)) for unknown in unknowns]


def _decided(unknown: UnknownCreate, job: ExportJob | None) -> BulkOutcome[Any]:
    if job is None:
        return dataclasses.replace(
            unknown.outcome, status=OutcomeStatus.NOT_CREATED, reconciled=True
        )
    return dataclasses.replace(
        unknown.outcome, status=OutcomeStatus.CREATED, job=job, error=None, reconciled=True
    )


def _by_key(unknowns: Iterable[UnknownCreate]) -> dict[_Key, list[UnknownCreate]]:
    """Group the creates by dataset and segments, latest started first in each group."""
    groups: dict[_Key, list[UnknownCreate]] = {}
    for unknown in unknowns:
        groups.setdefault(_request_key(unknown.request), []).append(unknown)
    for group in groups.values():
        group.sort(key=lambda unknown: unknown.started_at, reverse=True)
    return groups


def _first_match(
    job: ExportJob, candidates: list[UnknownCreate], slack_ms: int
) -> UnknownCreate | None:
    """Return the latest started create that ``job`` may be the result of.

    The listing yields the newest job first, so the newest job goes to the create that
    started last, and each job to one create at most.
    """
    for candidate in candidates:
        if job.creation_time is not None and job.creation_time < candidate.started_at - slack_ms:
            continue
        if _details_agree(job, candidate.request):
            return candidate
    return None


def _request_key(request: ExportJobRequest) -> _Key:
    segments = request.filter.segments if request.filter is not None else None
    return (
        request.destination.dataset_id,
        frozenset(segment.segment_id for segment in segments or ()),
    )


def _job_key(job: ExportJob) -> _Key:
    dataset = job.destination.dataset_id if job.destination is not None else None
    segments = job.filter.segments if job.filter is not None else ()
    return dataset, frozenset(s.segment_id for s in segments if s.segment_id is not None)


def _details_agree(job: ExportJob, request: ExportJobRequest) -> bool:
    """Compare ``fields`` and the schema name, where both sides have them."""
    if request.fields is not None and job.fields is not None and request.fields != job.fields:
        return False
    job_schema = job.schema.name if job.schema is not None else None
    return job_schema is None or job_schema == request.schema.name
