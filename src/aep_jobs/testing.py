"""A pytest plugin that gives your tests a running emulator and a client bound to it.

Installed with aep_jobs and loaded by pytest on its own (entry point ``aep_jobs``). Its
fixtures:

- ``aep_emulator``: a fresh [`Emulator`][aep_jobs.emulator.Emulator] for each test, seeded with
  jobs and set up from the test's ``aep_emulator`` marker;
- ``aep_client``: an [`ExportJobsClient`][aep_jobs.ExportJobsClient] bound to it in-process
  (an async fixture: run the test with anyio's pytest plugin, ``@pytest.mark.anyio``);
- ``aep_server``: the same emulator served on a free port of 127.0.0.1, for code that makes
  its own HTTP connections; ``aep_server.base_url`` is its service root.

The marker takes the seeded job count, fault rules and any ``EmulatorConfig`` field:

    @pytest.mark.aep_emulator(jobs=500, faults=[FaultRule(Fault.status(503), share=0.1)],
                              processing_after=0.1, finish_after=0.5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .client import ExportJobsClient
from .emulator import (
    IN_PROCESS_BASE_URL,
    IN_PROCESS_IMS_URL,
    Emulator,
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
    serve,
)

__all__ = ["TEST_API_KEY", "TEST_ORG_ID", "TEST_TOKEN"]

#: The credentials that ``aep_client`` sends; the emulator accepts them by default.
TEST_ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
TEST_API_KEY = "aep-jobs-test-client"
TEST_TOKEN = "aep-jobs-test-token"

_DEFAULT_JOBS = 100


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the option that sets how many jobs the emulator is seeded with by default."""
    group = parser.getgroup("aep_jobs", "aep_jobs emulator")
    group.addoption(
        "--aep-emulator-jobs",
        type=int,
        default=_DEFAULT_JOBS,
        help=f"jobs seeded into the aep_emulator fixture unless a marker sets another number "
        f"(default {_DEFAULT_JOBS})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``aep_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "aep_emulator(jobs=N, faults=[FaultRule, ...], **EmulatorConfig fields): "
        "set up the aep_emulator fixture for this test",
    )


@pytest.fixture
def aep_emulator(request: pytest.FixtureRequest) -> Emulator:
    """Return a fresh emulator, set up by the test's ``aep_emulator`` marker."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("aep_emulator")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(
                "@pytest.mark.aep_emulator takes keyword arguments only, e.g. jobs=500"
            )
        options = dict(marker.kwargs)
    jobs = options.pop("jobs", request.config.getoption("--aep-emulator-jobs"))
    faults = options.pop("faults", ())
    try:
        config = EmulatorConfig(**options)
    except TypeError as error:
        settings = ", ".join(field.name for field in dataclasses.fields(EmulatorConfig))
        raise pytest.UsageError(
            f"@pytest.mark.aep_emulator: {error}; it takes jobs, faults and {settings}"
        ) from None

    emulator = Emulator(config)
    emulator.seed(jobs)
    for rule in faults:
        if not isinstance(rule, FaultRule):
            raise pytest.UsageError(
                f"@pytest.mark.aep_emulator faults must be FaultRule objects, not {rule!r}"
            )
        # pytest builds the marker once for every run of the test (each backend, each
        # parameter), and a rule counts the requests it saw, so each run gets a fresh copy.
        emulator.inject(
            FaultRule(
                rule.fault,
                method=rule.method,
                route=rule.route,
                share=rule.share,
                requests=rule.requests,
                limit=rule.limit,
            )
        )
    return emulator


@pytest.fixture
async def aep_client(aep_emulator: Emulator) -> AsyncIterator[ExportJobsClient]:
    """Return a client bound to ``aep_emulator`` in-process, closed after the test."""
    async with ExportJobsClient(
        org_id=TEST_ORG_ID,
        api_key=TEST_API_KEY,
        sandbox="prod",
        token=TEST_TOKEN,
        base_url=IN_PROCESS_BASE_URL,
        ims_url=IN_PROCESS_IMS_URL,
        transport=aep_emulator.transport(),
    ) as client:
        yield client


@pytest.fixture
def aep_server(aep_emulator: Emulator) -> Iterator[EmulatorServer]:
    """Serve ``aep_emulator`` on a free port of 127.0.0.1 for the length of the test."""
    with serve(aep_emulator) as server:
        yield server
