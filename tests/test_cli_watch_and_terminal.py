"""The watch command, list's fields, and what the command draws on a terminal: colours, live
counts and progress, run through the installed command against an emulator on loopback."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from aep_jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from aep_jobs.emulator import EmulatorConfig
from cli_helpers import run, run_on_terminal, served_emulator

ESCAPE = "\x1b["
GREEN = "\x1b[32m"
RED = "\x1b[31m"
# Jobs finish within a second of their creation, so that watches end quickly.
FAST = EmulatorConfig(processing_after=0.1, finish_after=0.4, failure_share=0.0)
ALL_FAIL = EmulatorConfig(processing_after=0.1, finish_after=0.4, failure_share=1.0)
BODY = {
    "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
    "schema": {"name": "_xdm.context.profile"},
    "filter": {"segments": [{"segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff"}]},
}


def create_jobs(env: dict[str, str], count: int) -> list[int]:
    """Create jobs on the served emulator straight over HTTP, as another program would."""
    headers = {
        "authorization": f"Bearer {env['AEP_ACCESS_TOKEN']}",
        "x-api-key": env["AEP_CLIENT_ID"],
        "x-gw-ims-org-id": env["AEP_ORG_ID"],
        "x-sandbox-name": env["AEP_SANDBOX"],
    }
    ids = []
    for _ in range(count):
        response = httpx.post(
            f"{env['AEP_BASE_URL']}/export/jobs", json=BODY, headers=headers, timeout=10
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


# list --fields


def test_list_fields_in_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *("list", "--emulator", "--emulator-jobs", "20", "--format", "jsonl"),
            *("--fields", "id,status,segments,profiles"),
        ]
    )

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == EXIT_OK
    assert len(records) == 20
    assert {tuple(record) for record in records} == {("id", "status", "segments", "profiles")}
    assert all(isinstance(record["segments"], list) for record in records)
    succeeded = [record for record in records if record["status"] == "SUCCEEDED"]
    assert succeeded
    assert all(isinstance(record["profiles"], int) for record in succeeded)


def test_list_fields_choose_columns(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["list", "--emulator", "--emulator-jobs", "3", "--format", "table", "--fields", "status,id"]
    )

    lines = capsys.readouterr().out.splitlines()
    assert code == EXIT_OK
    assert lines[0].split() == ["status", "id"]
    assert [line.split()[1] for line in lines[1:]] == ["3", "2", "1"]


def test_list_unknown_field_exits_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["list", "--emulator", "--fields", "id,colour"])

    err = capsys.readouterr().err
    assert caught.value.code == EXIT_USAGE
    assert "argument --fields: unknown field 'colour'; expected some of: id, status," in err


def test_list_empty_fields_exits_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["list", "--emulator", "--fields", " , "])

    assert caught.value.code == EXIT_USAGE
    assert "expected field names separated by commas, got ' , '" in capsys.readouterr().err


# Colour and live counts on a terminal


def test_table_coloured_on_terminal() -> None:
    with served_emulator(jobs=30) as (_, env):
        result = run_on_terminal("list", "--limit", "30", env=env, stdout_on_terminal=True)

    assert result.returncode == EXIT_OK
    assert GREEN in result.terminal  # SUCCEEDED
    assert RED in result.terminal  # FAILED
    assert "30 jobs in " in result.terminal


def test_table_plain_when_piped() -> None:
    with served_emulator(jobs=30) as (_, env):
        result = run("list", "--format", "table", env=env)

    assert result.returncode == EXIT_OK
    assert ESCAPE not in result.stdout
    assert result.stdout.splitlines()[0].split() == [
        "id",
        "status",
        "created",
        "dataset",
        "segments",
    ]
    assert len(result.stdout.splitlines()) == 31


def test_piped_table_keeps_every_column() -> None:
    names = "id,status,errors,profiles,updated,type,merge-policy,schema,segments,dataset,created"
    with served_emulator(jobs=5) as (_, env):
        result = run("list", "--format", "table", "--fields", names, env=env)

    lines = result.stdout.splitlines()
    assert result.returncode == EXIT_OK
    assert lines[0].split() == names.split(",")
    assert all(re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", line) for line in lines[1:])


def test_table_cut_visibly_on_narrow_terminal() -> None:
    with served_emulator(jobs=5) as (_, env):
        env["COLUMNS"] = "60"
        result = run_on_terminal("list", env=env, stdout_on_terminal=True)

    assert result.returncode == EXIT_OK
    assert result.terminal.count("…") >= 5


def test_no_color_honoured_on_terminal() -> None:
    with served_emulator(jobs=30) as (_, env):
        env["NO_COLOR"] = "1"
        result = run_on_terminal("list", env=env, stdout_on_terminal=True)

    assert result.returncode == EXIT_OK
    assert GREEN not in result.terminal
    assert RED not in result.terminal
    assert "SUCCEEDED" in result.terminal


def test_piped_list_counts_on_terminal() -> None:
    with served_emulator(jobs=3_000) as (_, env):
        result = run_on_terminal("list", "--page-size", "100", env=env, stdout_on_terminal=False)

    assert result.returncode == EXIT_OK
    assert len(result.stdout.splitlines()) == 3_000
    assert ESCAPE not in result.stdout
    assert re.search(r"Listed 3,000 jobs in \d+\.\d s \([\d,]+ jobs/s\)", result.terminal)


def test_piped_list_silent_without_terminal() -> None:
    with served_emulator(jobs=50) as (_, env):
        result = run("list", env=env)

    assert result.returncode == EXIT_OK
    assert len(result.stdout.splitlines()) == 50
    assert result.stderr == ""


# watch


def test_watch_writes_each_job_once() -> None:
    with served_emulator(config=FAST) as (_, env):
        ids = create_jobs(env, 4)
        result = run("watch", "--poll-interval", "0.1", *map(str, ids), env=env)

    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == EXIT_OK
    assert sorted(record["id"] for record in records) == sorted(ids)
    assert {record["status"] for record in records} == {"SUCCEEDED"}
    assert result.stderr == ""


def test_watch_failed_job_exits_failed() -> None:
    with served_emulator(config=ALL_FAIL) as (_, env):
        ids = create_jobs(env, 1)
        result = run(
            "watch", "--poll-interval", "0.1", "--fields", "id,status,errors", str(ids[0]), env=env
        )

    record = json.loads(result.stdout)
    errors = result.stderr.splitlines()
    assert result.returncode == EXIT_FAILED
    assert record["id"] == ids[0]
    assert record["status"] == "FAILED"
    assert record["errors"]
    assert errors[0].startswith(f"aep-jobs: error: export job {ids[0]} ended FAILED: ")
    assert re.fullmatch(r"1 job in \d+\.\d s: 1 FAILED", errors[1])
    assert len(errors) == 2


def test_watch_unknown_job_reported_others_go_on() -> None:
    with served_emulator(config=FAST) as (_, env):
        ids = create_jobs(env, 2)
        result = run("watch", "--poll-interval", "0.1", "987654", *map(str, ids), env=env)

    finished = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert result.returncode == EXIT_FAILED
    errors = result.stderr.splitlines()
    assert sorted(finished) == sorted(ids)
    assert errors[0].startswith("aep-jobs: error: get export job 987654 failed: ")
    assert re.fullmatch(r"3 jobs in \d+\.\d s: 2 SUCCEEDED, 1 not watched to the end", errors[1])
    assert len(errors) == 2


def test_watch_timeout_reports_last_status() -> None:
    slow = EmulatorConfig(processing_after=0.1, finish_after=60)
    with served_emulator(config=slow) as (_, env):
        ids = create_jobs(env, 1)
        result = run("watch", "--poll-interval", "0.2", "--timeout", "0.5", str(ids[0]), env=env)

    assert result.returncode == EXIT_FAILED
    assert result.stdout == ""
    assert f"aep-jobs: error: Export job {ids[0]} did not finish within" in result.stderr
    assert "last seen PROCESSING" in result.stderr or "last seen NEW" in result.stderr


def test_watch_live_display_on_terminal() -> None:
    with served_emulator(config=FAST) as (_, env):
        ids = create_jobs(env, 3)
        result = run_on_terminal(
            "watch", "--poll-interval", "0.1", *map(str, ids), env=env, stdout_on_terminal=True
        )

    assert result.returncode == EXIT_OK
    assert "Finished" in result.terminal  # the progress bar
    assert GREEN in result.terminal
    assert re.search(r"3 jobs in \d+\.\d s: 3 SUCCEEDED", result.terminal)


def test_watch_piped_shows_bar_on_terminal() -> None:
    with served_emulator(config=FAST) as (_, env):
        ids = create_jobs(env, 2)
        result = run_on_terminal(
            "watch", "--poll-interval", "0.1", *map(str, ids), env=env, stdout_on_terminal=False
        )

    assert result.returncode == EXIT_OK
    assert len(result.stdout.splitlines()) == 2
    assert ESCAPE not in result.stdout
    assert re.search(r"2 jobs in \d+\.\d s: 2 SUCCEEDED", result.terminal)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["watch", "--emulator", "abc"], "Invalid job_id 'abc': expected an export job id"),
        (["watch", "--emulator", "--poll-interval", "0", "1"], "expected a number > 0, got '0'"),
        (["watch", "--emulator", "--timeout", "inf", "1"], "expected a number > 0, got 'inf'"),
        (["watch", "--emulator", "--max-concurrency", "500", "1"], "expected at most 100"),
        (["watch", "--emulator"], "the following arguments are required: ID"),
    ],
)
def test_watch_bad_arguments_exit_usage(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(arguments)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]

    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_watch_repeated_id_watched_once() -> None:
    with served_emulator(config=FAST) as (_, env):
        ids = create_jobs(env, 1)
        result = run("watch", "--poll-interval", "0.1", str(ids[0]), str(ids[0]), env=env)

    assert result.returncode == EXIT_OK
    assert len(result.stdout.splitlines()) == 1


# bulk-create --wait


def test_bulk_create_wait_reports_failed_jobs() -> None:
    segments = "\n".join(f"segment-{number}" for number in range(5))
    with served_emulator(config=ALL_FAIL) as (_, env):
        result = run(
            "bulk-create", "--file", "-", "--dataset-id", "ds-1", "--wait", env=env, stdin=segments
        )

    assert result.returncode == EXIT_FAILED
    assert "Created 5 of 5 in " in result.stdout
    assert re.search(r"Finished 5 jobs in \d+\.\d s: 5 FAILED", result.stdout)
    assert result.stderr.count("ended FAILED: ") == 5


def test_bulk_create_wait_all_succeeded() -> None:
    with served_emulator(config=FAST) as (_, env):
        result = run(
            "bulk-create", "--file", "-", "--dataset-id", "ds-1", "--wait", env=env, stdin="a\nb\n"
        )

    assert result.returncode == EXIT_OK
    assert re.search(r"Finished 2 jobs in \d+\.\d s: 2 SUCCEEDED", result.stdout)
    assert result.stderr == ""
