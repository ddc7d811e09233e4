"""The pytest plugin, run on test files of the kind a user writes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import pytest
from aep_jobs import ServerError
from aep_jobs.emulator import Fault, FaultRule

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


async def test_default_jobs(aep_client, aep_emulator):
    ids = [job.id async for job in aep_client.iter_jobs()]
    assert ids == aep_emulator.job_ids()
    assert len(ids) == 100


@pytest.mark.aep_emulator(jobs=7, cancel_style="empty")
async def test_marker_sets_emulator(aep_client, aep_emulator):
    jobs = [job async for job in aep_client.iter_jobs()]
    assert len(jobs) == 7
    assert aep_emulator.config.cancel_style == "empty"


@pytest.mark.aep_emulator(jobs=3, faults=[FaultRule(Fault.status(404), method="GET")])
async def test_marker_injects_faults(aep_client):
    with pytest.raises(Exception) as caught:
        await aep_client.list_page(limit=1)
    assert caught.value.status_code == 404


def test_server_on_loopback(aep_server):
    assert aep_server.base_url.startswith("http://127.0.0.1:")
"""


def test_plugin_fixtures_work(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    # Three async tests on two backends each, and one plain test: every fault rule of a
    # marker must work again on the second backend.
    result.assert_outcomes(passed=7)


def test_jobs_option_sets_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
def test_count(aep_emulator):
    assert len(aep_emulator.job_ids()) == 12
"""
    )

    result = pytester.runpytest_subprocess("--aep-emulator-jobs", "12")

    result.assert_outcomes(passed=1)


def test_bad_marker_is_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import pytest

@pytest.mark.aep_emulator(jobs=1, no_such_setting=3)
def test_bad(aep_emulator):
    pass
"""
    )

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*aep_emulator*no_such_setting*"])
