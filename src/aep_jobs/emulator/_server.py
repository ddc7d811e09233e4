"""A real HTTP server for the emulator: uvicorn in a background thread, on loopback only.

uvicorn is an optional dependency (``pip install 'aep-jobs[emulator]'``), imported only when
a server starts.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from ._app import API_ROOT
from ._emulator import Emulator

if TYPE_CHECKING:
    import uvicorn

__all__ = ["EmulatorServer", "serve"]

logger = logging.getLogger("aep_jobs.emulator")

# Host names the server accepts, with the address family and the address it binds.
_LOOPBACK_HOSTS = {
    "127.0.0.1": (socket.AF_INET, "127.0.0.1"),
    "localhost": (socket.AF_INET, "127.0.0.1"),
    "::1": (socket.AF_INET6, "::1"),
}
_MISSING_EXTRA = (
    "Serving the emulator over HTTP needs uvicorn and httptools. "
    "Install them with: pip install 'aep-jobs[emulator]'"
)


class EmulatorServer:
    """An emulator served over HTTP on a loopback socket, in a daemon thread.

    The socket is bound in ``start()``, so ``port`` and ``base_url`` are known as soon as it
    returns, even when the requested port is 0 (any free port).

    :param host: ``127.0.0.1``, ``::1`` or ``localhost`` (served on 127.0.0.1). Other hosts
        raise ValueError: the emulator accepts any token, so it must not be reachable from
        other machines.
    :param port: TCP port, 0 for a free port chosen by the OS.
    :param startup_timeout: seconds to wait for uvicorn to start before giving up.
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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

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

    def start(self) -> None:
        """Bind the socket, start uvicorn in a daemon thread and wait until it serves.

        :raises ImportError: when uvicorn or httptools is not installed.
        :raises OSError: when the socket cannot be bound, for example a port in use.
        :raises TimeoutError: when uvicorn does not start within ``startup_timeout``.
        :raises RuntimeError: when the server is already running, or uvicorn fails to start.
        """
        if self._thread is not None:
            raise RuntimeError("The emulator server is already started")
        try:
            import uvicorn
        except ImportError as exc:
            raise ImportError(_MISSING_EXTRA) from exc
        # uvicorn imports httptools only later, in the server thread.
        if importlib.util.find_spec("httptools") is None:
            raise ImportError(_MISSING_EXTRA)

        sock = self._bind()
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._emulator.app,
            http="httptools",
            loop="uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio",
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=max(1, round(self._shutdown_timeout)),
        )
        server = uvicorn.Server(config)
        self._server = server
        self._error = None
        self._thread = threading.Thread(
            target=self._run,
            args=(server, sock),
            name=f"aep-jobs-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started(server)
        logger.info("Emulator serving on %s", self.base_url)

    def stop(self) -> None:
        """Stop the server and wait for its thread. Calling it again does nothing."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(self._shutdown_timeout + 2)
        if thread.is_alive():
            # uvicorn's force_exit stops waiting for open connections.
            server.force_exit = True
            thread.join(2)
        if thread.is_alive():
            logger.warning("The emulator server thread on port %s did not stop", self._port)
        else:
            logger.info("Emulator on port %s stopped", self._port)
        self._server = None
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

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        # uvicorn ends a failed startup with sys.exit(). start() raises that as the cause of
        # its RuntimeError, and a failure after startup has no caller left, so it is logged.
        except BaseException as exc:
            self._error = exc
            if server.started:
                logger.error(
                    "The emulator server on port %s stopped with an error",
                    self._port,
                    exc_info=exc,
                )
        finally:
            sock.close()

    def _wait_until_started(self, server: uvicorn.Server) -> None:
        assert self._thread is not None
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not self._thread.is_alive():
                self._server = self._thread = None
                raise RuntimeError(
                    f"The emulator server on port {self._port} stopped during startup"
                ) from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"The emulator server on port {self._port} did not start within "
                    f"{self._startup_timeout} s"
                )
            time.sleep(0.005)


@contextmanager
def serve(
    emulator: Emulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> Iterator[EmulatorServer]:
    """Serve ``emulator`` over HTTP on loopback for the duration of a ``with`` block.

    ::

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
