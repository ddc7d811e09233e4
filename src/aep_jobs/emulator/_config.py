"""Settings of the emulator: credentials, IMS tokens, job lifecycles, pages, latency, rate limit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ._rate_limit import RateLimit

__all__ = ["DEFAULT_ORG_ID", "CancelStyle", "EmulatorConfig"]

#: The IMS organization id of the emulated organization unless ``EmulatorConfig.org_id`` sets
#: another.
DEFAULT_ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"

#: How the emulator responds to a cancel: ``"body"`` with 200 and a JSON body, ``"empty"``
#: with 204 and no body.
CancelStyle = Literal["body", "empty"]


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulated organisation.

    :param org_id: IMS organisation id written into every job's ``imsOrgId``.
        Requests may send any non-empty ``x-gw-ims-org-id``.
    :param api_keys: API keys (client ids) accepted in ``x-api-key``. ``None`` accepts any
        non-empty key.
    :param access_tokens: bearer tokens accepted in ``Authorization``, besides the tokens
        that the IMS token endpoint issued. ``None`` accepts any non-empty token, unless
        ``require_issued_tokens`` is set.
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
        no limit. API requests over it get 429 with ``Retry-After``. Its refill follows
        ``clock``, so a fake clock makes it deterministic. Token requests send no
        organisation and are not limited. Inject 429 faults on ``/ims/token/v3`` instead.
    :param ims_clients: the secret of each client id that the IMS token endpoint accepts.
        ``None`` accepts any non-empty client id and secret.
    :param ims_scopes: the scopes that a token request may ask for, or None for any.
    :param token_lifetime: seconds for which an issued token is valid by ``clock``, sent
        as the whole seconds of ``expires_in``. Adobe IMS sends 86399. At least 1.
    :param require_issued_tokens: whether the API accepts only tokens that the token
        endpoint or ``Emulator.issue_token()`` issued and that have not expired or been
        revoked, plus ``access_tokens``. Other tokens get 401 with error code 401013.
        False accepts any non-empty token when ``access_tokens`` is None.
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
    # Out of repr() for its secrets, and out of hash() because a mapping has no hash.
    ims_clients: Mapping[str, str] | None = field(default=None, repr=False, hash=False)
    ims_scopes: AbstractSet[str] | None = None
    token_lifetime: float = 86399.0
    require_issued_tokens: bool = False

    def __post_init__(self) -> None:
        if not self.org_id:
            raise ValueError("org_id must not be empty")
        if self.api_keys is not None:
            object.__setattr__(self, "api_keys", frozenset(self.api_keys))
        if self.access_tokens is not None:
            object.__setattr__(self, "access_tokens", frozenset(self.access_tokens))
        self._check_ims_settings()

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

    def _check_ims_settings(self) -> None:
        if self.ims_clients is not None:
            object.__setattr__(self, "ims_clients", _frozen_clients(self.ims_clients))
        if self.ims_scopes is not None:
            object.__setattr__(self, "ims_scopes", _frozen_scopes(self.ims_scopes))
        lifetime = self.token_lifetime
        is_number = isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool)
        if not (is_number and math.isfinite(lifetime) and lifetime >= 1):
            raise ValueError(
                "token_lifetime must be a finite number of seconds >= 1, because expires_in "
                f"is sent in whole seconds, got {lifetime!r}"
            )


def _frozen_clients(clients: Mapping[str, str]) -> Mapping[str, str]:
    """Return a read-only copy of ``clients`` after checking that no id or secret is empty."""
    copied = dict(clients)
    for client_id, secret in copied.items():
        if not (isinstance(client_id, str) and client_id):
            raise ValueError(f"ims_clients has an empty or non-string client id: {client_id!r}")
        # The message names the client id only, so that no secret is shown.
        if not (isinstance(secret, str) and secret):
            raise ValueError(
                f"ims_clients has an empty or non-string secret for client {client_id!r}"
            )
    return MappingProxyType(copied)


def _frozen_scopes(scopes: AbstractSet[str]) -> frozenset[str]:
    """Return ``scopes`` as a frozenset after checking that each one is a valid scope name."""
    frozen = frozenset(scopes)
    if not frozen:
        raise ValueError("ims_scopes must be None or a non-empty set, got an empty set")
    for scope in frozen:
        if not isinstance(scope, str) or not scope or scope != scope.strip() or "," in scope:
            raise ValueError(
                "ims_scopes must contain non-empty scope names without commas or surrounding "
                f"spaces, got {scope!r}"
            )
    return frozen


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
