"""Benchmarks of bulk creates, against the emulator served on 127.0.0.1 in its own process.

    uv run python benchmarks/bulk.py            # about ten minutes on 2 CPUs
    uv run python benchmarks/bulk.py --quick    # fewer requests, one sweep round

Each figure is compared with a figure of the same run: the ideal rate, the server's rate
limit, or a baseline of ``asyncio.gather`` over an ``asyncio.Semaphore`` calling
``client.create`` once per request. Each figure is the median of 3 rounds. The
measurements:

1. latency: 50 ms of server latency, 32 requests in flight, against 32 / 0.05 s;
2. rate limit: a server limit of 200 requests per second (burst 200), against 200;
3. sweep: no latency, 8, 32, 64 and 128 requests in flight;
4. pool size: no latency, 128 in flight, bulk runs with pools of 4, 16 and 128 connections
   (the default is 8; 128 is one pool for the whole run);
5. the sweep again in a process where ``sniffio`` cannot be imported, as in an install of
   aep-jobs without Trio (``benchmarks/without_sniffio.py``).

The client runs on one CPU and the server on another when there are two or more.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

from aep_jobs import (
    AepJobsError,
    Destination,
    ExportFilter,
    ExportJobRequest,
    ExportJobsClient,
    SchemaRef,
    SegmentFilter,
    collect,
)
from aep_jobs.bulk import _pools

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "serve_emulator.py"
ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
SWEEP = (8, 32, 64, 128)
# Requests per connection pool tried at 128 in flight; 128 sends through one pool.
POOL_SIZES = (4, 16, 128)
DEFAULT_REQUESTS_PER_POOL = _pools.REQUESTS_PER_POOL
# No measurement may take longer than this, in seconds.
TIME_LIMIT = 120.0


@dataclasses.dataclass
class Measurement:
    """One measured run: what ran, how fast, and what the client and server spent."""

    scenario: str
    engine: str
    concurrency: int
    requests: int
    seconds: float
    created: int
    failed: int
    rate_limited: int
    peak_in_flight: int
    client_cpu: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class Server:
    """The emulator in a child process, with its counters read over a pipe."""

    def __init__(self, *options: str, cpu: int | None) -> None:
        command = [sys.executable, str(SERVER_SCRIPT), *options]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self.base_url = self._process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the emulator server did not start: {self.base_url!r}")

    def command(self, line: str) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._process.stdout.readline())
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def make_client(base_url: str, concurrency: int) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="benchmark-key",
        sandbox="prod",
        token="benchmark-token",
        base_url=base_url,
        max_connections=max(100, concurrency),
    )


def requests(count: int) -> Iterator[ExportJobRequest]:
    for number in range(count):
        yield ExportJobRequest(
            destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
            schema=SchemaRef(name="_xdm.context.profile"),
            filter=ExportFilter(segments=[SegmentFilter(segment_id=f"segment-{number:06d}")]),
        )


async def run_bulk(client: ExportJobsClient, count: int, concurrency: int) -> tuple[int, int]:
    summary = await collect(client.create_many(requests(count), max_concurrency=concurrency))
    return len(summary.succeeded), count - len(summary.succeeded)


async def run_gather(client: ExportJobsClient, count: int, concurrency: int) -> tuple[int, int]:
    semaphore = asyncio.Semaphore(concurrency)
    outcomes = {"created": 0, "failed": 0}

    async def create(request: ExportJobRequest) -> None:
        async with semaphore:
            try:
                await client.create(request)
            except AepJobsError:
                outcomes["failed"] += 1
            else:
                outcomes["created"] += 1

    await asyncio.gather(*(create(request) for request in requests(count)))
    return outcomes["created"], outcomes["failed"]


RUNNERS = {"bulk": run_bulk, "gather": run_gather}


async def measure(
    server: Server, scenario: str, engine: str, count: int, concurrency: int
) -> Measurement:
    runner = RUNNERS[engine]
    async with make_client(server.base_url, concurrency) as client:
        # A short unmeasured run opens the connections and warms both processes up.
        await asyncio.wait_for(runner(client, min(200, count), concurrency), TIME_LIMIT)
    before = server.command("stats")
    server.command("reset")
    started, cpu_started = time.perf_counter(), time.process_time()
    async with make_client(server.base_url, concurrency) as client:
        created, failed = await asyncio.wait_for(runner(client, count, concurrency), TIME_LIMIT)
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    after = server.command("stats")
    return Measurement(
        scenario=scenario,
        engine=engine,
        concurrency=concurrency,
        requests=count,
        seconds=seconds,
        created=created,
        failed=failed,
        rate_limited=after["rate_limited"],
        peak_in_flight=after["peak_in_flight"],
        client_cpu=client_cpu / seconds,
        server_cpu=(after["cpu_seconds"] - before["cpu_seconds"]) / seconds,
    )


@dataclasses.dataclass(frozen=True)
class Case:
    """One cell of a table: an engine at a concurrency, with a pool size for bulk runs."""

    scenario: str
    engine: str
    concurrency: int
    count: int
    requests_per_pool: int = _pools.REQUESTS_PER_POOL


async def median_of_rounds(server: Server, cases: list[Case], repeat: int) -> list[Measurement]:
    """Measure every case ``repeat`` times, in rounds, and keep the median of each, so that
    a slow moment of the machine does not fall on one case only."""
    rounds: dict[Case, list[Measurement]] = {case: [] for case in cases}
    for _ in range(repeat):
        for case in cases:
            _pools.REQUESTS_PER_POOL = case.requests_per_pool
            try:
                measurement = await measure(
                    server, case.scenario, case.engine, case.count, case.concurrency
                )
            finally:
                _pools.REQUESTS_PER_POOL = DEFAULT_REQUESTS_PER_POOL
            rounds[case].append(measurement)
    medians = []
    for case in cases:
        runs = sorted(rounds[case], key=lambda m: m.rate)
        median = runs[len(runs) // 2]
        if case.requests_per_pool != DEFAULT_REQUESTS_PER_POOL:
            median.engine = f"bulk, pools of {case.requests_per_pool}"
        medians.append(median)
    return medians


def sweep_cases(count: int) -> list[Case]:
    return [
        Case("sweep", engine, concurrency, count) for concurrency in SWEEP for engine in RUNNERS
    ]


async def sweep(count: int, repeat: int, server_cpu: int | None) -> list[Measurement]:
    with Server(cpu=server_cpu) as server:
        return await median_of_rounds(server, sweep_cases(count), repeat)


async def all_scenarios(count: int, repeat: int, server_cpu: int | None) -> list[Measurement]:
    results = []
    with Server("--latency", "0.05", cpu=server_cpu) as server:
        cases = [Case("latency 50 ms", engine, 32, count) for engine in RUNNERS]
        results += await median_of_rounds(server, cases, repeat)
    with Server("--rate", "200", "--burst", "200", cpu=server_cpu) as server:
        cases = [Case("rate limit 200/s", engine, 32, count) for engine in RUNNERS]
        results += await median_of_rounds(server, cases, repeat)
    with Server(cpu=server_cpu) as server:
        cases = sweep_cases(count)
        cases += [
            Case("pool size", "bulk", 128, count, requests_per_pool=size) for size in POOL_SIZES
        ]
        results += await median_of_rounds(server, cases, repeat)
    return results


def sweep_without_sniffio(count: int, repeat: int, server_cpu: int | None) -> list[Measurement]:
    """Run the sweep in a child process in which ``import sniffio`` fails."""
    command = [sys.executable, str(HERE / "without_sniffio.py"), "--sweep-only"]
    command += ["--count", str(count), "--repeat", str(repeat), "--json", "-"]
    if server_cpu is None:
        command.append("--no-pin")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    measurements = [Measurement(**record) for record in json.loads(output)]
    for measurement in measurements:
        measurement.scenario = "sweep, no sniffio"
    return measurements


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("httpx", "httpcore", "anyio", "msgspec", "httptools", "uvloop")
    )
    return {
        "date": dt.date.today().isoformat(),
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "python": platform.python_version(),
        "packages": versions,
        "load average before": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def report(results: list[Measurement]) -> str:
    lines = [
        "| scenario | engine | in flight | requests | req/s | created | failed | 429s "
        "| peak in flight | client CPU | server CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        lines.append(
            f"| {m.scenario} | {m.engine} | {m.concurrency} | {m.requests} | {m.rate:,.0f} "
            f"| {m.created} | {m.failed} | {m.rate_limited} | {m.peak_in_flight} "
            f"| {m.client_cpu:.0%} | {m.server_cpu:.0%} |"
        )
    lines.append("")
    lines += ratios(results)
    return "\n".join(lines)


def ratios(results: list[Measurement]) -> list[str]:
    def rate(scenario: str, engine: str, concurrency: int) -> float | None:
        for m in results:
            if (m.scenario, m.engine, m.concurrency) == (scenario, engine, concurrency):
                return m.rate
        return None

    lines = []
    latency = rate("latency 50 ms", "bulk", 32)
    if latency is not None:
        lines.append(f"- latency 50 ms, 32 in flight: bulk at {latency / (32 / 0.05):.0%} of 640/s")
    limited = rate("rate limit 200/s", "bulk", 32)
    if limited is not None:
        lines.append(f"- rate limit 200/s: bulk at {limited / 200:.0%} of 200/s")
    default_128 = rate("sweep", "bulk", 128)
    for size in POOL_SIZES:
        other = rate("pool size", f"bulk, pools of {size}", 128)
        if default_128 and other:
            lines.append(
                f"- 128 in flight: pools of {size} at {other / default_128:.2f} x the rate "
                f"of pools of {DEFAULT_REQUESTS_PER_POOL}"
            )
    for scenario in ("sweep", "sweep, no sniffio"):
        at_32, at_128 = rate(scenario, "bulk", 32), rate(scenario, "bulk", 128)
        if at_32 and at_128:
            lines.append(f"- {scenario}: bulk at 128 in flight / bulk at 32: {at_128 / at_32:.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark bulk creates on the emulator.")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 requests per measurement, one sweep round"
    )
    parser.add_argument("--count", type=int, default=3000, help="requests per measurement")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the sweep; the median is kept"
    )
    parser.add_argument("--sweep-only", action="store_true", help="only the concurrency sweep")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and server")
    parser.add_argument("--json", metavar="FILE", help="write the measurements as JSON ('-')")
    arguments = parser.parse_args()
    count = 1000 if arguments.quick else arguments.count
    repeat = 1 if arguments.quick else arguments.repeat

    server_cpu: int | None = None
    if not arguments.no_pin and len(os.sched_getaffinity(0)) >= 2:
        client_cpu, server_cpu = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, {client_cpu})

    if arguments.sweep_only:
        results = asyncio.run(sweep(count, repeat, server_cpu))
    else:
        info = machine()
        results = asyncio.run(all_scenarios(count, repeat, server_cpu))
        results += sweep_without_sniffio(count, repeat, server_cpu)

    if arguments.json == "-":
        print(json.dumps([dataclasses.asdict(m) for m in results]))
        return
    if arguments.json:
        Path(arguments.json).write_text(json.dumps([dataclasses.asdict(m) for m in results]))
    if not arguments.sweep_only:
        for key, value in info.items():
            print(f"{key}: {value}")
        print("load average after: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
        print(f"command: {' '.join(['python', *sys.argv])}")
        print()
    print(report(results))


if __name__ == "__main__":
    main()
