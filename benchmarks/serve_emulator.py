"""Serve the emulator on 127.0.0.1 for the benchmarks, in a process of its own.

Run by ``benchmarks/bulk.py``, so that the server does not share the client's interpreter
lock. It prints its base URL on the first line of standard output, then responds to each line
read from standard input: ``stats`` prints one JSON object of counters, ``reset`` clears
them. It stops when standard input closes.

    python benchmarks/serve_emulator.py --latency 0.05 --rate 200 --burst 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from aep_jobs.emulator import Emulator, EmulatorConfig, RateLimit, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--rate", type=float, help="rate limit, requests per second")
    parser.add_argument("--burst", type=int, help="rate limit burst, requests (default: --rate)")
    parser.add_argument("--cpu", type=int, help="pin the server to this CPU")
    arguments = parser.parse_args()
    if arguments.cpu is not None:
        os.sched_setaffinity(0, {arguments.cpu})

    rate_limit = None
    if arguments.rate is not None:
        burst = arguments.burst if arguments.burst is not None else int(arguments.rate)
        rate_limit = RateLimit(per_second=arguments.rate, burst=burst)
    # processing_after and finish_after are long so that created jobs stay NEW and the
    # store does no lifecycle work during a measurement.
    config = EmulatorConfig(
        latency=arguments.latency,
        rate_limit=rate_limit,
        request_log_size=0,
        processing_after=3600.0,
        finish_after=7200.0,
    )
    emulator = Emulator(config)
    with serve(emulator) as server:
        print(server.base_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                emulator.stats.reset()
                print("{}", flush=True)
            elif command == "stats":
                times = os.times()
                stats = emulator.stats
                counters = {
                    "cpu_seconds": times.user + times.system,
                    "requests": stats.total_requests,
                    "peak_in_flight": stats.peak_in_flight,
                    "rate_limited": stats.rate_limited,
                    "created": emulator.created_count,
                }
                print(json.dumps(counters), flush=True)


if __name__ == "__main__":
    main()
