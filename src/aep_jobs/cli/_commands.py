"""The list, get, create and cancel commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec

from .._validation import check_job_id, parse_export_request
from ..client import ExportJobsClient
from ..config import DEFAULT_PAGE_SIZE
from ..errors import AepJobsError, RequestValidationError
from ..models import ExportJob
from ..pagination import JobIterator
from . import EXIT_FAILED, EXIT_OK, UsageError, print_error
from ._output import (
    DEFAULT_LIST_FIELDS,
    JobTable,
    choose_format,
    has_rich,
    job_record,
    live_count,
    print_line,
    require_rich,
)

# Credentials the in-process emulator accepts; they never leave the process.
EMULATOR_API_KEY = "emulator-api-key"
EMULATOR_TOKEN = "emulator-access-token"
EMULATOR_SANDBOX = "prod"


@asynccontextmanager
async def open_client(
    arguments: argparse.Namespace, page_size: int | None = None
) -> AsyncIterator[ExportJobsClient]:
    """Open a client on the in-process emulator (``--emulator``), from an aepp configuration
    file (``--config``) or from the environment."""
    size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    if arguments.emulator:
        from ..emulator import IN_PROCESS_BASE_URL, Emulator

        emulator = Emulator()
        emulator.seed(arguments.emulator_jobs)
        client = ExportJobsClient(
            org_id=emulator.config.org_id,
            api_key=EMULATOR_API_KEY,
            sandbox=EMULATOR_SANDBOX,
            token=EMULATOR_TOKEN,
            base_url=IN_PROCESS_BASE_URL,
            transport=emulator.transport(),
            page_size=size,
        )
    elif getattr(arguments, "config", None):
        client = ExportJobsClient.from_aepp_config(arguments.config, page_size=size)
    else:
        client = ExportJobsClient.from_env(page_size=size)
    async with client:
        yield client


async def run_list(arguments: argparse.Namespace) -> int:
    """List jobs as a table on a terminal, or as JSON lines."""
    output = choose_format(arguments.format)
    async with open_client(arguments, arguments.page_size) as client:
        jobs = client.iter_jobs(status=arguments.status, max_items=arguments.limit)
        if output == "jsonl":
            await _write_json_lines(jobs, arguments.fields)
        else:
            await _print_table(jobs, arguments.fields or DEFAULT_LIST_FIELDS)
    return EXIT_OK


async def _write_json_lines(jobs: AsyncIterator[ExportJob], fields: tuple[str, ...] | None) -> None:
    """Write one JSON object a job, with a live count on standard error when it is a terminal.

    The count is not drawn when standard output is the same terminal, where it would mix
    with the lines.
    """
    out = sys.stdout.buffer
    if sys.stdout.isatty() or not sys.stderr.isatty() or not has_rich():
        async for job in jobs:
            out.write(job_record(job, fields))
        out.flush()
        return

    from rich.console import Console

    console = Console(stderr=True)
    with live_count(console, "jobs") as count:
        async for job in jobs:
            out.write(job_record(job, fields))
            count.add()
    out.flush()
    console.print(f"Listed {count.summary()}", highlight=False)


async def _print_table(jobs: JobIterator[ExportJob], fields: tuple[str, ...]) -> None:
    """Print the jobs as a table, a row as each job arrives, with a live count below.

    Colours and the live count are drawn only on a terminal.
    """
    require_rich("a table")
    from rich.console import Console

    console = Console()
    table = JobTable(fields)
    print_line(console, table.header(), style="bold")
    with live_count(console, "jobs") as count:
        async for job in jobs:
            print_line(console, table.styled_row(job))
            count.add()
    if console.is_terminal:
        console.print(count.summary(), style="dim", highlight=False)


async def run_get(arguments: argparse.Namespace) -> int:
    """Print one job as indented JSON."""
    async with open_client(arguments) as client:
        job = await client.get(arguments.job_id)
    print(msgspec.json.format(msgspec.json.encode(job), indent=2).decode())
    return EXIT_OK


async def run_create(arguments: argparse.Namespace) -> int:
    """Create a job from a JSON body file and print it as indented JSON."""
    if arguments.file == "-":
        body = sys.stdin.buffer.read()
    else:
        try:
            body = await anyio.Path(arguments.file).read_bytes()
        except OSError as error:
            raise UsageError(
                f"cannot read the body file {arguments.file!r}: {error.strerror}"
            ) from None
    try:
        request = parse_export_request(body)
    except RequestValidationError as error:
        source = "standard input" if arguments.file == "-" else repr(arguments.file)
        raise UsageError(f"the body in {source} is invalid: {error}") from None

    async with open_client(arguments) as client:
        job = await client.create(request, profile_instance_id=arguments.profile_instance_id)
    print(msgspec.json.format(msgspec.json.encode(job), indent=2).decode())
    return EXIT_OK


async def run_cancel(arguments: argparse.Namespace) -> int:
    """Cancel each job; one failure does not stop the others."""
    # Every id is checked before anything is sent.
    job_ids = [check_job_id(job_id) for job_id in arguments.job_ids]
    failures = 0
    async with open_client(arguments) as client:
        for job_id in job_ids:
            try:
                result = await client.cancel(job_id)
            except AepJobsError as error:
                failures += 1
                print_error(error)
                continue
            message = f": {result.message}" if result.message else ""
            print(f"Cancel requested for export job {job_id}{message}")
    return EXIT_FAILED if failures else EXIT_OK
