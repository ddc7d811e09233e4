"""Every shell command shown in README.md and docs/ runs against an emulator on loopback, and
every synopsis names a command and options that exist.

Each ``console`` (or ``shell``, ``sh``, ``bash``) block is one test, named by its file and
the line of its opening fence. Each line of such a block is one of:

- an ``aep-jobs`` command, also after ``uv run``: it runs through bash (so pipes and
  redirections work) in a temporary folder, with AEP_* settings for an emulator served on
  127.0.0.1, and must exit with 0 and write something;
- a ``$ aep-jobs emulator`` line followed by its output: the command runs, and the lines it
  prints must match the ones shown, port numbers aside;
- ``export`` and ``unset``: every AEP_* name must be a setting the client reads. The values
  are not applied, because the test's settings already point at the emulator;
- an install or test-suite command, listed in ``NOT_RUN`` with the reason.

Any other line fails the test, so a new kind of example cannot go unchecked.
A ``text`` block whose lines start with ``aep-jobs`` is a synopsis: its commands and every
``--option`` it names must exist in the parser.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from aep_jobs import ENVIRONMENT_VARIABLES
from aep_jobs.cli import EXIT_OK, _build_parser
from aep_jobs.config import ALLOW_INSECURE_HTTP_VARIABLE, API_KEY_ALIAS
from cli_helpers import COMMAND, emulator_command, served_emulator

ROOT = Path(__file__).resolve().parents[1]
SHELL_INFO_STRINGS = frozenset({"console", "shell", "sh", "bash"})
SEEDED_JOBS = 1_000
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")
_PORT = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+")

# Commands that install the project or run this test suite: running them here would
# reinstall the environment the tests run in, or start the tests inside themselves.
NOT_RUN = {
    "python3 -m venv": "creates the environment that CI creates from the same files",
    ". .venv/bin/activate": "activates that environment",
    "python -m pip install": "installs the project, as CI does from the same files",
    "uv run pytest": "runs this test suite",
    "pytest": "runs this test suite",
}
SETTING_NAMES = frozenset(
    [*ENVIRONMENT_VARIABLES.values(), API_KEY_ALIAS, ALLOW_INSECURE_HTTP_VARIABLE]
)


@dataclass(frozen=True)
class ShellBlock:
    """A fenced shell block: its file, the line of its fence, and its lines with numbers."""

    path: str
    line: int
    info: str
    lines: tuple[tuple[int, str], ...]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def fenced_blocks(info_strings: frozenset[str]) -> list[ShellBlock]:
    """Find the fenced blocks whose info string is one of ``info_strings``."""
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        relative = path.relative_to(ROOT).as_posix()
        fence: str | None = None
        info = ""
        start = 0
        lines: list[tuple[int, str]] = []
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _FENCE.match(text)
            if fence is None:
                if match:
                    fence, info, start, lines = match.group(1), match.group(2).lower(), number, []
            elif text.strip().startswith(fence):
                if info in info_strings:
                    blocks.append(ShellBlock(relative, start, info, tuple(lines)))
                fence = None
            else:
                lines.append((number, text))
    return blocks


def shell_blocks() -> list[ShellBlock]:
    return fenced_blocks(SHELL_INFO_STRINGS)


def synopsis_blocks() -> list[ShellBlock]:
    blocks = fenced_blocks(frozenset({"text"}))
    return [block for block in blocks if block.lines and block.lines[0][1].startswith("aep-jobs")]


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def joined_lines(block: ShellBlock) -> list[tuple[int, str]]:
    """Join continuation lines (indented, after a synopsis line) to the line they continue."""
    joined: list[tuple[int, str]] = []
    for number, text in block.lines:
        if text.startswith((" ", "\t")) and joined:
            joined[-1] = (joined[-1][0], joined[-1][1] + " " + text.strip())
        elif text.strip():
            joined.append((number, text.rstrip()))
    return joined


def check_synopsis(where: str, line: str) -> None:
    words = line.split()
    commands = commands_of(_build_parser())
    assert words[1] in commands, f"{where}: no command {words[1]!r}"
    known = set(commands[words[1]]._option_string_actions)
    for option in re.findall(r"--[a-z][a-z-]*", line):
        assert option in known, f"{where}: aep-jobs {words[1]} has no option {option}"


def check_names(where: str, words: list[str]) -> None:
    for word in words[1:]:
        name = word.split("=", 1)[0]
        assert name in SETTING_NAMES, f"{where}: {name} is not a setting the client reads"


def run_line(where: str, line: str, env: dict[str, str], folder: Path) -> None:
    command = line.removeprefix("uv run ")
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{where}: {command!r} exited with {result.returncode}: {result.stderr.strip()}"
    )
    assert result.stdout or any(path.stat().st_size for path in folder.iterdir()), (
        f"{where}: {command!r} wrote nothing"
    )


def run_session(where: str, line: str, expected: list[str], env: dict[str, str]) -> None:
    """Run a served command shown with its output, compare the output, then interrupt it."""
    arguments = shlex.split(line.removeprefix("$ "))
    assert arguments[:2] == ["aep-jobs", "emulator"], (
        f"{where}: only the emulator runs as a session"
    )
    with emulator_command(*arguments[2:], "--port", "0", lines=len(expected), env=env) as run:
        printed = [text.rstrip("\n") for text in run.lines]

    assert [_PORT.sub(r"\1:PORT", text) for text in printed] == [
        _PORT.sub(r"\1:PORT", text) for text in expected
    ], f"{where}: the output differs from the one shown"
    assert run.returncode == EXIT_OK


def not_run_reason(line: str) -> str | None:
    for prefix, reason in NOT_RUN.items():
        if line == prefix or line.startswith(prefix + " "):
            return reason
    return None


@pytest.mark.parametrize("block", shell_blocks(), ids=str)
def test_shell_block(block: ShellBlock, tmp_path: Path) -> None:
    lines = joined_lines(block)
    with served_emulator(jobs=SEEDED_JOBS) as (_, env):
        env["PATH"] = f"{Path(COMMAND).parent}{os.pathsep}{env.get('PATH', '')}"
        index = 0
        while index < len(lines):
            number, line = lines[index]
            where = f"{block.path}:{number}"
            text = line.split(" #", 1)[0].strip()
            words = text.split()
            index += 1

            if text.startswith("$ "):
                output = []
                while index < len(lines) and not lines[index][1].startswith("$ "):
                    output.append(lines[index][1])
                    index += 1
                run_session(where, text, output, env)
            elif words[0] in ("export", "unset"):
                check_names(where, words)
            elif text.startswith(("aep-jobs ", "uv run aep-jobs ")):
                run_line(where, text, env, tmp_path)
            else:
                assert not_run_reason(text), f"{where}: no rule runs or checks {text!r}"


@pytest.mark.parametrize("block", synopsis_blocks(), ids=str)
def test_synopsis_block(block: ShellBlock) -> None:
    for number, line in joined_lines(block):
        check_synopsis(f"{block.path}:{number}", line)


def test_blocks_found() -> None:
    shell = shell_blocks()
    synopses = synopsis_blocks()

    assert len(shell) >= 8
    assert {block.path for block in shell} >= {"README.md", "docs/cli.md"}
    assert {block.path for block in synopses} == {"README.md", "docs/cli.md", "docs/bulk.md"}


def test_wrong_option_detected() -> None:
    with pytest.raises(AssertionError, match="aep-jobs list has no option --colour"):
        check_synopsis("here", "aep-jobs list [--colour WHEN]")
