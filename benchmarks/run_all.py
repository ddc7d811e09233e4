"""Run every listing benchmark and print the results as Markdown tables, with their ratios.

It starts ``serve_pages.py`` servers in processes of their own, pinned to CPU 1, and runs
each client variant of ``listing.py`` in a new process pinned to CPU 0, so that every peak
resident memory figure is that variant's own. The server's CPU share during each run comes
from ``/proc/PID/stat``. Every run is bounded in jobs and in seconds.

    uv run --group bench python benchmarks/run_all.py --output listing-results.json

``--quick`` runs smaller listings, to check that everything works.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVER_CPU = 1
CLIENT_CPU = 0
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

THROUGHPUT_VARIANTS = [
    "httpx-bytes",
    "httpx-msgspec",
    "aep_jobs",
    "aep_jobs-projection",
    "aep_jobs-prefetch",
    "aep_jobs-aiohttp",
    "aep_jobs-aiohttp-projection",
    "aiohttp-msgspec",
    "aepp",
    "requests-json",
    "httpx-pydantic",
]
# The hand-written httpx and msgspec loop that every ratio compares with.
FLOOR = "httpx-msgspec"
# Variants that are aep_jobs itself, for the memory check.
LIBRARY_VARIANTS = [name for name in THROUGHPUT_VARIANTS if name.startswith("aep_jobs")]
SECTIONS = ["small", "million", "overhead", "prefetch", "startup"]
# Variants timed in alternation with the floor, many rounds, for the library's overhead.
OVERHEAD_VARIANTS = [
    FLOOR,
    "aep_jobs",
    "aep_jobs-aiohttp",
    "aiohttp-msgspec",
]
PACKAGES = [
    "httpx",
    "httpcore",
    "anyio",
    "sniffio",
    "msgspec",
    "aiohttp",
    "uvloop",
    "httptools",
    "aepp",
    "requests",
    "pydantic",
]


@dataclass
class Server:
    """A running ``serve_pages.py``."""

    process: subprocess.Popen[str]
    base_url: str

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            # The command name in brackets may contain spaces: split after it.
            fields = stat.read().rsplit(")", 1)[1].split()
        # utime and stime are the 14th and 15th fields, counting the pid as the first.
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


@contextmanager
def server(jobs: int, page_size: int, latency: float = 0.0) -> Iterator[Server]:
    """Start ``serve_pages.py`` and stop it by closing its standard input."""
    command = [
        sys.executable,
        str(HERE / "serve_pages.py"),
        f"--jobs={jobs}",
        f"--page-size={page_size}",
        f"--latency={latency}",
        f"--cpu={SERVER_CPU}",
    ]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"serve_pages.py did not start: {command}")
        yield Server(process, base_url)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_variant(
    target: Server, variant: str, page_size: int, max_jobs: int, max_seconds: float, *extra: str
) -> dict[str, Any]:
    """Run one variant of ``listing.py`` in a new process and return its result."""
    name, prefetch = variant, "0"
    if variant == "aep_jobs-prefetch":
        name, prefetch = "aep_jobs", "2"
    command = [
        sys.executable,
        str(HERE / "listing.py"),
        f"--base-url={target.base_url}",
        f"--variant={name}",
        f"--page-size={page_size}",
        f"--max-jobs={max_jobs}",
        f"--max-seconds={max_seconds}",
        f"--prefetch={prefetch}",
        f"--cpu={CLIENT_CPU}",
        *extra,
    ]
    cpu_before = target.cpu_seconds()
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=max_seconds + 60, check=True
        )
    except subprocess.TimeoutExpired:
        return {"variant": variant, "jobs": 0, "capped": True, "error": "timed out"}
    except subprocess.CalledProcessError as error:
        return {"variant": variant, "jobs": 0, "capped": True, "error": error.stderr[-500:]}
    wall = time.perf_counter() - started
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    result["variant"] = variant
    result["server_cpu_share"] = (target.cpu_seconds() - cpu_before) / wall
    return result


def median_of(results: Sequence[dict[str, Any]], floors: Sequence[float]) -> dict[str, Any]:
    """Return the run with the median jobs per second, with the medians of the other figures.

    ``vs_floor`` is the median of the ratios to the floor of the same round, which is steadier
    than a ratio of medians when the machine's speed drifts between rounds.
    """
    ordered = sorted(results, key=lambda result: result.get("jobs_per_second", 0.0))
    middle = dict(ordered[len(ordered) // 2])
    for key in ("first_job_seconds", "peak_rss_mb", "server_cpu_share"):
        values = [result[key] for result in results if key in result]
        if values:
            middle[key] = statistics.median(values)
    ratios = [
        result.get("jobs_per_second", 0.0) / floor
        for result, floor in zip(results, floors, strict=True)
        if floor
    ]
    middle["vs_floor"] = statistics.median(ratios) if ratios else 0.0
    middle["vs_floor_runs"] = ratios
    middle["jobs_per_second_runs"] = [result.get("jobs_per_second", 0.0) for result in results]
    middle["runs"] = len(results)
    return middle


def measure(
    target: Server,
    variants: Sequence[str],
    page_size: int,
    max_jobs: int,
    repeats: int,
    max_seconds: float,
    *extra: str,
) -> dict[str, dict[str, Any]]:
    """Run the variants in turn, ``repeats`` rounds, and return the median of each."""
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for _round in range(repeats):
        for variant in variants:
            result = run_variant(target, variant, page_size, max_jobs, max_seconds, *extra)
            runs[variant].append(result)
            print(f"  {variant}: {result.get('jobs_per_second', 0):,.0f} jobs/s", file=sys.stderr)
    floor_runs = runs.get(FLOOR, [])
    floors = [result.get("jobs_per_second", 0.0) for result in floor_runs]
    if not floors:
        floors = [0.0] * repeats
    return {variant: median_of(results, floors) for variant, results in runs.items()}


def throughput_table(title: str, medians: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"#### {title}",
        "",
        "| variant | jobs/s | vs floor | first job (ms) | peak RSS (MB) | server CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for variant, result in medians.items():
        if "error" in result:
            lines.append(f"| {variant} | failed: {result['error'][:60]} | | | | |")
            continue
        capped = " (capped)" if result.get("capped") else ""
        lines.append(
            f"| {variant}{capped} | {result['jobs_per_second']:,.0f} "
            f"| {result['vs_floor']:.2f} "
            f"| {result['first_job_seconds'] * 1000:.1f} | {result['peak_rss_mb']:.0f} "
            f"| {result['server_cpu_share']:.0%} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "packages": versions,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run small listings only")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the 100k listings")
    parser.add_argument("--output", type=Path, help="write every figure to this JSON file")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=SECTIONS,
        help="run these sections only (default: all)",
    )
    arguments = parser.parse_args()
    sections = set(arguments.only)

    small = 10_000 if arguments.quick else 100_000
    large = 50_000 if arguments.quick else 1_000_000
    repeats = 1 if arguments.quick else arguments.repeats
    report: dict[str, Any] = {"machine": machine()}
    tables: list[str] = []

    for page_size in (100, 1000) if "small" in sections else ():
        print(f"Throughput on {small:,} jobs, pages of {page_size}", file=sys.stderr)
        with server(small, page_size) as target:
            medians = measure(target, THROUGHPUT_VARIANTS, page_size, small, repeats, 180)
            report[f"throughput_{small}_{page_size}"] = medians
            tables.append(throughput_table(f"{small:,} jobs, pages of {page_size:,}", medians))
            if page_size == 1000:
                print("Memory for 1,000 jobs", file=sys.stderr)
                one_page = measure(target, LIBRARY_VARIANTS, page_size, 1000, repeats, 60)
                report["rss_1000"] = one_page
                decoding = subprocess.run(
                    [sys.executable, str(HERE / "decoding.py"), f"--base-url={target.base_url}"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                report["decoding_1000"] = json.loads(decoding.stdout)

    if "million" in sections:
        print(f"Throughput on {large:,} jobs", file=sys.stderr)
        with server(large, 1000) as target:
            medians = measure(target, THROUGHPUT_VARIANTS, 1000, large, 1, 240)
            report[f"throughput_{large}_1000"] = medians
            tables.append(throughput_table(f"{large:,} jobs, pages of 1,000", medians))

    if "overhead" in sections:
        rounds = 2 if arguments.quick else 7
        for page_size in (100, 1000):
            print(f"Overhead, pages of {page_size}, {rounds} rounds", file=sys.stderr)
            with server(small, page_size) as target:
                medians = measure(target, OVERHEAD_VARIANTS, page_size, small, rounds, 180)
                report[f"overhead_{page_size}"] = medians
                title = f"Library overhead: {small:,} jobs, pages of {page_size:,}, {rounds} rounds"
                tables.append(throughput_table(title, medians))

    if "prefetch" in sections:
        report["prefetch"] = measure_prefetch(10 if arguments.quick else 40)

    if "startup" in sections:
        print("Start-up", file=sys.stderr)
        startup = subprocess.run(
            [sys.executable, str(HERE / "startup.py"), f"--runs={5 if arguments.quick else 20}"],
            capture_output=True,
            text=True,
            check=True,
        )
        report["startup"] = json.loads(startup.stdout)

    print(json.dumps(report["machine"], indent=2))
    print("\n\n".join(tables))
    for key in ("rss_1000", "decoding_1000", "prefetch", "startup"):
        if key in report:
            print(json.dumps({key: report[key]}))
    if arguments.output is not None:
        arguments.output.write_text(json.dumps(report, indent=2), encoding="utf-8")


def measure_prefetch(pages: int) -> dict[str, Any]:
    """Time pages of 100 with 50 ms of server latency and 50 ms of work per page."""
    print("Prefetch with 50 ms of latency and 50 ms of work per page", file=sys.stderr)
    with server(pages * 100 + 100, 100, latency=0.05) as target:
        prefetch: dict[str, Any] = {}
        for kind in ("sleep", "cpu"):
            for depth in (0, 1, 2):
                result = run_variant(
                    target,
                    "aep_jobs-pages",
                    100,
                    pages * 100,
                    120,
                    "--work-ms=50",
                    f"--work-kind={kind}",
                    f"--prefetch={depth}",
                )
                prefetch[f"{kind}_prefetch_{depth}"] = result
    return prefetch


if __name__ == "__main__":
    main()
