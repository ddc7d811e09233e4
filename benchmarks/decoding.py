"""Time the decoding of one page of export jobs alone, in memory, with each decoder.

The page comes from a running ``serve_pages.py``. Prints one JSON object with the jobs per
second of each decoder (the best of ``--repeats`` rounds).

    python benchmarks/decoding.py --base-url http://127.0.0.1:PORT/data/core/ups --page-size 1000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import httpx

from aep_jobs import ExportJob, JobPage, decoder_for
from listing import HEADERS, JobSummary


def _best_rate(decode: Callable[[bytes], object], body: bytes, jobs: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        decode(body)
        best = min(best, time.perf_counter() - started)
    return jobs / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the service root of serve_pages.py")
    parser.add_argument("--page-size", type=int, default=1000, help="jobs on the page")
    parser.add_argument("--repeats", type=int, default=30, help="rounds per decoder")
    arguments = parser.parse_args()

    url = f"{arguments.base_url}/export/jobs?limit={arguments.page_size}"
    body = httpx.get(url, headers=HEADERS, timeout=30).content
    full = decoder_for(JobPage[ExportJob])
    jobs = len(full.decode(body).records)
    projection = decoder_for(JobPage[JobSummary])
    decoders: dict[str, Callable[[bytes], object]] = {
        "ExportJob": full.decode,
        "projection (3 fields)": projection.decode,
        "json.loads": json.loads,
    }
    try:
        from _pydantic_models import PydanticJobPage
    except ImportError:
        pass
    else:
        decoders["pydantic"] = PydanticJobPage.model_validate_json

    rates = {
        name: _best_rate(decode, body, jobs, arguments.repeats) for name, decode in decoders.items()
    }
    result = {"jobs": jobs, "body_bytes": len(body), "jobs_per_second": rates}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
