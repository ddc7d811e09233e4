"""Look inside httpcore's connection pool while one client sends many creates at once.

    uv run python benchmarks/httpx_pool_probe.py

For 1 to 128 requests in flight through one ``ExportJobsClient`` (one httpx pool, as an
``asyncio.gather`` over a semaphore drives it), it counts the connections the pool opened
and closed, how often the pool reassigned requests to connections per request, how many
connections and waiting requests each reassignment went through, and the share of the run
spent in that reassignment. The emulator is served in a process of its own, pinned to
another CPU than the client when there are two.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from httpcore._async import connection_pool

from aep_jobs import Destination, ExportJobRequest, ExportJobsClient, SchemaRef
from bulk import Server

CONCURRENCIES = (1, 8, 16, 32, 64, 128)
REQUESTS = 2000
probe: Counter[str] = Counter()
assign_seconds = [0.0]


def _count_assignments() -> None:
    """Wrap the pool's reassignment and connection creation to count their calls."""
    pool_class: Any = connection_pool.AsyncConnectionPool
    assign = pool_class._assign_requests_to_connections
    create = pool_class.create_connection

    def counted_assign(pool: Any) -> Any:
        started = time.perf_counter()
        probe["assignments"] += 1
        probe["connections seen"] += len(pool._connections)
        probe["requests seen"] += len(pool._requests)
        closing = assign(pool)
        probe["closed"] += len(closing)
        assign_seconds[0] += time.perf_counter() - started
        return closing

    def counted_create(pool: Any, origin: Any) -> Any:
        probe["opened"] += 1
        return create(pool, origin)

    pool_class._assign_requests_to_connections = counted_assign
    pool_class.create_connection = counted_create


async def send(base_url: str, concurrency: int, count: int) -> float:
    request = ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
        schema=SchemaRef(name="_xdm.context.profile"),
    )
    semaphore = asyncio.Semaphore(concurrency)
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="probe-key",
        sandbox="prod",
        token="probe-token",
        base_url=base_url,
        max_connections=max(100, concurrency),
    ) as client:

        async def create() -> None:
            async with semaphore:
                await client.create(request)

        started = time.perf_counter()
        await asyncio.gather(*(create() for _ in range(count)))
        return time.perf_counter() - started


def main() -> None:
    server_cpu = None
    if len(os.sched_getaffinity(0)) >= 2:
        client_cpu, server_cpu = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, {client_cpu})
    _count_assignments()
    print(
        "| in flight | req/s | connections opened | closed | reassignments per request "
        "| connections per reassignment | waiting requests per reassignment "
        "| share of time in reassignment |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with Server(cpu=server_cpu) as server:
        for concurrency in CONCURRENCIES:
            asyncio.run(send(server.base_url, concurrency, 200))
            probe.clear()
            assign_seconds[0] = 0.0
            seconds = asyncio.run(send(server.base_url, concurrency, REQUESTS))
            assignments = probe["assignments"]
            print(
                f"| {concurrency} | {REQUESTS / seconds:,.0f} | {probe['opened']} "
                f"| {probe['closed']} | {assignments / REQUESTS:.1f} "
                f"| {probe['connections seen'] / assignments:.1f} "
                f"| {probe['requests seen'] / assignments:.1f} "
                f"| {assign_seconds[0] / seconds:.0%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
