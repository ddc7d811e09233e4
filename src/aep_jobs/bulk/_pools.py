"""Connection pools for a bulk run: several small httpx pools instead of one large one.

httpcore 1.0.9's connection pool (under httpx 0.29) slows down as requests pile into it.
Each time a request enters or leaves, the pool polls the socket of every idle connection. It
counts connections in a loop nested in another, so its work grows with the square of their
number. It may also hand one idle connection to several waiting requests, and all but one
of them then go round again. Past ``max_keepalive_connections`` open connections it closes
every connection that falls idle, because it compares the total number of connections
with that limit, so each request then opens a new connection. The measured effect is in
``benchmarks/README.md``.

A run whose client sends through httpx's own network transport therefore sends through
clients of its own, each with a pool of ``REQUESTS_PER_POOL`` connections. They share the
parent client's settings, token provider, TLS context, timeouts, retry policy, retry budget
and deadline.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import anyio
import httpx

if TYPE_CHECKING:
    from ..client import ExportJobsClient

#: Requests in flight through one pool. At 128 requests in flight, pools of 8 ran faster than
#: pools of 4 or 16, and 1.9 times as fast as one pool ("pool size" in benchmarks/README.md).
REQUESTS_PER_POOL = 8


def pool_count(client: ExportJobsClient, max_concurrency: int) -> int:
    """Return how many pools a run with ``max_concurrency`` workers should send through."""
    if max_concurrency <= REQUESTS_PER_POOL or not _sends_through_httpx_pool(client):
        return 1
    return math.ceil(max_concurrency / REQUESTS_PER_POOL)


def open_pools(client: ExportJobsClient, count: int) -> list[ExportJobsClient]:
    """Return ``count`` clients to send through: ``client`` itself when ``count`` is 1."""
    if count == 1:
        return [client]
    from ..client import ExportJobsClient

    # NOTE: the parent's options are read from private attributes of the client and of
    # httpcore's pool, because the client does not expose them. Splitting the pool inside
    # the client itself would make these copies needless.
    pool = client._http._transport._pool  # type: ignore[attr-defined]
    sender = client._sender
    settings = client.settings
    return [
        ExportJobsClient.from_settings(
            # The run's clients share the parent's token provider, so one token serves all.
            dataclasses.replace(settings, token=sender._token),
            timeout=client._http.timeout,
            page_size=client.page_size,
            transport=httpx.AsyncHTTPTransport(
                verify=pool._ssl_context,
                limits=httpx.Limits(
                    max_connections=REQUESTS_PER_POOL,
                    max_keepalive_connections=REQUESTS_PER_POOL,
                ),
                local_address=pool._local_address,
                uds=pool._uds,
                retries=pool._retries,
                socket_options=pool._socket_options,
            ),
            retry=sender.retry,
            retry_budget=sender.budget,
            deadline=sender.deadline,
            max_connections=REQUESTS_PER_POOL,
        )
        for _ in range(count)
    ]


async def close_pools(client: ExportJobsClient, pools: list[ExportJobsClient]) -> None:
    """Close the clients that ``open_pools`` made, even while the caller is cancelled."""
    with anyio.CancelScope(shield=True):
        for pool in pools:
            if pool is not client:
                await pool.aclose()


def _sends_through_httpx_pool(client: ExportJobsClient) -> bool:
    """Check whether the client sends through an ``httpx.AsyncHTTPTransport`` with no proxy.

    Other transports, such as the emulator's in-process one or a mock, have no pool to split.
    """
    transport = getattr(client._http, "_transport", None)
    if type(transport) is not httpx.AsyncHTTPTransport:
        return False
    # Proxies from the environment are mounted on the client, and httpx mounts none on a
    # client given a transport, as the run's own clients are.
    if getattr(client._http, "_mounts", None):
        return False
    # Imported here: httpx imports httpcore only when it makes a transport, and importing it
    # with aep_jobs took about 100 ms of its import time (benchmarks/startup.py).
    import httpcore

    return type(getattr(transport, "_pool", None)) is httpcore.AsyncConnectionPool
