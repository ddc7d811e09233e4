"""The emulator command's fault and rate limit options, parsed and served on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from aep_jobs.cli import EXIT_USAGE, main
from aep_jobs.cli._emulator import _FAULT_KINDS, parse_fault
from cli_helpers import emulator_command

HEADERS = {
    "authorization": "Bearer any-token",
    "x-api-key": "any-client-id",
    "x-gw-ims-org-id": "1BD6382559DF0C130A49422D@AdobeOrg",
    "x-sandbox-name": "prod",
}


def test_fault_share_one_answers_every_request() -> None:
    with emulator_command("--jobs", "5", "--fault", "503@1", lines=6) as run:
        response = httpx.get(f"{run.base_url}/export/jobs", headers=HEADERS, timeout=10)

    assert run.lines[5] == "Fault: status 503 with Retry-After 1 on 100.0% of the API's requests\n"
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_rate_limit_answers_429_past_burst() -> None:
    with emulator_command("--jobs", "5", "--rate-limit", "0.5", "--burst", "2", lines=6) as run:
        statuses = [
            httpx.get(f"{run.base_url}/export/jobs", headers=HEADERS, timeout=10).status_code
            for _ in range(3)
        ]

    assert run.lines[5] == "Rate limit: 0.5 requests per second, bursts of 2\n"
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    ("text", "kind", "share"),
    [
        ("503@0.05", "status", 0.05),
        ("429@1", "status", 1.0),
        ("stall-2.5@0.1", "stall", 0.1),
        *(
            (f"{name}@0.2", name.replace("-after-processing", "").replace("-", "_"), 0.2)
            for name in _FAULT_KINDS
        ),
    ],
)
def test_fault_option_parsed(text: str, kind: str, share: float) -> None:
    rule = parse_fault(text)

    assert rule.fault.kind == kind
    assert rule.share == share


def test_fault_after_processing_parsed() -> None:
    assert parse_fault("reset-after-processing@0.5").fault.after_processing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("503", "expected KIND@SHARE, such as 503@0.05, got '503'"),
        ("503@half", "expected a share from 0 to 1 after '@', got 'half'"),
        ("503@0", "expected a share above 0 and at most 1 after '@', got '0'"),
        ("503@1.5", "expected a share above 0 and at most 1 after '@', got '1.5'"),
        ("302@0.1", "expected an HTTP status from 400 to 599, got 302"),
        ("stall-x@0.1", "expected stall-SECONDS with seconds >= 0, such as stall-5, got 'stall-x'"),
        ("stall--1@0.1", "expected stall-SECONDS with seconds >= 0"),
        ("boom@0.1", "unknown fault 'boom'; expected an HTTP status, reset,"),
    ],
)
def test_bad_fault_exits_usage(text: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["emulator", "--fault", text])

    assert caught.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_burst_needs_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["emulator", "--burst", "5"])

    assert code == EXIT_USAGE
    assert capsys.readouterr().err == (
        "aep-jobs: error: --burst needs --rate-limit RATE, the rate that refills the burst\n"
    )
