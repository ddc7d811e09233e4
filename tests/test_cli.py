"""The aep-jobs command, driven through its entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aep_jobs import ENVIRONMENT_VARIABLES
from aep_jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from cli_helpers import emulator_command

VALID_BODY = {
    "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
    "schema": {"name": "_xdm.context.profile"},
    "filter": {"segments": [{"segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff"}]},
}


def test_list_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list", "--emulator", "--emulator-jobs", "250", "--format", "jsonl"])

    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_OK
    assert len(lines) == 250
    ids = [json.loads(line)["id"] for line in lines]
    assert len(set(ids)) == 250


def test_list_limit_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["list", "--emulator", "--status", "SUCCEEDED", "--limit", "30", "--format", "jsonl"]
    )

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == EXIT_OK
    assert len(records) == 30
    assert {record["status"] for record in records} == {"SUCCEEDED"}


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list", "--emulator", "--emulator-jobs", "5", "--format", "table"])

    output = capsys.readouterr().out
    assert code == EXIT_OK
    assert "status" in output
    assert "SUCCEEDED" in output or "FAILED" in output


def test_get_unknown_job_exits_failed(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", "--emulator", "999999999"])

    captured = capsys.readouterr()
    assert code == EXIT_FAILED
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("aep-jobs: error: get export job 999999999 failed")
    assert "HTTP 404" in captured.err


def test_get_invalid_id_exits_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["get", "--emulator", "abc"])

    assert code == EXIT_USAGE
    assert "Invalid job_id 'abc'" in capsys.readouterr().err


def test_create_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(VALID_BODY))

    code = main(["create", "--emulator", "--file", str(body), "--profile-instance-id", "ups"])

    job = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert job["status"] == "NEW"
    assert job["destination"]["datasetId"] == "5b7c86968f7b6501e21ba9df"
    assert job["profileInstanceId"] == "ups"


def test_create_invalid_body_names_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"schema": {"name": "_xdm.context.profile"}}))

    code = main(["create", "--emulator", "--file", str(body)])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err == (
        f"aep-jobs: error: the body in {str(body)!r} is invalid: "
        "Missing destination: the field is required\n"
    )


def test_create_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.json"

    code = main(["create", "--emulator", "--file", str(missing)])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert f"cannot read the body file {str(missing)!r}" in err


def test_cancel_reports_each_job(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cancel", "--emulator", "--emulator-jobs", "0", "404404"])

    captured = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "cancel export job 404404 failed" in captured.err


def test_missing_settings_listed_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ENVIRONMENT_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AEP_API_KEY", raising=False)

    code = main(["list"])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    for name in ("AEP_ORG_ID", "AEP_CLIENT_ID", "AEP_SANDBOX"):
        assert f"{name} is not set" in err
    assert "no credentials: set AEP_ACCESS_TOKEN to an access token" in err


def test_demo_small_run(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--jobs", "3000", "--segments", "20", "--cancel", "3"])

    output = capsys.readouterr().out
    assert code == EXIT_OK
    assert "Summary" in output
    assert "3,000" in output
    assert "Requested the cancellation of 3 exports" in output


def test_version_from_installed_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aep_jobs", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    assert result.stdout.strip() == "aep-jobs 0.1.0"


def run_command(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run aep-jobs in a new interpreter, as a shell would."""
    return subprocess.run(
        [sys.executable, "-m", "aep_jobs", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_output_closed_early_exits_quietly() -> None:
    # `head -1` reads one line and closes the pipe, as a reader of the output may.
    command = f"{sys.executable} -m aep_jobs list --emulator --emulator-jobs 5000 | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_cancel_checks_every_id_first(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["cancel", "--emulator", "1", "abc"])

    captured = capsys.readouterr()
    assert code == EXIT_USAGE
    assert captured.out == ""
    assert captured.err == (
        "aep-jobs: error: Invalid job_id 'abc': expected an export job id such as 722\n"
    )


def test_settings_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ENVIRONMENT_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AEP_API_KEY", raising=False)
    monkeypatch.setenv("AEP_ORG_ID", "foo")
    monkeypatch.setenv("AEP_SANDBOX", "prod")

    code = main(["get", "1"])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.count("\n") == 1
    assert err.startswith(
        "aep-jobs: error: invalid settings: AEP_CLIENT_ID is not set (nor AEP_API_KEY); "
        "no credentials: set AEP_ACCESS_TOKEN to an access token, or AEP_CLIENT_SECRET "
        "(with AEP_CLIENT_ID and AEP_SCOPES) for OAuth server-to-server; "
        "AEP_ORG_ID 'foo' does not end with '@AdobeOrg'"
    )


def test_verbose_logs_requests() -> None:
    result = run_command("--verbose", "get", "--emulator", "--emulator-jobs", "3", "2")

    assert result.returncode == 0
    assert "DEBUG aep_jobs: GET /data/core/ups/export/jobs/2 -> 200" in result.stderr
    assert "httpcore" not in result.stderr
    assert "asyncio" not in result.stderr
    assert "emulator-access-token" not in result.stderr


def test_library_warnings_silent_by_default() -> None:
    # A program that configures no logging must not get the library's warnings on stderr.
    script = (
        "import logging, aep_jobs\nlogging.getLogger('aep_jobs').warning('should not be printed')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0
    assert result.stderr == ""


def test_create_help_shows_body() -> None:
    result = run_command("create", "--help")

    assert result.returncode == 0
    assert '"destination": {"datasetId":' in result.stdout
    assert "Exit codes: 0 success" in result.stdout


def test_config_file_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "aepp.json"
    config.write_text(json.dumps({"org_id": "not-an-org", "environment": "prod"}))

    code = main(["get", "--config", str(config), "1"])

    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert f"the aepp configuration file {str(config)!r} has no client_id (or api_key)" in err


def test_emulator_command_serves_until_interrupted() -> None:
    module_command = (sys.executable, "-m", "aep_jobs")
    with emulator_command("--jobs", "25", command=module_command) as run:
        settings = dict(line.strip().split("=", 1) for line in run.lines[1:4])
        response = httpx.get(
            f"{run.base_url}/export/jobs",
            params={"limit": "100"},
            headers={
                "authorization": "Bearer any-token",
                "x-api-key": "any-client-id",
                "x-gw-ims-org-id": settings["AEP_ORG_ID"],
                "x-sandbox-name": "prod",
            },
            timeout=10,
        )

    assert run.lines[0] == "Emulator serving 25 jobs; press Ctrl-C to stop.\n"
    assert run.base_url.startswith("http://127.0.0.1:")
    assert settings["AEP_IMS_URL"].endswith("/ims/token/v3")
    assert response.status_code == 200
    assert len(response.json()["records"]) == 25
    assert run.rest.endswith("Emulator stopped.\n")
    assert run.errors == ""
    assert run.returncode == EXIT_OK
