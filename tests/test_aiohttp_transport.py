"""The client over AiohttpTransport, against the emulator's loopback server, on asyncio."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from aep_jobs import (
    Destination,
    ExportFilter,
    ExportJobRequest,
    ExportJobsClient,
    NotFoundError,
    OutcomeUnknownError,
    RetryPolicy,
    SchemaRef,
    SegmentFilter,
    TransportError,
    TransportTimeoutError,
)
from aep_jobs.emulator import Emulator, EmulatorServer, Fault, FaultRule, serve

pytest.importorskip("aiohttp", reason="needs the aiohttp extra: pip install 'aep-jobs[aiohttp]'")

from aep_jobs import transports
from aep_jobs.transports import AiohttpTransport

pytestmark = pytest.mark.anyio

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
LIST = "/export/jobs"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


class Sleeps:
    """A sleep function that returns at once and records each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def emulator() -> Emulator:
    emulator = Emulator()
    emulator.seed(2_000)
    return emulator


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    with serve(emulator) as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(
    base_url: str, sleeps: Sleeps, *, retry: RetryPolicy | None = None, **options: object
) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key="key",
        sandbox="prod",
        token="token",
        base_url=base_url,
        transport=AiohttpTransport(),
        retry=retry if retry is not None else RetryPolicy(sleep=sleeps, jitter=lambda: 1.0),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(server: EmulatorServer, sleeps: Sleeps) -> AsyncIterator[ExportJobsClient]:
    async with make_client(server.base_url, sleeps) as export_client:
        yield export_client


def export_request() -> ExportJobRequest:
    return ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(
            segments=[SegmentFilter(segment_id="52c26d0d-45f2-47a2-ab30-ed06abc981ff")]
        ),
    )


# ---------------------------------------------------------------------------------------------
# What the client does over the transport


async def test_listing_yields_every_job_once(client: ExportJobsClient, emulator: Emulator) -> None:
    ids = [job.id async for job in client.iter_jobs(page_size=300)]

    assert len(ids) == 2_000
    assert len(set(ids)) == 2_000
    assert ids == emulator.job_ids()


async def test_listing_with_prefetch_and_projection(
    client: ExportJobsClient, emulator: Emulator
) -> None:
    import msgspec

    class Summary(msgspec.Struct, rename="camel"):
        id: int
        status: str

    async with client.iter_jobs(page_size=500, prefetch=2, job_type=Summary) as jobs:
        ids = [job.id async for job in jobs]

    assert ids == emulator.job_ids()


async def test_create_get_cancel(client: ExportJobsClient) -> None:
    created = await client.create(export_request(), profile_instance_id="ups")
    fetched = await client.get(created.id)
    result = await client.cancel(created.id)

    assert created.status == "NEW"
    assert fetched.id == created.id
    assert fetched.profile_instance_id == "ups"
    assert result.status is True


async def test_unknown_job_raises_not_found(client: ExportJobsClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get(999_999_999)

    assert caught.value.status_code == 404


async def test_503_is_retried(client: ExportJobsClient, emulator: Emulator, sleeps: Sleeps) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), method="GET", route=LIST, limit=1))

    page = await client.list_page(limit=10)

    assert len(page.records) == 10
    assert rule.fired == 1
    assert sleeps.delays == [0.5]


async def test_reset_mid_body_is_retried(
    client: ExportJobsClient, emulator: Emulator, sleeps: Sleeps
) -> None:
    rule = emulator.inject(FaultRule(Fault.reset_mid_body(), method="GET", route=LIST, limit=1))

    ids = [job.id async for job in client.iter_jobs(page_size=1_000)]

    assert ids == emulator.job_ids()
    assert rule.fired == 1
    assert len(sleeps.delays) == 1


async def test_reset_mid_body_maps_to_protocol_error(
    server: EmulatorServer, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(FaultRule(Fault.reset_mid_body(), method="GET", route=LIST, limit=1))

    async with make_client(server.base_url, sleeps, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(TransportError) as caught:
            await client.list_page(limit=1_000)

    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)


async def test_stall_past_read_timeout(
    server: EmulatorServer, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(FaultRule(Fault.stall(3), method="GET", route=LIST, limit=1))

    async with make_client(
        server.base_url,
        sleeps,
        retry=RetryPolicy.disabled(),
        timeout=httpx.Timeout(5.0, read=0.2),
    ) as client:
        with pytest.raises(TransportTimeoutError) as caught:
            await client.list_page(limit=10)

    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_create_reset_after_processing_is_unknown(
    client: ExportJobsClient, emulator: Emulator
) -> None:
    # A dropped connection after the request was sent must not look like "never sent",
    # or the client would create the job a second time.
    emulator.inject(FaultRule(Fault.reset(after_processing=True), method="POST", limit=1))

    with pytest.raises(OutcomeUnknownError):
        await client.create(export_request())

    assert emulator.created_count == 1


async def test_refused_connection_maps_to_connect_error(sleeps: Sleeps) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    # Nothing listens on the port any more.
    base_url = f"http://127.0.0.1:{port}/data/core/ups"

    async with make_client(base_url, sleeps, retry=RetryPolicy.disabled()) as client:
        with pytest.raises(TransportError) as caught:
            await client.list_page(limit=10)

    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# ---------------------------------------------------------------------------------------------
# The transport itself


async def test_redirect_is_not_followed() -> None:
    requests_seen: list[bytes] = []

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests_seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    redirecting = await asyncio.start_server(respond, "127.0.0.1", 0)
    port = redirecting.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    try:
        request = httpx.Request("GET", f"http://127.0.0.1:{port}/start")
        response = await transport.handle_async_request(request)
    finally:
        await transport.aclose()
        redirecting.close()
        await redirecting.wait_closed()

    assert response.status_code == 302
    assert response.headers["location"] == "/elsewhere"
    assert len(requests_seen) == 1


def test_tls_verification_is_on_by_default() -> None:
    transport = AiohttpTransport()

    assert isinstance(transport._ssl, ssl.SSLContext)
    assert transport._ssl.verify_mode == ssl.CERT_REQUIRED
    assert transport._ssl.check_hostname is True


def test_trio_is_rejected_clearly() -> None:
    trio = pytest.importorskip("trio")
    transport = AiohttpTransport()
    request = httpx.Request("GET", "http://127.0.0.1:9/export/jobs")

    with pytest.raises(RuntimeError, match="asyncio only"):
        trio.run(transport.handle_async_request, request)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transports, "_HAS_AIOHTTP", False)

    with pytest.raises(ImportError, match=r"pip install 'aep-jobs\[aiohttp\]'"):
        AiohttpTransport()


@pytest.mark.parametrize("value", [0, -1, True, 2.5])
def test_invalid_max_connections_is_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        AiohttpTransport(max_connections=value)  # type: ignore[arg-type]


async def test_closed_transport_is_not_reused() -> None:
    transport = AiohttpTransport()
    await transport.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))


def test_timeouts_map_to_aiohttp() -> None:
    timeout = transports._client_timeout({"connect": 2.0, "read": 3.0, "write": 4.0, "pool": 1.0})

    assert timeout.sock_connect == 2.0
    assert timeout.sock_read == 3.0
    assert timeout.connect == 3.0
    assert timeout.total is None
