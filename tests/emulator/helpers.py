"""Shared values for the emulator tests: request headers, a create body, a fake clock, targets."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from aep_jobs.emulator import DEFAULT_ORG_ID, IN_PROCESS_BASE_URL, Emulator

HEADERS = {
    "Authorization": "Bearer test-token",
    "x-api-key": "test-client-id",
    "x-gw-ims-org-id": DEFAULT_ORG_ID,
    "x-sandbox-name": "prod",
}

# The create request of Adobe's guide, with valid JSON.
CREATE_BODY: dict[str, Any] = {
    "fields": "identities.id,personalEmail.address",
    "mergePolicy": {"id": "timestampOrdered-none-mp", "version": 1},
    "filter": {
        "segments": [
            {
                "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                "segmentNs": "ups",
                "status": ["realized"],
            }
        ],
        "segmentQualificationTime": {
            "startTime": "2018-01-01T00:00:00Z",
            "endTime": "2018-02-01T00:00:00Z",
        },
        "fromIngestTimestamp": "2018-01-01T00:00:00Z",
        "emptyProfiles": True,
    },
    "additionalFields": {
        "eventList": {
            "fields": "_id,_experience",
            "filter": {
                "fromIngestTimestamp": "2018-01-01T00:00:00Z",
                "toIngestTimestamp": "2020-01-01T00:00:00Z",
            },
        }
    },
    "destination": {"datasetId": "5b7c86968f7b6501e21ba9df", "segmentPerBatch": False},
    "schema": {"name": "_xdm.context.profile"},
    "evaluationInfo": {"segmentation": True},
}

# 2025-10-09T08:53:20Z, a whole second so that millisecond values are easy to read.
START_TIME = 1_760_000_000.0


class FakeClock:
    """A clock for ``EmulatorConfig.clock`` that moves only when a test advances it."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)


def create_body() -> dict[str, Any]:
    """Return a fresh copy of ``CREATE_BODY`` that a test may change."""
    return copy.deepcopy(CREATE_BODY)


def api_client(emulator: Emulator, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """Return a client that sends requests to ``emulator`` in-process, with valid headers."""
    return httpx.AsyncClient(
        transport=emulator.transport(),
        base_url=IN_PROCESS_BASE_URL,
        headers=HEADERS if headers is None else headers,
    )


@dataclass(frozen=True)
class Target:
    """An emulator reached in-process or over a loopback socket, with the same test code."""

    emulator: Emulator
    base_url: str
    ims_url: str
    """URL of the IMS token endpoint."""
    over_socket: bool

    def client(self, **settings: Any) -> httpx.AsyncClient:
        """Return a client with valid headers; ``settings`` go to ``httpx.AsyncClient``."""
        transport = None if self.over_socket else self.emulator.transport()
        return httpx.AsyncClient(
            transport=transport, base_url=self.base_url, headers=HEADERS, **settings
        )

    def plain_client(self, **settings: Any) -> httpx.AsyncClient:
        """Return a client without default headers or base URL, as a token client is."""
        transport = None if self.over_socket else self.emulator.transport()
        return httpx.AsyncClient(transport=transport, **settings)


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``condition()`` is true, for state that the server thread changes."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"The condition was still false after {within} s")
        await anyio.sleep(0.01)
