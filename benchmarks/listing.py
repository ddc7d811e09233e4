"""Stream export jobs from a running ``serve_pages.py`` with one client variant, and measure it.

Each run lists jobs page after page until ``--max-jobs`` jobs or ``--max-seconds`` pass, then
prints one JSON object: jobs, seconds, jobs per second, time to the first job, and the peak
resident memory of this process. ``run_all.py`` runs each variant in a process of its own, so
that the memory peaks are separate.

    python benchmarks/listing.py --base-url http://127.0.0.1:PORT/data/core/ups \\
        --variant aep_jobs --page-size 1000 --max-jobs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import anyio
import httpx
import msgspec

from aep_jobs import ExportJob, ExportJobsClient, JobPage, RetryPolicy, decoder_for

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
HEADERS = {
    "authorization": "Bearer token",
    "x-api-key": "key",
    "x-gw-ims-org-id": ORG_ID,
    "x-sandbox-name": "prod",
    "accept": "application/json",
}


class JobSummary(msgspec.Struct, rename="camel", gc=False):
    """A 3-field projection of a job: the rest of each job is skipped while decoding."""

    id: int
    status: str
    creation_time: int | None = None


@dataclass
class Result:
    """The figures of one run."""

    variant: str
    page_size: int
    jobs: int = 0
    seconds: float = 0.0
    first_job_seconds: float = 0.0
    jobs_per_second: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_seconds: float = 0.0
    capped: bool = False


@dataclass
class Options:
    """The listing's bounds and the caller's simulated work per page."""

    base_url: str
    page_size: int
    max_jobs: int
    max_seconds: float
    work_seconds: float
    work_kind: str
    prefetch: int


class Meter:
    """Counts jobs and records the time of the first one, against a time bound."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.started = time.perf_counter()
        self.deadline = self.started + options.max_seconds
        self.first: float | None = None
        self.jobs = 0
        self.capped = False

    def page_done(self) -> bool:
        """Return whether the listing must stop, by count or by time."""
        if self.jobs >= self.options.max_jobs:
            return True
        if time.perf_counter() > self.deadline:
            self.capped = True
            return True
        return False


def _first_url(options: Options) -> str:
    return f"{options.base_url}/export/jobs?limit={options.page_size}"


def _next_url(options: Options, link: str | None) -> str | None:
    # Adobe's next links are relative to the service root.
    return f"{options.base_url}{link}" if link else None


async def _work(options: Options) -> None:
    """Simulate the caller's work on one page: waiting on I/O, or holding the CPU."""
    if options.work_seconds <= 0:
        return
    if options.work_kind == "sleep":
        await anyio.sleep(options.work_seconds)
        return
    end = time.perf_counter() + options.work_seconds
    while time.perf_counter() < end:
        pass


# ---------------------------------------------------------------------------------------------
# The floor: hand-written loops without the library.


async def httpx_bytes(options: Options, meter: Meter) -> None:
    """GET each page and find the next link in the bytes, decoding nothing."""
    async with httpx.AsyncClient(headers=HEADERS) as http:
        url: str | None = _first_url(options)
        while url is not None:
            body = (await http.get(url)).content
            count = _page_size_in(body)
            if meter.first is None and count:
                meter.first = time.perf_counter()
            meter.jobs += count
            url = _next_url(options, _next_link_in(body)) if count else None
            if meter.page_done():
                return


async def httpx_msgspec(options: Options, meter: Meter) -> None:
    """GET each page with httpx and decode it into the library's Structs with msgspec."""
    decoder = decoder_for(JobPage[ExportJob])
    async with httpx.AsyncClient(headers=HEADERS) as http:
        url: str | None = _first_url(options)
        while url is not None:
            page = decoder.decode((await http.get(url)).content)
            for _job in page.records:
                if meter.first is None:
                    meter.first = time.perf_counter()
                meter.jobs += 1
            url = _next_url(options, page.next_link) if page.records else None
            if meter.page_done():
                return


async def aiohttp_msgspec(options: Options, meter: Meter) -> None:
    """GET each page with aiohttp and decode it into the library's Structs with msgspec."""
    import aiohttp

    decoder = decoder_for(JobPage[ExportJob])
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        url: str | None = _first_url(options)
        while url is not None:
            async with session.get(url) as response:
                page = decoder.decode(await response.read())
            for _job in page.records:
                if meter.first is None:
                    meter.first = time.perf_counter()
                meter.jobs += 1
            url = _next_url(options, page.next_link) if page.records else None
            if meter.page_done():
                return


def _page_size_in(body: bytes) -> int:
    start = body.rfind(b'"pageSize":')
    if start < 0:
        return 0
    start += len(b'"pageSize":')
    end = start
    while body[end : end + 1].isdigit():
        end += 1
    return int(body[start:end])


def _next_link_in(body: bytes) -> str | None:
    start = body.rfind(b'"next":"')
    if start < 0:
        return None
    start += len(b'"next":"')
    return body[start : body.index(b'"', start)].decode() or None


# ---------------------------------------------------------------------------------------------
# aep_jobs


def _client(options: Options, *, aiohttp: bool = False) -> ExportJobsClient:
    transport: httpx.AsyncBaseTransport | None = None
    if aiohttp:
        from aep_jobs.transports import AiohttpTransport

        transport = AiohttpTransport()
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=options.base_url,
        page_size=options.page_size,
        transport=transport,
        retry=RetryPolicy.disabled(),
    )


async def _iterate_jobs(
    options: Options, meter: Meter, *, job_type: type[Any], aiohttp: bool = False
) -> None:
    client = _client(options, aiohttp=aiohttp)
    jobs = client.iter_jobs(
        job_type=job_type, max_items=options.max_jobs, prefetch=options.prefetch
    )
    async with client, jobs:
        async for _job in jobs:
            if meter.first is None:
                meter.first = time.perf_counter()
            meter.jobs += 1
            if meter.jobs % options.page_size == 0 and meter.page_done():
                return


async def aep_jobs(options: Options, meter: Meter) -> None:
    """``iter_jobs`` into full ``ExportJob`` Structs."""
    await _iterate_jobs(options, meter, job_type=ExportJob)


async def aep_jobs_projection(options: Options, meter: Meter) -> None:
    """``iter_jobs`` into a 3-field projection."""
    await _iterate_jobs(options, meter, job_type=JobSummary)


async def aep_jobs_aiohttp(options: Options, meter: Meter) -> None:
    """``iter_jobs`` into full Structs, over ``AiohttpTransport``."""
    await _iterate_jobs(options, meter, job_type=ExportJob, aiohttp=True)


async def aep_jobs_aiohttp_projection(options: Options, meter: Meter) -> None:
    """``iter_jobs`` into a 3-field projection, over ``AiohttpTransport``."""
    await _iterate_jobs(options, meter, job_type=JobSummary, aiohttp=True)


async def aep_jobs_pages(options: Options, meter: Meter) -> None:
    """``iter_pages`` with the caller's work on each page (``--work-ms``, ``--prefetch``)."""
    client = _client(options)
    pages = client.iter_pages(prefetch=options.prefetch)
    async with client, pages:
        async for page in pages:
            if meter.first is None:
                meter.first = time.perf_counter()
            meter.jobs += len(page.records)
            await _work(options)
            if meter.page_done():
                return


# ---------------------------------------------------------------------------------------------
# What users write without the library: the peer aepp, requests with json, httpx with pydantic.


def aepp_list(options: Options, meter: Meter) -> None:
    """``aepp`` 0.6: ``Segmentation.getExportJobs``, which returns every job in one list.

    aepp takes its service root from ``configure(environment="support", endpoint=...)``.
    Its connector reads ``connectionType`` from the configuration when a token is given, so
    the benchmark adds that key.
    """
    # aepp ships no type information.
    import aepp  # type: ignore[import-untyped]
    from aepp import segmentation

    root = options.base_url.removesuffix("/data/core/ups")
    instance = aepp.configure(
        org_id=ORG_ID,
        client_id="key",
        secret="unused",
        environment="support",
        endpoint=root,
        accesstoken="token",
        connectInstance=True,
    )
    config = dict(instance.getConfigObject())
    config["connectionType"] = "support"
    service = segmentation.Segmentation(config=config, header=instance.getConfigHeader())
    # NOTE: getExportJobs has no bound on the number of jobs: the server's size bounds it.
    jobs = service.getExportJobs(limit=options.page_size)
    # The first job is available only when the whole list has arrived.
    meter.first = time.perf_counter()
    for _job in jobs:
        meter.jobs += 1


def requests_json(options: Options, meter: Meter) -> None:
    """``requests.Session.get`` and ``response.json()`` into dicts."""
    import requests

    with requests.Session() as session:
        session.headers.update(HEADERS)
        url: str | None = _first_url(options)
        while url is not None:
            page = session.get(url, timeout=30).json()
            records = page.get("records") or []
            for _job in records:
                if meter.first is None:
                    meter.first = time.perf_counter()
                meter.jobs += 1
            link = (page.get("link") or {}).get("next")
            url = _next_url(options, link) if records else None
            if meter.page_done():
                return


async def httpx_pydantic(options: Options, meter: Meter) -> None:
    """httpx and ``model_validate_json`` into pydantic models of the whole job."""
    from _pydantic_models import PydanticJobPage

    async with httpx.AsyncClient(headers=HEADERS) as http:
        url: str | None = _first_url(options)
        while url is not None:
            page = PydanticJobPage.model_validate_json((await http.get(url)).content)
            for _job in page.records:
                if meter.first is None:
                    meter.first = time.perf_counter()
                meter.jobs += 1
            link = page.link.next if page.link is not None else None
            url = _next_url(options, link) if page.records else None
            if meter.page_done():
                return


AsyncVariant = Callable[[Options, Meter], Awaitable[None]]
SyncVariant = Callable[[Options, Meter], None]

ASYNC_VARIANTS: dict[str, AsyncVariant] = {
    "httpx-bytes": httpx_bytes,
    "httpx-msgspec": httpx_msgspec,
    "aiohttp-msgspec": aiohttp_msgspec,
    "aep_jobs": aep_jobs,
    "aep_jobs-projection": aep_jobs_projection,
    "aep_jobs-aiohttp": aep_jobs_aiohttp,
    "aep_jobs-aiohttp-projection": aep_jobs_aiohttp_projection,
    "aep_jobs-pages": aep_jobs_pages,
    "httpx-pydantic": httpx_pydantic,
}
SYNC_VARIANTS: dict[str, SyncVariant] = {
    "aepp": aepp_list,
    "requests-json": requests_json,
}


# Modules each variant imports, loaded before the clock starts so that no import is timed.
PRELOAD = {
    "aiohttp-msgspec": ["aiohttp"],
    "aep_jobs-aiohttp": ["aiohttp", "aep_jobs.transports"],
    "aep_jobs-aiohttp-projection": ["aiohttp", "aep_jobs.transports"],
    "aepp": ["aepp", "aepp.segmentation"],
    "requests-json": ["requests"],
    "httpx-pydantic": ["_pydantic_models"],
}


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(variant: str, options: Options) -> Result:
    """Run one variant once and return what it measured."""
    for module in PRELOAD.get(variant, []):
        importlib.import_module(module)
    result = Result(variant=variant, page_size=options.page_size)
    result.rss_before_mb = _rss_mb()
    cpu_before = time.process_time()
    meter = Meter(options)
    if variant in SYNC_VARIANTS:
        SYNC_VARIANTS[variant](options, meter)
    else:
        asyncio.run(_run_async(ASYNC_VARIANTS[variant], options, meter))
    ended = time.perf_counter()

    result.jobs = meter.jobs
    result.seconds = ended - meter.started
    result.jobs_per_second = meter.jobs / result.seconds if result.seconds else 0.0
    result.first_job_seconds = (meter.first or ended) - meter.started
    result.cpu_seconds = time.process_time() - cpu_before
    # ru_maxrss is in KiB on Linux.
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.capped = meter.capped
    return result


async def _run_async(variant: AsyncVariant, options: Options, meter: Meter) -> None:
    # The meter starts when the event loop runs, so that both kinds of variant time the same.
    meter.started = time.perf_counter()
    meter.deadline = meter.started + options.max_seconds
    await variant(options, meter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the service root of serve_pages.py")
    parser.add_argument(
        "--variant", required=True, choices=sorted([*ASYNC_VARIANTS, *SYNC_VARIANTS])
    )
    parser.add_argument("--page-size", type=int, default=1000, help="jobs per page")
    parser.add_argument("--max-jobs", type=int, default=100_000, help="stop after this many")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop after this long")
    parser.add_argument("--work-ms", type=float, default=0.0, help="caller's work per page, ms")
    parser.add_argument("--work-kind", choices=["sleep", "cpu"], default="sleep")
    parser.add_argument("--prefetch", type=int, default=0, help="pages fetched ahead")
    parser.add_argument("--cpu", type=int, help="pin this process to this CPU")
    arguments = parser.parse_args()
    if arguments.cpu is not None:
        os.sched_setaffinity(0, {arguments.cpu})

    options = Options(
        base_url=arguments.base_url,
        page_size=arguments.page_size,
        max_jobs=arguments.max_jobs,
        max_seconds=arguments.max_seconds,
        work_seconds=arguments.work_ms / 1000,
        work_kind=arguments.work_kind,
        prefetch=arguments.prefetch,
    )
    print(json.dumps(asdict(run(arguments.variant, options))), flush=True)


if __name__ == "__main__":
    main()
