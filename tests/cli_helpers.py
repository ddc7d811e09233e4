"""Running the installed aep-jobs command against an emulator served on 127.0.0.1, with its
output on a pipe or on a pseudo-terminal."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aep_jobs.emulator import Emulator, EmulatorConfig, serve

# The console script that installing the project creates, beside the interpreter.
COMMAND = str(Path(sys.executable).with_name("aep-jobs"))

# Variables that change how rich draws; each test sets the ones it needs.
_TERMINAL_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "TTY_COMPATIBLE")


def command_environment(base_url: str, org_id: str, **extra: str) -> dict[str, str]:
    """Return an environment whose AEP_* settings point at an emulator on loopback."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AEP_") and name not in _TERMINAL_VARIABLES
    }
    env.update(
        AEP_ORG_ID=org_id,
        AEP_CLIENT_ID="cli-test-client",
        AEP_ACCESS_TOKEN="cli-test-token",
        AEP_SANDBOX="prod",
        AEP_BASE_URL=base_url,
        TERM="xterm-256color",
        COLUMNS="160",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def served_emulator(
    jobs: int = 0, config: EmulatorConfig | None = None
) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """Serve a seeded emulator on 127.0.0.1 and yield it with the command's environment."""
    emulator = Emulator(config)
    emulator.seed(jobs)
    with serve(emulator) as server:
        yield emulator, command_environment(server.base_url, emulator.config.org_id)


def run(
    *arguments: str, env: dict[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed command with its output on pipes."""
    return subprocess.run(
        [COMMAND, *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@dataclass
class TerminalRun:
    """The result of a run with standard error, and maybe standard output, on a terminal."""

    returncode: int
    terminal: str
    stdout: str


def run_on_terminal(
    *arguments: str, env: dict[str, str], stdout_on_terminal: bool, timeout: float = 60
) -> TerminalRun:
    """Run the installed command with standard error on a pseudo-terminal.

    Standard output goes to the same terminal, or to a file when ``stdout_on_terminal`` is
    false. Everything the terminal received is returned, escape sequences included.
    """
    controller, device = pty.openpty()
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [COMMAND, *arguments],
            stdin=stdin,
            stdout=device if stdout_on_terminal else output,
            stderr=device,
            env=env,
        )
        os.close(device)
        received = _read_until_closed(controller, process, timeout)
        returncode = process.wait(timeout=timeout)
        output.seek(0)
        stdout = output.read().decode()
    return TerminalRun(returncode, received.decode(errors="replace"), stdout)


def _read_until_closed(controller: int, process: subprocess.Popen[bytes], timeout: float) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    # Read what is left: the terminal may still hold the last output.
                    ready, _, _ = select.select([controller], [], [], 0.1)
                    if not ready:
                        break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            process.kill()
            raise TimeoutError(f"the command did not finish within {timeout} s")
    finally:
        os.close(controller)
    return b"".join(chunks)


@dataclass
class EmulatorCommand:
    """A run of ``aep-jobs emulator``: the lines it printed first and, once stopped, the rest."""

    lines: list[str]
    rest: str = ""
    errors: str = ""
    returncode: int | None = None

    @property
    def base_url(self) -> str:
        """The service root printed on the second line."""
        return self.lines[1].strip().removeprefix("AEP_BASE_URL=")


@contextlib.contextmanager
def emulator_command(
    *arguments: str,
    lines: int = 5,
    env: dict[str, str] | None = None,
    stop: int = signal.SIGINT,
    command: tuple[str, ...] = (COMMAND,),
) -> Iterator[EmulatorCommand]:
    """Run ``aep-jobs emulator`` with ``arguments``, read its first ``lines``, and yield.

    Leaving the block sends ``stop`` and records the rest of the output and the exit code.
    """
    with subprocess.Popen(
        [*command, "emulator", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        run = EmulatorCommand([process.stdout.readline() for _ in range(lines)])
        try:
            yield run
        finally:
            process.send_signal(stop)
            run.rest, run.errors = process.communicate(timeout=30)
            run.returncode = process.returncode
