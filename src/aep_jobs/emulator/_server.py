"""A real HTTP server for the emulator on loopback: its own HTTP/1.1 server in a thread.

The server (``_http_server``) runs on uvloop when it is installed, else on asyncio, and
parses with httptools, an optional dependency (``pip install 'aep-jobs[emulator]'``)
imported only when a server starts. It owns each connection, so faults can close one
without a response, which uvicorn does not allow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from ._app import API_ROOT
from ._emulator import Emulator
from ._faults import IMS_TOKEN_ROUTE

if TYPE_CHECKING:
    from ._http_server import ServerState

__all__ = ["EmulatorServer", "serve"]

logger = logging.getLogger("aep_jobs.emulator")

# Host names the server accepts, with the address family and the address it binds.
_LOOPBACK_HOSTS = {
    "127.0.0.1": (socket.AF_INET, "127.0.0.1"),
    "localhost": (socket.AF_INET, "127.0.0.1"),
    "::1": (socket.AF_INET6, "::1"),
}
_MISSING_EXTRA = (
    "Serving the emulator over HTTP needs httptools. "
    "Install it with: pip install 'aep-jobs[emulator]'"
)


class EmulatorServer:
    """An emulator served over HTTP on a loopback socket, in a daemon thread.

    The socket is bound in ``start()``, so ``port`` and ``base_url`` are known as soon as it
    returns, even when the requested port is 0 (any free port).

    :param host: ``127.0.0.1``, ``::1`` or ``localhost`` (served on 127.0.0.1). Other hosts
        raise ValueError: the emulator accepts any token, so it must not be reachable from
        other machines.
    :param port: TCP port, 0 for a free port chosen by the OS.
    :param startup_timeout: seconds to wait for the server to start before giving up.
    :param shutdown_timeout: seconds that open requests get to finish when the server stops.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        loopback = _LOOPBACK_HOSTS.get(host.lower())
        if loopback is None:
            raise ValueError(
                f"The emulator serves on loopback only: host must be 127.0.0.1, ::1 or "
                f"localhost, got {host!r}"
            )
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}")

        self._emulator = emulator
        self._family, self._address = loopback
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._shutdown_timeout = shutdown_timeout
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        # Set by the server thread: its loop, its stop event, its connections.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._state: ServerState | None = None
        self._ready = threading.Event()
        self._serving = False
        self._stop_requested = threading.Event()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EmulatorServer({self._address!r}, port={self._port}, {state})"

    @property
    def emulator(self) -> Emulator:
        return self._emulator

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The bound port. Raises RuntimeError before ``start()``."""
        if self._port is None:
            raise RuntimeError("The emulator server has no port until start() is called")
        return self._port

    @property
    def root_url(self) -> str:
        """Scheme, host and port, such as ``http://127.0.0.1:8123``."""
        host = f"[{self._address}]" if self._family == socket.AF_INET6 else self._address
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Base URL of the API, such as ``http://127.0.0.1:8123/data/core/ups``."""
        return f"{self.root_url}{API_ROOT}"

    @property
    def ims_url(self) -> str:
        """URL of the IMS token endpoint, such as ``http://127.0.0.1:8123/ims/token/v3``."""
        return f"{self.root_url}{IMS_TOKEN_ROUTE}"

    def start(self) -> None:
        """Bind the socket, start the server in a daemon thread and wait until it serves.

        :raises ImportError: when httptools is not installed.
        :raises OSError: when the socket cannot be bound, for example a port in use.
        :raises TimeoutError: when the server does not start within ``startup_timeout``.
        :raises RuntimeError: when the server is already running, or fails to start.
        """
        if self._thread is not None:
            raise RuntimeError("The emulator server is already started")
        try:
            import httptools  # noqa: F401
        except ImportError as exc:
            raise ImportError(_MISSING_EXTRA) from exc

        sock = self._bind()
        self._port = sock.getsockname()[1]
        self._error = None
        self._serving = False
        self._ready.clear()
        self._stop_requested.clear()
        self._thread = threading.Thread(
            target=self._run,
            args=(sock,),
            name=f"aep-jobs-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()

        if not self._ready.wait(self._startup_timeout):
            self.stop()
            raise TimeoutError(
                f"The emulator server on port {self._port} did not start within "
                f"{self._startup_timeout} s"
            )
        if not self._serving:
            self._thread.join(self._shutdown_timeout)
            self._thread = None
            raise RuntimeError(
                f"The emulator server on port {self._port} stopped during startup"
            ) from self._error
        logger.info("Emulator serving on %s", self.base_url)

    def stop(self) -> None:
        """Stop the server and wait for its thread. Calling it again does nothing.

        Requests in progress get ``shutdown_timeout`` seconds to finish, then their
        connections are closed.
        """
        thread = self._thread
        if thread is None:
            return
        self._stop_requested.set()
        self._call_in_loop(self._set_stop_event)
        thread.join(self._shutdown_timeout + 2)
        if thread.is_alive():
            self._call_in_loop(self._abort_connections)
            thread.join(2)
        if thread.is_alive():
            logger.warning("The emulator server thread on port %s did not stop", self._port)
        else:
            logger.info("Emulator on port %s stopped", self._port)
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            # On Windows SO_REUSEADDR would let another process take the port.
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._address, self._requested_port))
            sock.listen(2048)
        except BaseException:
            sock.close()
            raise
        return sock

    def _run(self, sock: socket.socket) -> None:
        loop = _new_event_loop()
        try:
            loop.run_until_complete(self._serve(sock))
        # A failure during startup is raised by start(), as the cause of its error. A
        # failure after startup has no caller left, so it is logged.
        except BaseException as exc:
            self._error = exc
            if self._serving:
                logger.error(
                    "The emulator server on port %s stopped with an error",
                    self._port,
                    exc_info=exc,
                )
        finally:
            self._ready.set()
            sock.close()
            self._loop = None
            loop.close()

    async def _serve(self, sock: socket.socket) -> None:
        # Imported here because it imports httptools, an optional dependency.
        from ._http_server import HttpConnection, Lifespan, ServerState

        app = self._emulator.app
        self._stop_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # stop() may have run before the loop was visible to it.
        if self._stop_requested.is_set():
            self._stop_event.set()

        lifespan = Lifespan(app)
        await lifespan.startup()
        state = ServerState(app)
        self._state = state
        server = await self._loop.create_server(lambda: HttpConnection(state), sock=sock)
        self._serving = True
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            await state.shutdown(self._shutdown_timeout)
            await lifespan.shutdown(self._shutdown_timeout)

    def _call_in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            return
        # The loop may close between the check and the call, when the thread ends.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)

    def _set_stop_event(self) -> None:
        if self._stop_event is not None:
            self._stop_event.set()

    def _abort_connections(self) -> None:
        if self._state is not None:
            for connection in list(self._state.connections):
                connection.abort()


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a uvloop loop when uvloop is installed, else an asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@contextmanager
def serve(
    emulator: Emulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> Iterator[EmulatorServer]:
    """Serve ``emulator`` over HTTP on loopback for the duration of a ``with`` block.

        with serve(emulator) as server:
            httpx.get(f"{server.base_url}/export/jobs", headers=...)

    See ``EmulatorServer`` for the parameters and errors.
    """
    server = EmulatorServer(emulator, host=host, port=port, startup_timeout=startup_timeout)
    server.start()
    try:
        yield server
    finally:
        server.stop()
