"""Fixtures of the emulator tests. Every async test runs on asyncio and on Trio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aep_jobs.emulator import (
    IN_PROCESS_BASE_URL,
    IN_PROCESS_IMS_URL,
    Emulator,
    EmulatorConfig,
    serve,
)

from .helpers import FakeClock, Target


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    """An emulator with no jobs, on a clock frozen until a test advances it."""
    return Emulator(EmulatorConfig(clock=clock))


@pytest.fixture(params=["in-process", "socket"])
def target(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Target]:
    """The ``emulator`` fixture through its in-process transport, then over a loopback server."""
    if request.param == "in-process":
        yield Target(emulator, IN_PROCESS_BASE_URL, IN_PROCESS_IMS_URL, over_socket=False)
        return
    with serve(emulator) as server:
        yield Target(emulator, server.base_url, server.ims_url, over_socket=True)
