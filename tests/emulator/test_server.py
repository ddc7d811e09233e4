"""The emulator served over HTTP on a loopback socket."""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig, EmulatorServer, serve

from .helpers import HEADERS, FakeClock, create_body

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One server for the module's read-mostly tests, because each start costs ~0.2 s."""
    emulator = Emulator(EmulatorConfig(clock=FakeClock(), seed=2))
    emulator.seed(250)
    with serve(emulator, port=0) as running:
        yield running


def test_base_url_names_bound_port(server: EmulatorServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/data/core/ups", server.base_url)
    assert server.base_url == f"http://127.0.0.1:{server.port}/data/core/ups"
    assert server.port > 0


async def test_server_walks_pages_over_socket(server: EmulatorServer) -> None:
    ids: list[int] = []
    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
        response = await client.get("/export/jobs", params={"limit": 100})
        for _ in range(10):
            page = response.json()
            ids.extend(int(record["id"]) for record in page["records"])
            if not page["link"]["next"]:
                break
            response = await client.get(page["link"]["next"])

    assert ids == server.emulator.job_ids()


async def test_server_creates_job(server: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
        response = await client.post("/export/jobs", json=create_body())

    job_id = response.json()["id"]
    assert response.status_code == 200
    assert response.headers["x-location"] == f"{server.base_url}/export/jobs/{job_id}"
    assert server.emulator.get_job(job_id) == response.json()


async def test_server_sends_gateway_errors(server: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 403
    assert response.json() == {"error_code": "403010", "message": "Oauth token is missing."}


async def test_server_cancel_with_empty_style_is_204() -> None:
    emulator = Emulator(EmulatorConfig(clock=FakeClock(), cancel_style="empty"))
    with serve(emulator) as running:
        async with httpx.AsyncClient(base_url=running.base_url, headers=HEADERS) as client:
            await client.post("/export/jobs", json=create_body())
            response = await client.delete("/export/jobs/1")

    assert response.status_code == 204
    assert response.content == b""


def test_server_releases_port_on_exit() -> None:
    with serve(Emulator(), host="localhost") as running:
        port = running.port
        base_url = running.base_url

    assert base_url == f"http://127.0.0.1:{port}/data/core/ups"
    assert not running.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/export/jobs", headers=HEADERS, timeout=2)


def test_server_on_ipv6_loopback() -> None:
    probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM) if socket.has_ipv6 else None
    try:
        if probe is None:
            pytest.skip("Python was built without IPv6")
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("::1 is not available on this machine")
    finally:
        if probe is not None:
            probe.close()

    with serve(Emulator(), host="::1") as running:
        response = httpx.get(f"{running.base_url}/export/jobs", headers=HEADERS, timeout=5)

    assert running.base_url.startswith("http://[::1]:")
    assert response.status_code == 200


def test_server_start_and_stop_without_with() -> None:
    server = EmulatorServer(Emulator())
    server.start()
    try:
        response = httpx.get(f"{server.base_url}/export/jobs", headers=HEADERS, timeout=5)
    finally:
        server.stop()
    server.stop()

    assert response.status_code == 200
    assert not server.running


def test_server_rejects_second_start(server: EmulatorServer) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        server.start()


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost.localdomain"])
def test_server_rejects_non_loopback_host(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        EmulatorServer(Emulator(), host=host)


@pytest.mark.parametrize("port", [-1, 65536])
def test_server_rejects_invalid_port(port: int) -> None:
    with pytest.raises(ValueError, match=f"port must be between 0 and 65535, got {port}"):
        EmulatorServer(Emulator(), port=port)


def test_server_port_unknown_before_start() -> None:
    server = EmulatorServer(Emulator())

    with pytest.raises(RuntimeError, match="no port until start"):
        _ = server.port


def test_server_port_in_use_raises(server: EmulatorServer) -> None:
    second = EmulatorServer(Emulator(), port=server.port)

    with pytest.raises(OSError, match="in use"):
        second.start()
    assert not second.running


def test_server_without_httptools_names_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "httptools", None)
    server = EmulatorServer(Emulator())

    with pytest.raises(ImportError, match=re.escape("pip install 'aep-jobs[emulator]'")):
        server.start()
    assert not server.running


def test_server_startup_failure_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing_app(
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "broken on purpose"})

    monkeypatch.setattr(Emulator, "app", property(lambda self: failing_app))
    server = EmulatorServer(Emulator())

    with pytest.raises(RuntimeError, match="stopped during startup") as raised:
        server.start()
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert str(raised.value.__cause__) == "The ASGI app failed to start: broken on purpose"
    assert not server.running
