"""Every command of aep-jobs, run through the console script that installing the project
creates, against an emulator served on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
from collections.abc import Callable

import pytest

from aep_jobs.cli import EXIT_OK, EXIT_USAGE, _build_parser
from aep_jobs.emulator import Emulator, EmulatorConfig
from cli_helpers import COMMAND, emulator_command, run, served_emulator

BODY = json.dumps(
    {
        "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
        "schema": {"name": "_xdm.context.profile"},
        "filter": {"segments": [{"segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff"}]},
    }
)
# Created jobs finish quickly and all succeed, for the watch.
FAST = EmulatorConfig(processing_after=0.1, finish_after=0.3, failure_share=0.0)
# Created and newest seeded jobs stay NEW for the length of a test, so they can be cancelled.
SLOW = EmulatorConfig(processing_after=60, finish_after=120)


def check_demo(env: dict[str, str], emulator: Emulator) -> None:
    # The demo serves an emulator of its own.
    result = run("demo", "--jobs", "300", "--segments", "6", "--cancel", "2", env=env, timeout=120)

    assert result.returncode == EXIT_OK, result.stderr
    assert "jobs seen" in result.stdout
    assert "300" in result.stdout


def check_list(env: dict[str, str], emulator: Emulator) -> None:
    result = run("list", "--status", "SUCCEEDED", "--fields", "id,status", env=env)

    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == EXIT_OK, result.stderr
    assert len(records) == len(emulator.job_ids(status="SUCCEEDED"))
    assert {record["status"] for record in records} == {"SUCCEEDED"}


def check_get(env: dict[str, str], emulator: Emulator) -> None:
    result = run("get", "7", env=env)

    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["id"] == 7


def check_create(env: dict[str, str], emulator: Emulator) -> None:
    result = run("create", "--file", "-", env=env, stdin=BODY)

    job = json.loads(result.stdout)
    assert result.returncode == EXIT_OK, result.stderr
    assert job["status"] == "NEW"
    assert job["id"] in emulator.job_ids()


def check_cancel(env: dict[str, str], emulator: Emulator) -> None:
    created = json.loads(run("create", "--file", "-", env=env, stdin=BODY).stdout)["id"]

    result = run("cancel", str(created), env=env)

    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith(f"Cancel requested for export job {created}")


def check_watch(env: dict[str, str], emulator: Emulator) -> None:
    created = json.loads(run("create", "--file", "-", env=env, stdin=BODY).stdout)["id"]

    result = run("watch", "--poll-interval", "0.1", str(created), env=env)

    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["status"] == "SUCCEEDED"


def check_bulk_create(env: dict[str, str], emulator: Emulator) -> None:
    before = len(emulator.job_ids())

    result = run("bulk-create", "--file", "-", "--dataset-id", "ds-1", env=env, stdin="s-1\ns-2\n")

    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith("Created 2 of 2 in ")
    assert len(emulator.job_ids()) == before + 2


def check_bulk_cancel(env: dict[str, str], emulator: Emulator) -> None:
    new_jobs = emulator.job_ids(status="NEW")
    assert new_jobs

    result = run("bulk-cancel", "--status", "NEW", env=env)

    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith(f"Cancelled {len(new_jobs)} of {len(new_jobs)} in ")


def check_emulator(env: dict[str, str], emulator: Emulator) -> None:
    with emulator_command("--jobs", "5", lines=1, env=env) as run:
        pass

    assert run.lines == ["Emulator serving 5 jobs; press Ctrl-C to stop.\n"]
    assert run.rest.endswith("Emulator stopped.\n")
    assert run.returncode == EXIT_OK


def test_emulator_stops_on_sigterm() -> None:
    with emulator_command("--jobs", "5", lines=1, stop=signal.SIGTERM) as run:
        pass

    assert run.lines == ["Emulator serving 5 jobs; press Ctrl-C to stop.\n"]
    assert run.rest.endswith("Emulator stopped.\n")
    assert run.returncode == EXIT_OK


def test_argument_error_is_one_line() -> None:
    result = subprocess.run(
        [COMMAND, "list", "--limit", "-1"], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr == (
        "aep-jobs: error: argument --limit: expected a positive integer, got '-1' "
        "(see 'aep-jobs list --help')\n"
    )


CHECKS: dict[str, Callable[[dict[str, str], Emulator], None]] = {
    "demo": check_demo,
    "list": check_list,
    "get": check_get,
    "create": check_create,
    "cancel": check_cancel,
    "watch": check_watch,
    "bulk-create": check_bulk_create,
    "bulk-cancel": check_bulk_cancel,
    "emulator": check_emulator,
}


def test_every_command_has_a_check() -> None:
    parser = _build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )

    assert set(commands.choices) == set(CHECKS)


@pytest.mark.parametrize("command", list(CHECKS))
def test_command_through_console_script(command: str) -> None:
    config = FAST if command == "watch" else SLOW
    with served_emulator(jobs=200, config=config) as (emulator, env):
        CHECKS[command](env, emulator)


@pytest.mark.parametrize("command", [*CHECKS, None])
def test_help_through_console_script(command: str | None) -> None:
    arguments = [command, "--help"] if command else ["--help"]

    result = subprocess.run(
        [COMMAND, *arguments], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == EXIT_OK
    assert result.stdout.startswith("usage: aep-jobs")
    assert "Exit codes: 0 " in " ".join(result.stdout.split())
