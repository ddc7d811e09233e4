"""The demo: the main job end to end, against the emulator served on 127.0.0.1."""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from typing import Any

import anyio

from ..client import ExportJobsClient
from ..models import Destination, ExportFilter, ExportJobRequest, SchemaRef, SegmentFilter
from . import EXIT_FAILED, EXIT_OK
from ._commands import EMULATOR_API_KEY, EMULATOR_SANDBOX, EMULATOR_TOKEN
from ._output import require_rich

# Fast lifecycles, so that the created jobs finish within seconds.
_PROCESSING_AFTER = 0.3
_FINISH_AFTER = 1.5
_POLL_INTERVAL = 0.25
_MAX_POLL_INTERVAL = 1.0
# Seconds the demo waits for its exports before it gives up.
_WAIT_LIMIT = 60.0
_DATASET_ID = "5b7c86968f7b6501e21ba9df"


async def run_demo(arguments: argparse.Namespace) -> int:
    """Seed and serve the emulator, then list, create, cancel and wait, and print a summary."""
    rich = require_rich("the demo")
    from ..emulator import Emulator, EmulatorConfig, serve

    console = rich.console.Console()
    config = EmulatorConfig(processing_after=_PROCESSING_AFTER, finish_after=_FINISH_AFTER)
    emulator = Emulator(config)
    started = time.perf_counter()
    emulator.seed(arguments.jobs)
    console.print(
        f"Seeded the emulator with {arguments.jobs:,} jobs in {time.perf_counter() - started:.1f} s"
    )

    with serve(emulator) as server:
        console.print(f"Emulator listening on {server.base_url}")
        async with ExportJobsClient(
            org_id=config.org_id,
            api_key=EMULATOR_API_KEY,
            sandbox=EMULATOR_SANDBOX,
            token=EMULATOR_TOKEN,
            base_url=server.base_url,
            page_size=arguments.page_size,
        ) as client:
            seen, listing_seconds = await _stream_jobs(client, rich, console, arguments.jobs)
            created_ids = await _create_exports(client, rich, console, arguments)
            if arguments.cancel > len(created_ids):
                console.print(
                    f"--cancel {arguments.cancel} is more than the {len(created_ids)} exports "
                    "created: cancelling all of them"
                )
            cancelled = await _cancel_some(client, console, created_ids[: arguments.cancel])
            statuses = await _wait_for(client, rich, console, created_ids, arguments.concurrency)

    summary = rich.table.Table(title="Summary", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    summary.add_row("jobs seen", f"{seen:,}")
    summary.add_row("listing time", f"{listing_seconds:.2f} s")
    summary.add_row("jobs per second", f"{seen / listing_seconds:,.0f}" if listing_seconds else "-")
    summary.add_row("exports created", f"{len(created_ids):,}")
    summary.add_row("succeeded", f"{statuses['SUCCEEDED']:,}")
    summary.add_row("failed", f"{statuses['FAILED']:,}")
    summary.add_row("cancelled", f"{statuses['CANCELLED']:,}")
    console.print(summary)

    if seen != arguments.jobs:
        console.print(f"[red]The listing returned {seen:,} of {arguments.jobs:,} seeded jobs[/red]")
        return EXIT_FAILED
    if sum(statuses.values()) != len(created_ids) or statuses["CANCELLED"] != len(cancelled):
        return EXIT_FAILED
    return EXIT_OK


async def _stream_jobs(
    client: ExportJobsClient, rich: Any, console: Any, expected: int
) -> tuple[int, float]:
    seen = 0
    progress = rich.progress.Progress(
        rich.progress.TextColumn("Streaming jobs"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
        console=console,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("list", total=expected)
        async for page in client.iter_pages():
            seen += len(page.records)
            progress.update(task, completed=seen)
    elapsed = time.perf_counter() - started
    console.print(f"Listed {seen:,} jobs in {elapsed:.2f} s ({seen / elapsed:,.0f} jobs/s)")
    return seen, elapsed


async def _create_exports(
    client: ExportJobsClient, rich: Any, console: Any, arguments: argparse.Namespace
) -> list[int]:
    requests = [
        ExportJobRequest(
            destination=Destination(dataset_id=_DATASET_ID),
            schema=SchemaRef(name="_xdm.context.profile"),
            fields="identities.id,personalEmail.address",
            filter=ExportFilter(
                segments=[
                    SegmentFilter(
                        segment_id=str(uuid.uuid4()), segment_ns="ups", status=["realized"]
                    )
                ]
            ),
        )
        for _ in range(arguments.segments)
    ]
    created: list[int] = []
    progress = rich.progress.Progress(
        rich.progress.TextColumn("Creating exports"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        console=console,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("create", total=len(requests))
        run = client.create_many(requests, max_concurrency=arguments.concurrency)
        async with run:
            async for outcome in run:
                if outcome.job is not None:
                    created.append(outcome.job.id)
                else:
                    console.print(
                        f"Export {outcome.index} not created: {outcome.error}",
                        style="red",
                        markup=False,
                    )
                progress.advance(task)
    elapsed = time.perf_counter() - started
    console.print(f"Created {_count(len(created), 'export')} in {elapsed:.2f} s")
    return created


async def _cancel_some(client: ExportJobsClient, console: Any, job_ids: list[int]) -> list[int]:
    for job_id in job_ids:
        await client.cancel(job_id)
    if job_ids:
        ids = ", ".join(map(str, job_ids))
        console.print(f"Requested the cancellation of {_count(len(job_ids), 'export')}: {ids}")
    return job_ids


async def _wait_for(
    client: ExportJobsClient, rich: Any, console: Any, job_ids: list[int], concurrency: int
) -> Counter[str]:
    statuses: Counter[str] = Counter()
    progress = rich.progress.Progress(
        rich.progress.TextColumn("Waiting for exports"),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
        console=console,
    )
    with progress, anyio.move_on_after(_WAIT_LIMIT) as scope:
        task = progress.add_task("wait", total=len(job_ids))
        async with client.wait_many(
            job_ids,
            max_concurrency=concurrency,
            timeout=None,
            poll_interval=_POLL_INTERVAL,
            max_poll_interval=_MAX_POLL_INTERVAL,
        ) as finished:
            async for job in finished:
                statuses[job.status] += 1
                progress.advance(task)
    if scope.cancelled_caught:
        settled = sum(statuses.values())
        console.print(
            f"[red]Only {settled} of {len(job_ids)} exports finished "
            f"within {_WAIT_LIMIT:.0f} s[/red]"
        )
    return statuses


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
