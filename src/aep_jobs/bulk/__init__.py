"""Many creates or cancels at once: bounded, paced by the server's 429s, one outcome per input.

``ExportJobsClient.create_many`` and ``cancel_many`` call the functions here:

    async with client.create_many(requests, max_concurrency=32) as outcomes:
        async for outcome in outcomes:
            ...
    summary = await collect(client.cancel_many(job_ids))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import RequestValidationError
from ..models import ExportJob, ExportJobRequest
from ..retry import RetryPolicy
from ._operations import CancelOperation, CreateOperation
from ._outcomes import BulkOutcome, BulkProgress, BulkSummary, OutcomeStatus
from ._reconcile import DEFAULT_CLOCK_SLACK
from ._run import BulkRun, ProgressCallback, check_limits, collect

if TYPE_CHECKING:
    from ..client import ExportJobsClient

__all__ = [
    "DEFAULT_CLOCK_SLACK",
    "DEFAULT_MAX_CONCURRENCY",
    "BulkOutcome",
    "BulkProgress",
    "BulkRun",
    "BulkSummary",
    "OutcomeStatus",
    "cancel_many",
    "collect",
    "create_many",
]

#: Requests in flight at most in a bulk run, unless the call sets its own.
DEFAULT_MAX_CONCURRENCY = 32

RequestT = TypeVar("RequestT", bound="ExportJobRequest | Mapping[str, Any]")
JobRefT = TypeVar("JobRefT", bound="int | str | ExportJob")


def create_many(
    client: ExportJobsClient,
    requests: Iterable[RequestT] | AsyncIterable[RequestT],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_per_second: float | None = None,
    reconcile: bool = False,
    reconcile_slack: float = DEFAULT_CLOCK_SLACK,
    progress: ProgressCallback | None = None,
    profile_instance_id: str | None = None,
    retry: RetryPolicy | None = None,
    deadline: float | None = None,
) -> BulkRun[RequestT]:
    """Create an export job for each request.

    See [`ExportJobsClient.create_many`][aep_jobs.ExportJobsClient.create_many].
    """
    check_limits(client, max_concurrency, max_per_second)
    _check_slack(reconcile_slack)
    policy = _bulk_policy(client, retry)
    operation = CreateOperation(
        retry=policy, deadline=deadline, profile_instance_id=profile_instance_id
    )
    return BulkRun(
        client,
        requests,
        operation,
        max_concurrency=max_concurrency,
        max_per_second=max_per_second,
        retry=policy,
        progress=progress,
        reconcile=reconcile,
        reconcile_slack=reconcile_slack,
    )


def cancel_many(
    client: ExportJobsClient,
    job_ids: Iterable[JobRefT] | AsyncIterable[JobRefT],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_per_second: float | None = None,
    progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    deadline: float | None = None,
) -> BulkRun[JobRefT]:
    """Cancel each export job.

    See [`ExportJobsClient.cancel_many`][aep_jobs.ExportJobsClient.cancel_many].
    """
    check_limits(client, max_concurrency, max_per_second)
    policy = _bulk_policy(client, retry)
    return BulkRun(
        client,
        job_ids,
        CancelOperation(retry=policy, deadline=deadline),
        max_concurrency=max_concurrency,
        max_per_second=max_per_second,
        retry=policy,
        progress=progress,
        reconcile=False,
        reconcile_slack=DEFAULT_CLOCK_SLACK,
    )


def _bulk_policy(client: ExportJobsClient, retry: RetryPolicy | None) -> RetryPolicy:
    """Return the per-request policy of a bulk run: the given one, or the client's, minus 429.

    The run handles 429 itself, with one pause for all its workers, so the client must not
    wait out a 429 in each request on its own.
    """
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise RequestValidationError("retry", retry, "expected a RetryPolicy or None")
    base = retry if retry is not None else client._sender.retry
    return dataclasses.replace(base, statuses=base.statuses - {429})


def _check_slack(slack: object) -> None:
    if (
        not isinstance(slack, (int, float))
        or isinstance(slack, bool)
        or not math.isfinite(slack)
        or slack < 0
    ):
        raise RequestValidationError("reconcile_slack", slack, "expected seconds >= 0, such as 60")
