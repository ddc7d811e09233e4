"""Access tokens that the emulator issued, with their expiry times on the emulator's clock."""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable

__all__ = ["TokenRegistry", "check_lifetime"]

# Expired tokens are removed when the registry reaches this many tokens, and again each
# time it doubles, so that removal costs O(1) per issued token on average.
_MIN_PRUNE_SIZE = 1024


class TokenRegistry:
    """The tokens one emulator issued and the token endpoint's counters, safe from any thread.

    A token is valid from its issue until ``lifetime`` seconds later by ``clock``, or until
    ``revoke_all()``.

    :param clock: the emulator's clock, in seconds since the epoch.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Expiry time by token, in the clock's seconds.
        self._expiry: dict[str, float] = {}
        self._prune_size = _MIN_PRUNE_SIZE
        self._requests = 0
        self._issued_by_endpoint = 0

    @property
    def token_requests(self) -> int:
        return self._requests

    @property
    def issued_by_endpoint(self) -> int:
        return self._issued_by_endpoint

    def count_request(self) -> None:
        with self._lock:
            self._requests += 1

    def issue(self, lifetime: float, *, by_endpoint: bool) -> str:
        """Create a token valid for ``lifetime`` seconds and return it.

        :param by_endpoint: whether the token endpoint issued it, which counts it in
            ``issued_by_endpoint``.
        """
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            if len(self._expiry) >= self._prune_size:
                self._remove_expired(now)
                self._prune_size = max(_MIN_PRUNE_SIZE, 2 * len(self._expiry))
            self._expiry[token] = now + lifetime
            if by_endpoint:
                self._issued_by_endpoint += 1
        return token

    def is_valid(self, token: str) -> bool:
        """Return whether ``token`` was issued, is not revoked and has not expired."""
        with self._lock:
            expiry = self._expiry.get(token)
            if expiry is None:
                return False
            if self._clock() >= expiry:
                del self._expiry[token]
                return False
            return True

    def revoke_all(self) -> None:
        with self._lock:
            self._expiry.clear()

    def _remove_expired(self, now: float) -> None:
        expired = [token for token, expiry in self._expiry.items() if now >= expiry]
        for token in expired:
            del self._expiry[token]


def check_lifetime(name: str, seconds: float) -> None:
    """Raise ValueError unless ``seconds`` is a finite number greater than 0."""
    is_number = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    if not (is_number and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {seconds!r}")
