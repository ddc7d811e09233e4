"""The emulator command: the API's emulator served on loopback until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import anyio

from . import EXIT_OK, UsageError

if TYPE_CHECKING:
    from ..emulator import Fault, FaultRule

# Faults that --fault names, besides HTTP statuses; stall-SECONDS is parsed apart.
_FAULT_KINDS = (
    "reset",
    "reset-after-processing",
    "refuse",
    "not-json",
    "truncated",
    "reset-mid-body",
)
FAULT_HELP = (
    "inject a fault into a share of the API's requests, as KIND@SHARE with SHARE from 0 to 1; "
    "KIND is an HTTP status from 400 to 599 (429 and 503 come with Retry-After: 1), "
    f"{', '.join(_FAULT_KINDS)}, or stall-SECONDS; repeat for several, e.g. "
    "--fault 503@0.05 --fault reset@0.01"
)


async def run_emulator(arguments: argparse.Namespace) -> int:
    """Seed and serve the emulator, print how to reach it, and serve until interrupted."""
    from ..emulator import Emulator, EmulatorConfig, RateLimit, serve

    try:
        rate_limit = None
        if arguments.burst is not None and arguments.rate_limit is None:
            raise UsageError("--burst needs --rate-limit RATE, the rate that refills the burst")
        if arguments.rate_limit is not None:
            burst = arguments.burst or max(1, math.ceil(arguments.rate_limit))
            rate_limit = RateLimit(per_second=arguments.rate_limit, burst=burst)
        config = EmulatorConfig(
            latency=arguments.latency,
            processing_after=arguments.processing_after,
            finish_after=arguments.finish_after,
            failure_share=arguments.failure_share,
            rate_limit=rate_limit,
        )
    except ValueError as error:
        raise UsageError(f"invalid emulator settings: {error}") from None
    emulator = Emulator(config)
    emulator.seed(arguments.jobs)
    for rule in arguments.faults or ():
        emulator.inject(rule)
    try:
        server_context = serve(emulator, host=arguments.host, port=arguments.port)
        server = server_context.__enter__()
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot serve the emulator: {error}") from None
    # Signals are received from before the first line is printed, so that a stop sent as soon
    # as the settings appear is not lost.
    try:
        with _stop_signals() as wait_for_stop:
            print(f"Emulator serving {arguments.jobs:,} jobs; press Ctrl-C to stop.")
            print(f"AEP_BASE_URL={server.base_url}")
            print(f"AEP_IMS_URL={server.ims_url}")
            print(f"AEP_ORG_ID={config.org_id}")
            print("AEP_CLIENT_ID=any-client-id AEP_SANDBOX=prod AEP_ACCESS_TOKEN=any-token")
            for rule in arguments.faults or ():
                print(f"Fault: {rule.fault} on {rule.share:.1%} of the API's requests")
            if rate_limit is not None:
                print(
                    f"Rate limit: {rate_limit.per_second:g} requests per second, "
                    f"bursts of {rate_limit.burst}"
                )
            sys.stdout.flush()
            await wait_for_stop()
    finally:
        server_context.__exit__(None, None, None)
    print("Emulator stopped.")
    return EXIT_OK


@contextlib.contextmanager
def _stop_signals() -> Iterator[Callable[[], Awaitable[None]]]:
    """Receive Ctrl-C and SIGTERM, the documented ways to stop the emulator, from now on.

    Yield the function that waits for one of them.
    """
    if sys.platform == "win32":
        # anyio receives no signals on Windows, so Ctrl-C interrupts the command instead.
        yield anyio.sleep_forever
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def wait_for_stop() -> None:
            async for _ in signals:
                return

        yield wait_for_stop


def parse_fault(text: str) -> FaultRule:
    """Parse ``--fault KIND@SHARE`` into a fault rule on the API's routes.

    :raises ValueError: naming what is wrong and the expected form
    """
    from ..emulator import FaultRule

    kind, separator, share_text = text.partition("@")
    if not separator:
        raise ValueError(f"expected KIND@SHARE, such as 503@0.05, got {text!r}")
    try:
        share = float(share_text)
    except ValueError:
        raise ValueError(f"expected a share from 0 to 1 after '@', got {share_text!r}") from None
    if not 0.0 < share <= 1.0:
        raise ValueError(f"expected a share above 0 and at most 1 after '@', got {share_text!r}")
    return FaultRule(_fault(kind.strip().lower()), share=share)


def _fault(kind: str) -> Fault:
    from ..emulator import Fault

    if kind.isdigit():
        code = int(kind)
        if not 400 <= code <= 599:
            raise ValueError(f"expected an HTTP status from 400 to 599, got {kind}")
        return Fault.status(code, retry_after=1 if code in (429, 503) else None)
    if kind.startswith("stall-"):
        try:
            seconds = float(kind.removeprefix("stall-"))
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"expected stall-SECONDS with seconds >= 0, such as stall-5, got {kind!r}"
            )
        return Fault.stall(seconds)
    makers = {
        "reset": Fault.reset,
        "reset-after-processing": lambda: Fault.reset(after_processing=True),
        "refuse": Fault.refuse,
        "not-json": Fault.not_json,
        "truncated": Fault.truncated,
        "reset-mid-body": Fault.reset_mid_body,
    }
    if kind not in makers:
        raise ValueError(
            f"unknown fault {kind!r}; expected an HTTP status, {', '.join(_FAULT_KINDS)} "
            "or stall-SECONDS"
        )
    return makers[kind]()
