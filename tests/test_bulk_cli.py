"""The bulk-create and bulk-cancel commands, driven through the entry point on the emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from aep_jobs import emulator as emulator_package
from aep_jobs.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from aep_jobs.emulator import Emulator, EmulatorConfig, Fault, FaultRule


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def segments_file(tmp_path: Path) -> Path:
    path = tmp_path / "segments.txt"
    path.write_text(
        "# segments of the spring campaign\nseg-a\n\nseg-b   # the second one\nseg-a\nseg-c\n"
    )
    return path


def test_create_report_and_summary(
    tmp_path: Path, segments_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.jsonl"
    code = main(
        [
            "bulk-create",
            "--emulator",
            "--file",
            str(segments_file),
            "--dataset-id",
            "5b7c86968f7b6501e21ba9df",
            "--segment-status",
            "realized",
            "--max-concurrency",
            "4",
            "--report",
            str(report),
        ]
    )

    captured = capsys.readouterr()
    lines = read_report(report)
    assert code == EXIT_OK
    assert [line["input"] for line in lines] == ["seg-a", "seg-b", "seg-c"]
    assert {line["status"] for line in lines} == {"created"}
    assert all(isinstance(line["job_id"], int) for line in lines)
    assert {line["error"] for line in lines} == {None}
    assert "line 5: duplicate segment id seg-a (first on line 2)" in captured.err
    assert captured.out.startswith("Created 3 of 3 in ")
    assert "0 failed, 0 unknown" in captured.out


def test_create_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
    code = main(["bulk-create", "--emulator", "--file", "-", "--dataset-id", "ds"])

    assert code == EXIT_OK
    assert capsys.readouterr().out.startswith("Created 2 of 2 in ")


class FailingEmulator(Emulator):
    """An emulator whose second create fails with 400 and whose fourth loses its response."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.inject(FaultRule(Fault.status(400), method="POST", requests={2}))
        self.inject(FaultRule(Fault.reset(after_processing=True), method="POST", requests={4}))


@pytest.mark.parametrize("reconcile", [False, True])
def test_create_failures_exit_failed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reconcile: bool,
) -> None:
    monkeypatch.setattr(emulator_package, "Emulator", FailingEmulator)
    segments = tmp_path / "segments.txt"
    segments.write_text("".join(f"seg-{number}\n" for number in range(6)))
    report = tmp_path / "report.jsonl"
    arguments = ["bulk-create", "--emulator", "--file", str(segments), "--dataset-id", "ds"]
    arguments += ["--max-concurrency", "1", "--report", str(report)]
    code = main(arguments + (["--reconcile"] if reconcile else []))

    captured = capsys.readouterr()
    by_index = {line["index"]: line for line in read_report(report)}
    assert code == EXIT_FAILED
    assert by_index[1]["status"] == "failed"
    assert "HTTP 400" in by_index[1]["error"]
    assert "aep-jobs: failed: input 1 (seg-1):" in captured.err
    if reconcile:
        assert by_index[3]["status"] == "created"
        assert by_index[3]["reconciled"] is True
        assert isinstance(by_index[3]["job_id"], int)
        assert "1 failed, 0 unknown" in captured.out
    else:
        assert by_index[3]["status"] == "unknown"
        assert by_index[3]["job_id"] is None
        assert "1 failed, 1 unknown" in captured.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no segment ids in"),
        ("# only a comment\n\n", "no segment ids in"),
        ("seg-a\nseg b\n", "line 2: invalid segment id 'seg b': must not contain whitespace"),
    ],
    ids=["empty", "comments-only", "whitespace"],
)
def test_create_bad_input_exits_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    segments = tmp_path / "segments.txt"
    segments.write_text(content)
    code = main(["bulk-create", "--emulator", "--file", str(segments), "--dataset-id", "ds"])

    captured = capsys.readouterr()
    assert code == EXIT_USAGE
    assert message in captured.err
    assert captured.out == ""


def test_create_missing_file_exits_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.txt"
    code = main(["bulk-create", "--emulator", "--file", str(missing), "--dataset-id", "ds"])

    assert code == EXIT_USAGE
    assert "cannot read the segment ids from" in capsys.readouterr().err


def test_create_concurrency_above_pool(
    segments_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["bulk-create", "--emulator", "--file", str(segments_file), "--dataset-id", "d"]
    with pytest.raises(SystemExit) as caught:
        main([*arguments, "--max-concurrency", "500"])

    assert caught.value.code == EXIT_USAGE
    assert "expected at most 100, the connections of a client" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-2", "abc", "inf"])
def test_create_bad_rate_exits_usage(
    segments_file: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    arguments = ["bulk-create", "--emulator", "--file", str(segments_file), "--dataset-id", "d"]
    with pytest.raises(SystemExit) as caught:
        main([*arguments, "--max-per-second", value])

    assert caught.value.code == EXIT_USAGE
    assert "--max-per-second" in capsys.readouterr().err


def test_cancel_listing_streamed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "cancelled.jsonl"
    arguments = ["bulk-cancel", "--emulator", "--emulator-jobs", "3000", "--status", "NEW"]
    code = main([*arguments, "--report", str(report)])

    lines = read_report(report)
    assert code == EXIT_OK
    assert lines
    assert {line["status"] for line in lines} == {"cancelled"}
    assert all(isinstance(line["job_id"], int) for line in lines)
    assert capsys.readouterr().out.startswith(f"Cancelled {len(lines)} of {len(lines)} in ")


def test_cancel_ids_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("999999\n# gone\n999998\n999999\n")
    report = tmp_path / "report.jsonl"
    code = main(["bulk-cancel", "--emulator", "--file", str(ids), "--report", str(report)])

    captured = capsys.readouterr()
    lines = read_report(report)
    assert code == EXIT_FAILED
    assert [line["job_id"] for line in lines] == [999999, 999998]
    assert {line["status"] for line in lines} == {"failed"}
    assert "HTTP 404" in lines[0]["error"]
    assert "line 4: duplicate job id 999999" in captured.err


def test_cancel_bad_id_exits_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("722\nabc\n")
    code = main(["bulk-cancel", "--emulator", "--file", str(ids)])

    assert code == EXIT_USAGE
    assert "line 2: invalid job id 'abc'" in capsys.readouterr().err


def test_cancel_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bulk-cancel", "--emulator"])

    assert caught.value.code == EXIT_USAGE
    assert "one of the arguments --file --status is required" in capsys.readouterr().err


def test_report_unwritable_exits_usage(
    tmp_path: Path, segments_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "no-such-folder" / "report.jsonl"
    arguments = ["bulk-create", "--emulator", "--file", str(segments_file), "--dataset-id", "d"]
    code = main([*arguments, "--report", str(report)])

    assert code == EXIT_USAGE
    assert "cannot write the report file" in capsys.readouterr().err


def test_bulk_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bulk-create", "--help"])

    text = " ".join(capsys.readouterr().out.split())
    assert "requests in flight at most, up to 100, the client's connections (default 32)" in text
    assert "requests sent per second at most (default: no limit)" in text
    assert (
        "Exit codes: 0 every job was created (and, with --wait, SUCCEEDED), "
        "1 some failed or are unknown"
    ) in text


def test_empty_dataset_rejected_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segments = tmp_path / "segments.txt"
    segments.write_text("segment-1\n")

    with pytest.raises(SystemExit) as caught:
        main(["bulk-create", "--emulator", "--file", str(segments), "--dataset-id", " "])

    assert caught.value.code == 2
    assert "--dataset-id: expected a non-empty value" in capsys.readouterr().err


def test_concurrency_past_pool_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    segments = tmp_path / "segments.txt"
    segments.write_text("segment-1\n")

    with pytest.raises(SystemExit) as caught:
        main(
            [
                "bulk-create",
                "--emulator",
                "--file",
                str(segments),
                "--dataset-id",
                "d1",
                "--max-concurrency",
                "101",
            ]
        )

    assert caught.value.code == 2
    assert "expected at most 100, the connections of a client, got '101'" in (
        capsys.readouterr().err
    )


class ResettingEmulator(Emulator):
    """An emulator that drops the connection of its second create before processing it."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        super().__init__(config)
        self.inject(FaultRule(Fault.reset(), method="POST", requests={2}))


def test_reconciled_not_created_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(emulator_package, "Emulator", ResettingEmulator)
    segments = tmp_path / "segments.txt"
    segments.write_text("seg-0\nseg-1\nseg-2\n")
    report = tmp_path / "report.jsonl"

    arguments = ["bulk-create", "--emulator", "--file", str(segments), "--dataset-id", "ds"]
    arguments += ["--max-concurrency", "1", "--reconcile", "--report", str(report)]
    code = main(arguments)

    err = capsys.readouterr().err
    by_index = {line["index"]: line for line in read_report(report)}
    assert code == EXIT_FAILED
    assert by_index[1]["status"] == "not_created"
    assert by_index[1]["reconciled"] is True
    assert (
        "aep-jobs: not_created: input 1 (seg-1): the listing shows no such job, "
        "so it can be created again; " in err
    )
