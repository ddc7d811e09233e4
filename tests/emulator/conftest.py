"""Fixtures of the emulator tests. Every async test runs on asyncio and on Trio."""

from __future__ import annotations

import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import FakeClock


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
