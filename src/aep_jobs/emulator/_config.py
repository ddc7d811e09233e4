"""Settings of the emulator: credentials, job lifecycle timing, page size, latency, rate limit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Literal

from ._rate_limit import RateLimit

__all__ = ["DEFAULT_ORG_ID", "CancelStyle", "EmulatorConfig"]

DEFAULT_ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"

CancelStyle = Literal["body", "empty"]


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulated organisation.

    :param org_id: IMS organisation id written into every job's ``imsOrgId``.
        Requests may send any non-empty ``x-gw-ims-org-id``.
    :param api_keys: API keys (client ids) accepted in ``x-api-key``. ``None`` accepts any
        non-empty key.
    :param access_tokens: bearer tokens accepted in ``Authorization``. ``None`` accepts any
        non-empty token.
    :param variant_share: share of seeded jobs, from 0 to 1, rendered with the unusual
        spellings that real responses contain (``dataSetId``, floats for integers, and so on).
    :param processing_after: seconds after creation at which a created job becomes PROCESSING.
        Seeded NEW jobs become PROCESSING this long after ``Emulator.seed()``.
    :param finish_after: seconds after creation at which a created job becomes SUCCEEDED or
        FAILED. Must not be less than ``processing_after``. Seeded NEW and PROCESSING jobs
        finish this long after ``Emulator.seed()``.
    :param failure_share: share of jobs, from 0 to 1, that end FAILED, among created and
        seeded jobs alike.
    :param cancel_style: ``"body"`` responds to a cancel with 200 and
        ``{"status": true, "message": ...}``, ``"empty"`` with 204 and no body. Adobe's
        spec and guide disagree, so clients should handle both.
    :param max_page_size: maximum number of jobs on one page, ``None`` for no cap. A larger
        ``limit``, or no ``limit`` at all, is silently reduced to it.
    :param seed: seed of the random generators, so seeded jobs and lifecycle outcomes
        repeat from run to run.
    :param clock: function returning the current time in seconds since the epoch. Tests
        can pass a fake clock to move jobs through their lifecycle without sleeping.
    :param request_log_size: number of recent requests kept in ``Emulator.request_log``.
    :param latency: seconds added to every request before it is processed, waited with
        ``anyio.sleep`` on the event loop's own clock, not on ``clock``.
    :param rate_limit: a token bucket per organisation (``x-gw-ims-org-id``), or None for
        no limit. Requests over it get 429 with ``Retry-After``. Its refill follows
        ``clock``, so a fake clock makes it deterministic.
    """

    org_id: str = DEFAULT_ORG_ID
    # Kept out of repr(), so that printing or logging a config shows no credentials.
    api_keys: AbstractSet[str] | None = field(default=None, repr=False)
    access_tokens: AbstractSet[str] | None = field(default=None, repr=False)
    variant_share: float = 0.1
    processing_after: float = 0.5
    finish_after: float = 2.0
    failure_share: float = 0.1
    cancel_style: CancelStyle = "body"
    max_page_size: int | None = None
    seed: int = 0
    clock: Callable[[], float] = field(default=time.time)
    request_log_size: int = 1000
    latency: float = 0.0
    rate_limit: RateLimit | None = None

    def __post_init__(self) -> None:
        if not self.org_id:
            raise ValueError("org_id must not be empty")
        if self.api_keys is not None:
            object.__setattr__(self, "api_keys", frozenset(self.api_keys))
        if self.access_tokens is not None:
            object.__setattr__(self, "access_tokens", frozenset(self.access_tokens))

        _check_share("variant_share", self.variant_share)
        _check_share("failure_share", self.failure_share)
        if self.processing_after < 0:
            raise ValueError(f"processing_after must be >= 0 seconds, got {self.processing_after}")
        if self.finish_after < self.processing_after:
            raise ValueError(
                f"finish_after ({self.finish_after} s) must not be less than "
                f"processing_after ({self.processing_after} s)"
            )

        if self.cancel_style not in ("body", "empty"):
            raise ValueError(f"cancel_style must be 'body' or 'empty', got {self.cancel_style!r}")
        if self.max_page_size is not None and self.max_page_size < 1:
            raise ValueError(f"max_page_size must be None or >= 1, got {self.max_page_size}")
        if self.request_log_size < 0:
            raise ValueError(f"request_log_size must be >= 0, got {self.request_log_size}")
        if not (math.isfinite(self.latency) and self.latency >= 0):
            raise ValueError(f"latency must be a finite number of seconds >= 0, got {self.latency}")
        if self.rate_limit is not None and not isinstance(self.rate_limit, RateLimit):
            raise TypeError(
                f"rate_limit must be a RateLimit or None, got {type(self.rate_limit).__name__}"
            )


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
