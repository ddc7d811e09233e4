"""What a bulk run reports: one outcome per input, progress counts, and a final summary."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import Generic, TypeVar

from ..errors import AepJobsError
from ..models import CancelResult, ExportJob

__all__ = ["BulkOutcome", "BulkProgress", "BulkSummary", "OutcomeStatus"]

InputT = TypeVar("InputT")


class OutcomeStatus(str, enum.Enum):
    """What happened to one input of a bulk run. Members compare equal to their strings."""

    #: The export job was created; ``BulkOutcome.job`` is the new job.
    CREATED = "created"
    #: The server accepted the cancellation of the job.
    CANCELLED = "cancelled"
    #: The request failed and the server did not act on it; ``BulkOutcome.error`` gives the reason.
    FAILED = "failed"
    #: A create whose outcome is unknown: the job may exist. Without reconciliation, list
    #: the jobs before creating it again.
    UNKNOWN = "unknown"
    #: A create whose outcome was unknown, and that reconciliation found no job for.
    NOT_CREATED = "not_created"


#: The statuses that count as success.
SUCCESS_STATUSES = frozenset({OutcomeStatus.CREATED, OutcomeStatus.CANCELLED})


@dataclasses.dataclass(frozen=True)
class BulkOutcome(Generic[InputT]):
    """The outcome of one input of a bulk run.

    :ivar index: the input's position, 0 for the first
    :ivar input: the input as the caller gave it
    :ivar status: what happened
    :ivar job: the created job; for an unknown create that reconciliation found, the job it
        found
    :ivar cancel_result: the server's response to a cancellation
    :ivar error: why the input failed or is unknown (a not-created outcome keeps the error
        that left it unknown)
    :ivar reconciled: whether reconciliation decided the status of an unknown create
    :ivar reconcile_error: why reconciliation could not decide, for a create still unknown
    :ivar sends: requests sent for this input; more than 1 after resends that followed a 429
    """

    index: int
    input: InputT
    status: OutcomeStatus
    job: ExportJob | None = None
    cancel_result: CancelResult | None = None
    error: AepJobsError | None = None
    reconciled: bool = False
    reconcile_error: AepJobsError | None = None
    sends: int = 1

    @property
    def ok(self) -> bool:
        """Whether the job was created or cancelled."""
        return self.status in SUCCESS_STATUSES


@dataclasses.dataclass(frozen=True)
class BulkProgress:
    """Counts of a bulk run so far, given to the ``progress`` callback after each outcome.

    :ivar done: outcomes delivered, whatever their status
    :ivar succeeded: outcomes created or cancelled
    :ivar failed: failed and not-created outcomes
    :ivar unknown: creates whose outcome is unknown (reconciliation runs after the last input)
    :ivar total: the number of inputs, when the input is a sized collection; else ``None``
    :ivar elapsed: seconds since the run started
    :ivar rate: outcomes per second since the run started
    :ivar rate_limited: responses with HTTP 429 so far
    :ivar concurrency: the current limit on requests in flight
    """

    done: int
    succeeded: int
    failed: int
    unknown: int
    total: int | None
    elapsed: float
    rate: float
    rate_limited: int
    concurrency: int


@dataclasses.dataclass(frozen=True)
class BulkSummary(Generic[InputT]):
    """Every outcome of a bulk run, grouped by status, with counts and timing.

    Each list is in input order.

    :ivar succeeded: created or cancelled outcomes
    :ivar failed: failed outcomes, each with its ``error``
    :ivar unknown: creates whose outcome is still unknown
    :ivar not_created: unknown creates that reconciliation found no job for
    :ivar counts: the number of outcomes per status, every status included
    :ivar elapsed: seconds from the start of the run to its last outcome
    :ivar rate: outcomes per second
    :ivar rate_limited: responses with HTTP 429 during the run
    """

    succeeded: list[BulkOutcome[InputT]]
    failed: list[BulkOutcome[InputT]]
    unknown: list[BulkOutcome[InputT]]
    not_created: list[BulkOutcome[InputT]]
    counts: dict[OutcomeStatus, int]
    elapsed: float
    rate: float
    rate_limited: int

    @classmethod
    def from_outcomes(
        cls,
        outcomes: Iterable[BulkOutcome[InputT]],
        *,
        elapsed: float,
        rate_limited: int,
    ) -> BulkSummary[InputT]:
        """Group outcomes by status, in input order."""
        groups: dict[OutcomeStatus, list[BulkOutcome[InputT]]] = {s: [] for s in OutcomeStatus}
        for outcome in sorted(outcomes, key=lambda outcome: outcome.index):
            groups[outcome.status].append(outcome)
        succeeded = sorted(
            groups[OutcomeStatus.CREATED] + groups[OutcomeStatus.CANCELLED],
            key=lambda outcome: outcome.index,
        )
        total = sum(len(group) for group in groups.values())
        return cls(
            succeeded=succeeded,
            failed=groups[OutcomeStatus.FAILED],
            unknown=groups[OutcomeStatus.UNKNOWN],
            not_created=groups[OutcomeStatus.NOT_CREATED],
            counts={status: len(group) for status, group in groups.items()},
            elapsed=elapsed,
            rate=total / elapsed if elapsed > 0 else 0.0,
            rate_limited=rate_limited,
        )

    @property
    def total(self) -> int:
        """The number of outcomes, one per input."""
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        """Whether every input was created or cancelled."""
        return len(self.succeeded) == self.total

    @property
    def jobs(self) -> list[ExportJob]:
        """The created jobs, reconciled ones included, in input order."""
        return [outcome.job for outcome in self.succeeded if outcome.job is not None]
