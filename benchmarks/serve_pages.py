"""Serve seeded export jobs from the emulator on 127.0.0.1, in a process of its own.

Run by ``benchmarks/listing.py``, so that the server does not share the client's interpreter
lock. The emulator keeps each job encoded once (about 1.1 KB of JSON shaped like Adobe's
examples), so a page costs the server one join of cached bytes. It prints its service root
(``http://127.0.0.1:PORT/data/core/ups``) on the first line of standard output, then
``ready`` when it serves, and stops when standard input closes.

    python benchmarks/serve_pages.py --jobs 100000 --page-size 1000 --cpu 1
"""

from __future__ import annotations

import argparse
import os
import sys

from aep_jobs.emulator import Emulator, EmulatorConfig, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, required=True, help="jobs to seed")
    parser.add_argument(
        "--page-size", type=int, default=1000, help="the most jobs on one page (the server's cap)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--cpu", type=int, help="pin the server to this CPU")
    arguments = parser.parse_args()
    if arguments.cpu is not None:
        os.sched_setaffinity(0, {arguments.cpu})

    # processing_after and finish_after are long, so that the store does no lifecycle work
    # during a measurement; no requests are logged.
    config = EmulatorConfig(
        max_page_size=arguments.page_size,
        latency=arguments.latency,
        request_log_size=0,
        processing_after=3600.0,
        finish_after=7200.0,
    )
    emulator = Emulator(config)
    emulator.seed(arguments.jobs)
    with serve(emulator) as server:
        print(server.base_url, flush=True)
        print("ready", flush=True)
        for _line in sys.stdin:
            pass


if __name__ == "__main__":
    main()
