"""Measure the import time of aep_jobs, what it imports, and the cost of a client's life.

Prints one JSON object: the median wall time of ``python -c "import aep_jobs"`` against
``python -c "pass"`` over ``--runs`` runs, the largest cumulative entries of
``python -X importtime``, which optional or heavy modules the import loads, and the time to
create and close an ``ExportJobsClient``.

    python benchmarks/startup.py --runs 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

# Modules that ``import aep_jobs`` should not need: extras, the emulator, other event loops.
WATCHED = [
    "aep_jobs.emulator",
    "aep_jobs.cli",
    "aep_jobs.bulk",
    "aep_jobs.transports",
    "rich",
    "uvloop",
    "httptools",
    "trio",
    "aiohttp",
    "h2",
    "ssl",
    "email",
    "idna",
    "certifi",
    "anyio._backends._asyncio",
]

_CLIENT_LIFE = """
import anyio, time
from aep_jobs import ExportJobsClient

async def main() -> None:
    started = time.perf_counter()
    client = ExportJobsClient(org_id="1BD6382559DF0C130A49422D@AdobeOrg", api_key="key",
                              sandbox="prod", token="token")
    await client.aclose()
    first = time.perf_counter() - started
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        client = ExportJobsClient(org_id="1BD6382559DF0C130A49422D@AdobeOrg", api_key="key",
                                  sandbox="prod", token="token")
        await client.aclose()
    print(first, (time.perf_counter() - started) / runs)

anyio.run(main)
"""


def _wall(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _importtime_top(count: int) -> list[tuple[str, float]]:
    output = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import aep_jobs"],
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    entries: list[tuple[str, float]] = []
    for line in output.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        entries.append((name.rstrip(), int(cumulative_us) / 1000))
    entries.sort(key=lambda entry: entry[1], reverse=True)
    return entries[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="interpreter starts per case")
    arguments = parser.parse_args()

    loaded_code = (
        "import sys, json, aep_jobs; "
        f"print(json.dumps([name for name in {WATCHED!r} if name in sys.modules]))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", loaded_code], check=True, capture_output=True, text=True
        ).stdout
    )
    life = subprocess.run(
        [sys.executable, "-c", _CLIENT_LIFE], check=True, capture_output=True, text=True
    ).stdout.split()
    result = {
        "python_pass_s": _wall("pass", arguments.runs),
        "import_httpx_s": _wall("import httpx", arguments.runs),
        "import_aep_jobs_s": _wall("import aep_jobs", arguments.runs),
        "importtime_top_ms": _importtime_top(15),
        "watched_modules_loaded": loaded,
        "first_client_create_close_s": float(life[0]),
        "client_create_close_s": float(life[1]),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
