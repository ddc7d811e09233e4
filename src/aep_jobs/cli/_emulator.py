"""The emulator command: the API's emulator served on loopback until interrupted."""

from __future__ import annotations

import argparse

import anyio

from . import EXIT_OK, UsageError


async def run_emulator(arguments: argparse.Namespace) -> int:
    """Seed and serve the emulator, print how to reach it, and serve until interrupted."""
    from ..emulator import Emulator, EmulatorConfig, serve

    try:
        config = EmulatorConfig(
            latency=arguments.latency,
            processing_after=arguments.processing_after,
            finish_after=arguments.finish_after,
            failure_share=arguments.failure_share,
        )
    except ValueError as error:
        raise UsageError(f"invalid emulator settings: {error}") from None
    emulator = Emulator(config)
    emulator.seed(arguments.jobs)
    try:
        server_context = serve(emulator, host=arguments.host, port=arguments.port)
        server = server_context.__enter__()
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot serve the emulator: {error}") from None
    try:
        print(f"Emulator serving {arguments.jobs:,} jobs; press Ctrl-C to stop.")
        print(f"AEP_BASE_URL={server.base_url}")
        print(f"AEP_IMS_URL={server.ims_url}")
        print(f"AEP_ORG_ID={config.org_id}")
        print("AEP_CLIENT_ID=any-client-id AEP_SANDBOX=prod AEP_ACCESS_TOKEN=any-token", flush=True)
        await anyio.sleep_forever()
    finally:
        server_context.__exit__(None, None, None)
    return EXIT_OK
