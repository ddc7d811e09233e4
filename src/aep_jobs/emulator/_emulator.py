"""The emulator of the export jobs API: a job store and the ASGI app that serves it."""

from __future__ import annotations

from typing import Any

import httpx

from ._app import API_ROOT, EmulatorApp
from ._config import EmulatorConfig
from ._stats import EmulatorStats, RequestRecord
from ._store import JobStore

__all__ = ["IN_PROCESS_BASE_URL", "Emulator"]

IN_PROCESS_BASE_URL = f"http://127.0.0.1{API_ROOT}"
"""Base URL to use with ``Emulator.transport()``. The transport never opens a connection."""


class Emulator:
    """An in-memory emulator of Adobe's ``/export/jobs`` API for one organisation.

    Use it in-process through ``transport()``, or on a loopback socket with ``serve()``::

        emulator = Emulator(EmulatorConfig(seed=7))
        emulator.seed(1_000)
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url=IN_PROCESS_BASE_URL
        ) as client:
            response = await client.get("/export/jobs", params={"limit": 100}, headers=...)
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._config = config if config is not None else EmulatorConfig()
        self._store = JobStore(self._config)
        self._stats = EmulatorStats(self._config.request_log_size)
        self._app = EmulatorApp(self._config, self._store, self._stats)

    def __repr__(self) -> str:
        return f"Emulator(org_id={self._config.org_id!r}, jobs={len(self._store.job_ids())})"

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    @property
    def app(self) -> EmulatorApp:
        """The ASGI 3 application, to mount in any ASGI server or test client."""
        return self._app

    @property
    def stats(self) -> EmulatorStats:
        return self._stats

    @property
    def request_log(self) -> list[RequestRecord]:
        """The most recent requests, oldest first, up to ``config.request_log_size``."""
        return self._stats.recent_requests

    @property
    def created_count(self) -> int:
        """Number of jobs created through ``POST /export/jobs``, not counting seeded jobs."""
        return self._store.created_count

    def seed(self, count: int) -> None:
        """Add ``count`` realistic jobs, created at spread-out times before now.

        The jobs depend only on ``config`` and the clock's value at the call, so the same
        seed and clock give the same jobs. Most end SUCCEEDED, ``config.failure_share``
        of them FAILED, and the newest few are still NEW or PROCESSING.
        """
        self._store.seed(count)

    def transport(self) -> httpx.ASGITransport:
        """Return an httpx transport that sends requests straight to the app, in-process.

        Pair it with ``IN_PROCESS_BASE_URL`` as the client's base URL.
        """
        return httpx.ASGITransport(app=self._app)

    def job_ids(self, status: str | None = None) -> list[int]:
        """Return the ids of all jobs, or of those with ``status`` now, newest first."""
        return self._store.job_ids(status)

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """Return the job as ``GET /export/jobs/{id}`` would return it now, or None."""
        return self._store.get_document(job_id)
