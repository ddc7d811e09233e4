"""Every Python example in README.md and docs/ runs against the emulator.

Each fenced ``python`` block is one test whose id is the Markdown file and the line of the
block's opening fence, such as ``docs/pagination.md:39``. markdown_examples.py finds the
blocks and sorts them by kind, and this module runs each kind its own way:

- A program runs with ``sys.executable -W error`` in a subprocess. Its AEP_* environment
  variables point at an emulator served on 127.0.0.1, which issues the access token from its
  IMS token endpoint. It must exit with 0 and write nothing to standard error.
- A pytest module runs with pytester, in a pytest subprocess of its own with ``-W error``.
  Every test in it must pass: one run per test function, and one per anyio backend for an
  async test.
- Fragments run in file order, in one namespace per file and backend, as doctest runs a
  file: a block may use the names that an earlier block of its file defined. Top-level
  ``await``, ``async for`` and ``async with`` work. The AEP_* environment variables point at
  an emulator served on 127.0.0.1 for that file, seeded with ``SEEDED_JOBS`` jobs. A fragment
  that uses asyncio (``import asyncio``, aiohttp, ``AiohttpTransport``) runs on asyncio only.
- A block marked ``<!-- example: not run, because REASON -->`` is reported as skipped, with
  its reason.

Names that a file's namespace defines before its first fragment runs:

- ``client``: an ``ExportJobsClient.from_env()`` on the file's emulator, bound again before
  each block, because a block that ends an ``async with ... as client:`` leaves a closed one;
- ``request``: an ``ExportJobRequest`` for one segment of a dataset;
- ``requests``: a list of ``len(SEGMENT_IDS)`` such requests, one per segment;
- ``handle``: an async function that takes a job and records it for the checks.

Every example must run without an exception. Where the prose around an example promises a
result, a check registered below for that example asserts it, and a setup may inject the
fault that the example handles.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib.util
import inspect
import io
import os
import re
import socket
import subprocess
import sys
import time
import traceback
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from aep_jobs import (
    Destination,
    ExportFilter,
    ExportJob,
    ExportJobRequest,
    ExportJobsClient,
    SchemaRef,
    SegmentFilter,
)
from aep_jobs.emulator import (
    DEFAULT_ORG_ID,
    Emulator,
    EmulatorConfig,
    EmulatorServer,
    Fault,
    FaultRule,
    serve,
)
from markdown_examples import (
    Example,
    Kind,
    find_examples,
    markdown_files,
    parse_markdown,
    stray_markers,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = find_examples(ROOT)

#: Jobs seeded into each emulator: enough for two pages of FAILED jobs at the default page
#: size, and for job 722, the id of Adobe's examples.
SEEDED_JOBS = 1_000
#: The segments of ``requests`` in a fragment's namespace.
SEGMENT_IDS = tuple(f"5c9f0a4e-7d1b-4c3a-9e2f-{number:012d}" for number in range(1, 11))
DATASET_ID = "5b7c86968f7b6501e21ba9df"

CLIENT_ID = "doc-examples-client"
CLIENT_SECRET = "doc-examples-secret"
ACCESS_TOKEN = "doc-examples-token"

#: Seconds a program or a pytest run may take before it is stopped.
SUBPROCESS_TIMEOUT = 120.0
#: Seconds a fragment may take before it is cancelled.
FRAGMENT_TIMEOUT = 60.0

#: Emulator settings of a file's fragments, where the defaults do not suit them. The bulk
#: examples cancel the jobs they created, so those jobs stay NEW for a minute.
FRAGMENT_EMULATOR_CONFIGS = {
    "docs/bulk.md": EmulatorConfig(processing_after=60.0, finish_after=120.0),
}

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def example_id(example: Example) -> str:
    return example.id


def examples_of_kind(kind: Kind) -> list[Example]:
    return [example for example in EXAMPLES if example.kind is kind]


# ---------------------------------------------------------------------------------------------
# Emulators and their environment


class ShiftedClock:
    """The wall-clock time plus ``offset`` seconds, for an emulator's ``clock``."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def seeded_emulator(config: EmulatorConfig) -> Emulator:
    """Return an emulator seeded with ``SEEDED_JOBS`` jobs that have all finished.

    The jobs are seeded on a clock set back by more than ``finish_after``, so that none is
    NEW or PROCESSING any more and none changes status while an example lists it.
    """
    clock = ShiftedClock(-(config.finish_after + 1.0))
    emulator = Emulator(dataclasses.replace(config, clock=clock))
    emulator.seed(SEEDED_JOBS)
    clock.offset = 0.0
    return emulator


def token_environment(server: EmulatorServer) -> dict[str, str]:
    """Return the AEP_* variables for a client with a fixed token on ``server``."""
    return {
        "AEP_ORG_ID": DEFAULT_ORG_ID,
        "AEP_CLIENT_ID": CLIENT_ID,
        "AEP_ACCESS_TOKEN": ACCESS_TOKEN,
        "AEP_SANDBOX": "prod",
        "AEP_BASE_URL": server.base_url,
        "AEP_IMS_URL": server.ims_url,
    }


def oauth_environment(server: EmulatorServer) -> dict[str, str]:
    """Return the AEP_* variables for a client that gets its token from ``server``'s IMS."""
    environment = token_environment(server)
    del environment["AEP_ACCESS_TOKEN"]
    environment["AEP_CLIENT_SECRET"] = CLIENT_SECRET
    return environment


def without_aep_variables(environ: dict[str, str]) -> dict[str, str]:
    """Return ``environ`` without the AEP_* variables, so that a developer's settings stay out."""
    return {name: value for name, value in environ.items() if not name.startswith("AEP_")}


def export_request(segment_id: str) -> ExportJobRequest:
    return ExportJobRequest(
        destination=Destination(dataset_id=DATASET_ID),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(segments=[SegmentFilter(segment_id=segment_id)]),
    )


# ---------------------------------------------------------------------------------------------
# Fragments: one namespace per file


class FragmentSession:
    """The emulator, server, client and namespace that the fragments of one file share."""

    def __init__(self, path: str, server: EmulatorServer) -> None:
        self.path = path
        self.emulator = server.emulator
        self.environ = token_environment(server)
        self.client = ExportJobsClient.from_env(self.environ)
        #: The jobs that ``handle`` received, in order.
        self.handled: list[Any] = []
        #: Each fragment that ran, by line: "passed", "failed" or "skipped".
        self.outcomes: dict[int, str] = {}
        #: Values that a setup saves for the check after the fragment.
        self.saved: dict[str, Any] = {}
        self._clients: list[ExportJobsClient] = [self.client]
        self._source_name = str(ROOT / path)

        async def handle(job: Any) -> None:
            self.handled.append(job)

        self.namespace: dict[str, Any] = {
            "__name__": "__main__",
            "client": self.client,
            "request": export_request(SEGMENT_IDS[0]),
            "requests": [export_request(segment_id) for segment_id in SEGMENT_IDS],
            "handle": handle,
        }

    def value(self, name: str) -> Any:
        """Return the value that the examples bound to ``name``, and fail if they no longer do."""
        assert name in self.namespace, f"the examples of {self.path} no longer define {name!r}"
        return self.namespace[name]

    async def run(self, example: Example) -> str:
        """Run one fragment in the namespace and return what it printed."""
        self.namespace["client"] = self.client
        code = compile(
            example.padded_code,
            self._source_name,
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
        output = io.StringIO()
        try:
            with anyio.fail_after(FRAGMENT_TIMEOUT), contextlib.redirect_stdout(output):
                result = types.FunctionType(code, self.namespace)()
                if inspect.isawaitable(result):
                    await result
        finally:
            self._keep_clients()
            # Printed again, so that pytest shows the output of a failed test.
            print(output.getvalue(), end="")
        return output.getvalue()

    def failing_line(self, error: BaseException) -> str:
        """Return ``path:line`` of the example's line that raised ``error``."""
        frames = traceback.extract_tb(error.__traceback__)
        lines = [frame.lineno for frame in frames if frame.filename == self._source_name]
        return f"{self.path}:{lines[-1]}" if lines else self.path

    def _keep_clients(self) -> None:
        """Remember every client in the namespace, so that each is closed at the end."""
        for value in self.namespace.values():
            if isinstance(value, ExportJobsClient) and all(
                value is not known for known in self._clients
            ):
                self._clients.append(value)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


class FragmentSessions:
    """The sessions of one backend, created as the first fragment of each file runs."""

    def __init__(self) -> None:
        self._sessions: dict[str, FragmentSession] = {}
        self._servers = contextlib.ExitStack()

    def get(self, path: str) -> FragmentSession:
        """Return the session of ``path``, serving its emulator the first time."""
        if path not in self._sessions:
            config = FRAGMENT_EMULATOR_CONFIGS.get(path, EmulatorConfig())
            server = self._servers.enter_context(serve(seeded_emulator(config)))
            self._sessions[path] = FragmentSession(path, server)
        return self._sessions[path]

    async def aclose(self) -> None:
        try:
            for session in self._sessions.values():
                await session.aclose()
        finally:
            self._servers.close()


FragmentSetup = Callable[[FragmentSession], None]
FragmentCheck = Callable[[FragmentSession, str], Awaitable[None]]
ProgramCheck = Callable[[Emulator, str], None]

#: Setups and checks by (file, a snippet of the example's code).
FRAGMENT_SETUPS: dict[tuple[str, str], FragmentSetup] = {}
FRAGMENT_CHECKS: dict[tuple[str, str], FragmentCheck] = {}
PROGRAM_CHECKS: dict[tuple[str, str], ProgramCheck] = {}


def fragment_setup(path: str, snippet: str) -> Callable[[FragmentSetup], FragmentSetup]:
    """Register a function to call before the fragment of ``path`` that contains ``snippet``."""

    def register(setup: FragmentSetup) -> FragmentSetup:
        FRAGMENT_SETUPS[path, snippet] = setup
        return setup

    return register


def fragment_check(path: str, snippet: str) -> Callable[[FragmentCheck], FragmentCheck]:
    """Register a check of the fragment of ``path`` that contains ``snippet``.

    The check gets the session and what the fragment printed.
    """

    def register(check: FragmentCheck) -> FragmentCheck:
        FRAGMENT_CHECKS[path, snippet] = check
        return check

    return register


def program_check(path: str, snippet: str) -> Callable[[ProgramCheck], ProgramCheck]:
    """Register a check of the program of ``path`` that contains ``snippet``.

    The check gets the program's emulator and what the program printed.
    """

    def register(check: ProgramCheck) -> ProgramCheck:
        PROGRAM_CHECKS[path, snippet] = check
        return check

    return register


Hook = TypeVar("Hook")


def hooks_for(example: Example, hooks: dict[tuple[str, str], Hook]) -> list[Hook]:
    return [
        hook
        for (path, snippet), hook in hooks.items()
        if path == example.path and example.contains(snippet)
    ]


async def run_fragment(
    session: FragmentSession, example: Example, earlier_failures: Sequence[str] = ()
) -> None:
    """Run a fragment with its setups and checks, and record its outcome in ``session``.

    :param earlier_failures: the ids of the file's earlier fragments that failed, which the
        message of a failure names, because this one may use names they did not define
    :raises AssertionError: naming the example's file and line, when the fragment raises
    """
    for setup in hooks_for(example, FRAGMENT_SETUPS):
        setup(session)
    session.outcomes[example.line] = "failed"
    try:
        output = await session.run(example)
    except Exception as error:
        message = (
            f"the example at {session.failing_line(error)} raised {type(error).__name__}: {error}"
        )
        if earlier_failures:
            message += f" (after the earlier examples {', '.join(earlier_failures)} failed)"
        raise AssertionError(message) from error
    for check in hooks_for(example, FRAGMENT_CHECKS):
        await check(session, output)
    session.outcomes[example.line] = "passed"


@pytest.fixture(scope="module")
async def fragment_sessions(anyio_backend: str) -> AsyncIterator[FragmentSessions]:
    """The fragment sessions of the backend, closed after the module's last test."""
    sessions = FragmentSessions()
    try:
        yield sessions
    finally:
        await sessions.aclose()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any name lookup of a host other than loopback fail, so no example leaves 127.0.0.1."""
    lookup = socket.getaddrinfo

    def getaddrinfo(host: bytes | str | None, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOOPBACK_HOSTS:
            raise OSError(
                f"a documentation example tried to connect to {name!r}, but examples may "
                "connect only to 127.0.0.1, ::1 and localhost"
            )
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.anyio
@pytest.mark.usefixtures("loopback_only")
@pytest.mark.parametrize("example", examples_of_kind(Kind.FRAGMENT), ids=example_id)
async def test_fragment(
    example: Example,
    anyio_backend: str,
    fragment_sessions: FragmentSessions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if anyio_backend != "asyncio" and example.uses_asyncio:
        pytest.skip(f"{example.id} uses asyncio or aiohttp, so it runs on asyncio only")
    session = fragment_sessions.get(example.path)
    for name in list(os.environ):
        if name.startswith("AEP_"):
            monkeypatch.delenv(name)
    for name, value in session.environ.items():
        monkeypatch.setenv(name, value)

    # The earlier fragments of the file run first when this test was selected on its own.
    earlier_failures: list[str] = []
    for earlier in examples_of_kind(Kind.FRAGMENT):
        if earlier.path != example.path or earlier.line >= example.line:
            continue
        if earlier.line not in session.outcomes:
            if anyio_backend != "asyncio" and earlier.uses_asyncio:
                session.outcomes[earlier.line] = "skipped"
            else:
                with contextlib.suppress(AssertionError):
                    await run_fragment(session, earlier)
        if session.outcomes[earlier.line] == "failed":
            earlier_failures.append(earlier.id)

    await run_fragment(session, example, earlier_failures)


# ---------------------------------------------------------------------------------------------
# Programs, pytest modules, and blocks that are not run


@pytest.mark.parametrize("example", examples_of_kind(Kind.PROGRAM), ids=example_id)
def test_program(example: Example, tmp_path: Path) -> None:
    emulator = seeded_emulator(
        EmulatorConfig(ims_clients={CLIENT_ID: CLIENT_SECRET}, require_issued_tokens=True)
    )
    # Named after the Markdown file, whose line numbers the traceback then shows.
    script = tmp_path / Path(example.path).name
    script.write_text(example.padded_code, encoding="utf-8")

    with serve(emulator) as server:
        completed = subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            env=without_aep_variables(dict(os.environ)) | oauth_environment(server),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )

    print(completed.stdout, end="")
    assert completed.returncode == 0, (
        f"the program at {example.id} exited with {completed.returncode}:\n{completed.stderr}"
    )
    assert completed.stderr == "", f"the program at {example.id} wrote to standard error"
    for check in hooks_for(example, PROGRAM_CHECKS):
        check(emulator, completed.stdout)


def available_backends() -> list[str]:
    """Return the backends that anyio's pytest plugin runs an async test on by default.

    They are the backends whose library is installed: asyncio, and Trio when installed.
    """
    return [name for name in anyio.get_all_backends() if importlib.util.find_spec(name)]


def expected_passes(example: Example) -> int:
    """Return the runs of the tests that the pytest module defines: one per sync test, and
    one per backend of ``available_backends()`` for an async test."""
    backends = len(available_backends())
    tests: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for statement in ast.parse(example.code).body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            tests.append(statement)
        elif isinstance(statement, ast.ClassDef) and statement.name.startswith("Test"):
            tests.extend(
                method
                for method in statement.body
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return sum(
        backends if isinstance(test, ast.AsyncFunctionDef) else 1
        for test in tests
        if test.name.startswith("test")
    )


@pytest.mark.parametrize("example", examples_of_kind(Kind.PYTEST_MODULE), ids=example_id)
def test_pytest_module(example: Example, pytester: pytest.Pytester) -> None:
    # Written as it is, because makepyfile would strip the blank lines that keep the
    # Markdown file's line numbers.
    (pytester.path / "test_example.py").write_text(example.padded_code, encoding="utf-8")

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", timeout=SUBPROCESS_TIMEOUT
    )

    output = result.stdout.str()
    assert result.ret == 0, f"the tests at {example.id} did not all pass:\n{output}"
    passed = result.parseoutcomes().get("passed", 0)
    assert passed == expected_passes(example), f"{example.id}:\n{output}"


@pytest.mark.parametrize("example", examples_of_kind(Kind.NOT_RUN), ids=example_id)
def test_not_run(example: Example) -> None:
    pytest.skip(f"{example.id} is marked as not run, because {example.reason}")


# ---------------------------------------------------------------------------------------------
# The runner itself


def test_every_python_block_is_classified() -> None:
    unclassified = [
        f"{example.id}: {example.reason}"
        for example in EXAMPLES
        if example.kind is Kind.UNCLASSIFIED
    ]

    assert not unclassified, "python blocks that no test runs:\n" + "\n".join(unclassified)


def test_examples_are_found() -> None:
    assert any(example.path == "README.md" for example in EXAMPLES)
    assert any(example.path.startswith("docs/") for example in EXAMPLES)


def test_markers_precede_python_blocks() -> None:
    stray = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in markdown_files(ROOT)
        for line in stray_markers(path.read_text(encoding="utf-8"))
    ]

    assert not stray, "example markers not on the line before a python fence: " + ", ".join(stray)


@pytest.mark.parametrize(
    ("hooks", "kind"),
    [
        pytest.param(FRAGMENT_SETUPS, Kind.FRAGMENT, id="fragment setups"),
        pytest.param(FRAGMENT_CHECKS, Kind.FRAGMENT, id="fragment checks"),
        pytest.param(PROGRAM_CHECKS, Kind.PROGRAM, id="program checks"),
    ],
)
def test_hooks_match_one_example_each(hooks: dict[tuple[str, str], object], kind: Kind) -> None:
    for path, snippet in hooks:
        matches = [
            example.id for example in EXAMPLES if example.path == path and example.contains(snippet)
        ]
        assert len(matches) == 1, f"{snippet!r} of {path} matches the examples {matches}"
        kinds = {example.kind for example in EXAMPLES if example.id == matches[0]}
        assert kinds == {kind}, f"{matches[0]} is a {kinds.pop().value}, not a {kind.value}"


SAMPLE_MARKDOWN = """\
# Title

```python
print("first")
```

1. A list item:

   ```py
   if True:
       print("indented")
   ```

~~~~python
fence = '''
```
'''
~~~~

<!-- example: not run, because it shows a signature -->
```python
create_many(requests, *, max_concurrency=32) -> BulkRun
```

```console
$ not python
```

<!-- example: skipped -->
```python
x = 1
```

```python
broken(
```

```python
async def main() -> None: ...


anyio.run(main)
```

```python
def test_one(): ...
```

```python
never_closed = True
"""


def test_parser_finds_and_classifies_blocks() -> None:
    examples = parse_markdown(SAMPLE_MARKDOWN, "sample.md")

    found = [(example.line, example.kind) for example in examples]
    assert found == [
        (3, Kind.FRAGMENT),
        (9, Kind.FRAGMENT),
        (14, Kind.FRAGMENT),
        (21, Kind.NOT_RUN),
        (30, Kind.UNCLASSIFIED),
        (34, Kind.UNCLASSIFIED),
        (38, Kind.PROGRAM),
        (45, Kind.PYTEST_MODULE),
        (49, Kind.UNCLASSIFIED),
    ]
    assert examples[1].code == 'if True:\n    print("indented")\n'
    assert examples[2].code == "fence = '''\n```\n'''\n"
    assert examples[3].reason == "it shows a signature"
    assert "marker" in examples[4].reason
    assert "not valid Python" in examples[5].reason
    assert "never closed" in examples[8].reason


def test_padded_code_keeps_file_lines() -> None:
    example = parse_markdown(SAMPLE_MARKDOWN, "sample.md")[1]

    assert example.line == 9
    assert example.padded_code.splitlines()[9] == "if True:"


@pytest.mark.usefixtures("loopback_only")
def test_loopback_guard_rejects_other_hosts() -> None:
    # The guard raises before any lookup, so nothing is sent.
    with pytest.raises(OSError, match="may connect only to"):
        socket.getaddrinfo("platform.adobe.io", 443)

    assert socket.getaddrinfo("127.0.0.1", 443)


def test_stray_marker_is_found() -> None:
    text = "<!-- example: not run, because no -->\n\n```python\nx = 1\n```\n"

    assert stray_markers(text) == [1]
    assert stray_markers(SAMPLE_MARKDOWN) == []


# ---------------------------------------------------------------------------------------------
# What the prose promises about each example


@program_check("README.md", "max_items=20")
def check_first_example(emulator: Emulator, output: str) -> None:
    lines = output.splitlines()
    failed_ids = emulator.job_ids(status="FAILED")[:20]

    assert [int(line.split()[0]) for line in lines[:-1]] == failed_ids
    assert all(line.split()[1] == "FAILED" for line in lines[:-1])
    assert lines[-1] in {"NEW", "PROCESSING", "SUCCEEDED", "FAILED"}
    assert emulator.created_count == 1
    assert emulator.tokens_issued == 1


@fragment_check("README.md", "serve(Emulator())")
async def check_served_url(session: FragmentSession, output: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/data/core/ups\n", output)


@fragment_check("docs/authentication.md", "IN_PROCESS_IMS_URL")
async def check_client_of_emulator_ims(session: FragmentSession, output: str) -> None:
    emulator: Emulator = session.value("emulator")
    client: ExportJobsClient = session.value("client")

    # The emulator is not seeded: the page is empty, and the point is the token it needs.
    page = await client.list_page(limit=1)

    assert page.records == []
    assert emulator.token_requests == 1


@fragment_check("docs/bulk.md", "collect(")
async def check_bulk_runs(session: FragmentSession, output: str) -> None:
    requests = session.value("requests")
    summary = session.value("summary")
    printed_ids = [line for line in output.splitlines() if re.fullmatch(r"\d+ \d+", line)]

    assert len(printed_ids) == len(requests)
    assert summary.ok
    assert len(summary.succeeded) == len(requests)
    assert session.emulator.created_count == 2 * len(requests)
    # The cancel run cancelled every job that the two create runs made.
    assert session.emulator.job_ids(status="NEW") == []
    assert len(session.emulator.job_ids(status="CANCELLED")) == 2 * len(requests)


@fragment_check("docs/errors-and-retries.md", "RetryBudget(capacity=1000)")
async def check_get_with_retry_settings(session: FragmentSession, output: str) -> None:
    job: ExportJob = session.value("job")

    assert job.id == 722


@fragment_setup("docs/errors-and-retries.md", "offset=resume_from")
def fail_second_page_of_listing(session: FragmentSession) -> None:
    session.handled.clear()
    session.emulator.inject(
        FaultRule(Fault.status(400), method="GET", route="/export/jobs", requests={2})
    )


@fragment_check("docs/errors-and-retries.md", "offset=resume_from")
async def check_resumed_listing(session: FragmentSession, output: str) -> None:
    rule = session.emulator.faults[-1]
    handled_ids = [job.id for job in session.handled]

    assert rule.fired == 1
    assert handled_ids == session.emulator.job_ids(status="FAILED")


@fragment_setup("docs/errors-and-retries.md", "find_created(client, request")
def lose_create_response(session: FragmentSession) -> None:
    session.emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", limit=1))
    session.saved["created_before"] = session.emulator.created_count


@fragment_check("docs/errors-and-retries.md", "find_created(client, request")
async def check_reconciled_create(session: FragmentSession, output: str) -> None:
    rule = session.emulator.faults[-1]
    job: ExportJob = session.value("job")

    assert rule.fired == 1
    assert session.emulator.created_count == session.saved["created_before"] + 1
    assert job.id == session.emulator.job_ids()[0]


@fragment_check("docs/pagination.md", "list_page(limit=10)")
async def check_pages_and_jobs(session: FragmentSession, output: str) -> None:
    page = session.value("page")

    assert len(page.records) == 10


@fragment_check("docs/pagination.md", "offset=jobs.cursor")
async def check_resumed_iteration(session: FragmentSession, output: str) -> None:
    first = session.value("first")
    rest = session.value("rest")

    assert len(first) == 250
    assert [job.id for job in first + rest] == session.emulator.job_ids()


@fragment_check("docs/pagination.md", "job_type=JobSummary")
async def check_projection(session: FragmentSession, output: str) -> None:
    printed_ids = [int(line.split()[0]) for line in output.splitlines()]

    assert printed_ids == session.emulator.job_ids()


@fragment_setup("docs/pagination.md", "prefetch=2")
def forget_handled_jobs(session: FragmentSession) -> None:
    session.handled.clear()


@fragment_check("docs/pagination.md", "prefetch=2")
async def check_prefetch(session: FragmentSession, output: str) -> None:
    assert [job.id for job in session.handled] == session.emulator.job_ids()
