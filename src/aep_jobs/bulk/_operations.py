"""The two bulk operations, create and cancel: how one input is sent and what its result means."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._validation import check_export_request, parse_export_request
from ..errors import (
    AepJobsError,
    DecodeError,
    OutcomeUnknownError,
    RateLimitError,
)
from ..models import CancelResult, ExportJob, ExportJobRequest
from ..retry import RetryPolicy
from ._outcomes import OutcomeStatus

if TYPE_CHECKING:
    from ..client import ExportJobsClient


@dataclasses.dataclass(frozen=True)
class SendResult:
    """The result of sending one input, before the run adds its index and input.

    :ivar request: for an unknown create, the request as sent, so that reconciliation can
        look for the job it may have created
    :ivar started_at: for an unknown create, epoch milliseconds when it was first sent
    """

    status: OutcomeStatus
    job: ExportJob | None = None
    cancel_result: CancelResult | None = None
    error: AepJobsError | None = None
    request: ExportJobRequest | None = None
    started_at: int | None = None


class Operation(Protocol):
    """Sends one input of a bulk run."""

    #: What the operation does, for log messages, e.g. ``create``.
    name: str

    async def send(self, client: ExportJobsClient, item: Any) -> SendResult:
        """Send ``item`` once and return what happened.

        :raises RateLimitError: the server responded 429, and did not act on the request
        """
        ...


class CreateOperation:
    """Creates an export job from each input, an ``ExportJobRequest`` or a mapping."""

    name = "create"

    def __init__(
        self, *, retry: RetryPolicy, deadline: float | None, profile_instance_id: str | None
    ) -> None:
        self._retry = retry
        self._deadline = deadline
        self._profile_instance_id = profile_instance_id

    async def send(self, client: ExportJobsClient, item: Any) -> SendResult:
        started_at = int(time.time() * 1000)
        try:
            job = await client.create(
                item,
                profile_instance_id=self._profile_instance_id,
                retry=self._retry,
                deadline=self._deadline,
            )
        except RateLimitError:
            raise
        except OutcomeUnknownError as error:
            return SendResult(
                OutcomeStatus.UNKNOWN,
                error=error,
                request=error.request,
                started_at=error.started_at,
            )
        except DecodeError as error:
            # The server responded 200, so the job exists, but its id could not be read.
            return SendResult(
                OutcomeStatus.UNKNOWN,
                error=error,
                request=_typed_request(item),
                started_at=started_at,
            )
        except AepJobsError as error:
            return SendResult(OutcomeStatus.FAILED, error=error)
        return SendResult(OutcomeStatus.CREATED, job=job)


class CancelOperation:
    """Cancels the export job of each input: a job id, or an ``ExportJob``."""

    name = "cancel"

    def __init__(self, *, retry: RetryPolicy, deadline: float | None) -> None:
        self._retry = retry
        self._deadline = deadline

    async def send(self, client: ExportJobsClient, item: Any) -> SendResult:
        job_id = item.id if isinstance(item, ExportJob) else item
        try:
            result = await client.cancel(job_id, retry=self._retry, deadline=self._deadline)
        except RateLimitError:
            raise
        except AepJobsError as error:
            return SendResult(OutcomeStatus.FAILED, error=error)
        return SendResult(OutcomeStatus.CANCELLED, cancel_result=result)


def _typed_request(item: Any) -> ExportJobRequest | None:
    """Return the input of a create that the server accepted as a typed request."""
    try:
        if isinstance(item, Mapping):
            return parse_export_request(item)
        return check_export_request(item)
    except AepJobsError:
        # Unreachable in practice: the client validated the same input before sending it.
        return None
