"""Random identifiers and values shaped like Adobe's, drawn from a seeded generator.

The integer and choice helpers are faster than ``random.randint`` and ``random.choice``,
which matters when seeding tens of thousands of jobs. Their distribution is uniform up
to the float resolution of ``random()``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["dataset_id", "hex_id", "pick", "random_int", "rfc3339", "uuid4"]

_T = TypeVar("_T")


def random_int(rng: random.Random, low: int, high: int) -> int:
    """Return an integer from ``low`` to ``high``, both included."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, items: Sequence[_T]) -> _T:
    return items[int(rng.random() * len(items))]


def hex_id(rng: random.Random, length: int) -> str:
    """Return ``length`` lower-case hex digits, like a batch id (32) or a dataset id (24)."""
    return f"{rng.getrandbits(length * 4):0{length}x}"


def dataset_id(rng: random.Random) -> str:
    return hex_id(rng, 24)


def uuid4(rng: random.Random) -> str:
    """Return a version 4 UUID string made from ``rng`` instead of the OS's entropy."""
    digits = hex_id(rng, 32)
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def rfc3339(epoch_ms: int) -> str:
    """Format epoch milliseconds as an RFC 3339 UTC timestamp with second precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms // 1000))
