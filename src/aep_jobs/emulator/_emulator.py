"""The emulator of the export jobs API and IMS: a job store, tokens, fault rules, and the app."""

from __future__ import annotations

from typing import Any

import httpx

from ._app import API_ROOT, EmulatorApp
from ._config import EmulatorConfig
from ._faults import IMS_TOKEN_ROUTE, FaultInjector, FaultRule, LostResponse
from ._stats import EmulatorStats, RequestRecord
from ._store import JobStore
from ._tokens import TokenRegistry, check_lifetime
from ._transport import EmulatorTransport

__all__ = ["IN_PROCESS_BASE_URL", "IN_PROCESS_IMS_URL", "Emulator"]

IN_PROCESS_BASE_URL = f"http://127.0.0.1{API_ROOT}"
"""Base URL to use with ``Emulator.transport()``. The transport never opens a connection."""

IN_PROCESS_IMS_URL = f"http://127.0.0.1{IMS_TOKEN_ROUTE}"
"""URL of the IMS token endpoint through ``Emulator.transport()``."""


class Emulator:
    """An in-memory emulator of Adobe's ``/export/jobs`` API for one organisation.

    Use it in-process through ``transport()``, or on a loopback socket with ``serve()``:

        emulator = Emulator(EmulatorConfig(seed=7))
        emulator.seed(1_000)
        async with httpx.AsyncClient(
            transport=emulator.transport(), base_url=IN_PROCESS_BASE_URL
        ) as client:
            response = await client.get("/export/jobs", params={"limit": 100}, headers=...)

    Faults are injected with rules, in-process and over a socket alike:

        rule = emulator.inject(FaultRule(Fault.status(503), method="GET", requests={2}))

    It also serves Adobe IMS's token endpoint, at ``IN_PROCESS_IMS_URL`` in-process and at
    ``EmulatorServer.ims_url`` over a socket. ``EmulatorConfig`` sets the clients, scopes
    and token lifetime it accepts, and whether the API accepts only the tokens it issued.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._config = config if config is not None else EmulatorConfig()
        self._store = JobStore(self._config)
        self._stats = EmulatorStats(self._config.request_log_size)
        self._faults = FaultInjector(self._config.seed)
        self._tokens = TokenRegistry(self._config.clock)
        self._app = EmulatorApp(self._config, self._store, self._stats, self._faults, self._tokens)

    def __repr__(self) -> str:
        return f"Emulator(org_id={self._config.org_id!r}, jobs={len(self._store.job_ids())})"

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    @property
    def app(self) -> EmulatorApp:
        """The ASGI 3 application, to mount in any ASGI server or test client.

        Faults that drop the connection need ``transport()`` or ``serve()``, because other
        servers respond to them with 500.
        """
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
        """Number of jobs created through ``POST /export/jobs``, not counting seeded jobs.

        Jobs whose create response was lost to a fault are counted too.
        """
        return self._store.created_count

    @property
    def faults(self) -> list[FaultRule]:
        """The injected fault rules, in the order they are checked."""
        return self._faults.rules

    @property
    def lost_responses(self) -> list[LostResponse]:
        """Requests that were processed but whose response the client never read whole.

        A ``reset`` after processing, a ``reset_mid_body``, a ``truncated`` body, and a
        ``stall`` after processing that the client gave up on add one each, oldest first.
        """
        return self._faults.lost_responses

    @property
    def token_requests(self) -> int:
        """Number of requests to the token endpoint, with any method and any outcome.

        Requests that a fault dropped or that the client gave up on are counted too.
        """
        return self._tokens.token_requests

    @property
    def tokens_issued(self) -> int:
        """Number of tokens that the token endpoint issued, not counting ``issue_token()``.

        A token whose response was lost to a fault is counted too.
        """
        return self._tokens.issued_by_endpoint

    def issue_token(self, lifetime: float | None = None) -> str:
        """Issue an access token without a request to the token endpoint, and return it.

        The API accepts it like a token from the endpoint until it expires or
        ``revoke_tokens()`` is called.

        :param lifetime: seconds for which the token is valid by ``config.clock``, or None
            for ``config.token_lifetime``.
        :raises ValueError: when ``lifetime`` is not a finite number greater than 0.
        """
        if lifetime is None:
            lifetime = self._config.token_lifetime
        check_lifetime("lifetime", lifetime)
        return self._tokens.issue(lifetime, by_endpoint=False)

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid, so that the next API request gets 401.

        This changes responses only when the API checks tokens, which it does when
        ``config.require_issued_tokens`` is set or ``config.access_tokens`` is not None.
        Tokens in ``config.access_tokens`` stay valid.
        """
        self._tokens.revoke_all()

    def seed(self, count: int) -> None:
        """Add ``count`` realistic jobs, created at spread-out times before now.

        The jobs depend only on ``config`` and the clock's value at the call, so the same
        seed and clock give the same jobs. Most end SUCCEEDED, ``config.failure_share``
        of them FAILED, and the newest few are still NEW or PROCESSING.
        """
        self._store.seed(count)

    def inject(self, rule: FaultRule) -> FaultRule:
        """Add a fault rule after the ones already injected, and return it.

        A rule's random draws depend on ``config.seed`` and on the number of rules
        injected before it, so the same calls give the same faults.

        :raises ValueError: when the rule was already injected.
        """
        return self._faults.inject(rule)

    def clear_faults(self) -> None:
        """Remove every fault rule. Their counters and the lost responses stay."""
        self._faults.clear()

    def transport(self) -> httpx.AsyncBaseTransport:
        """Return an httpx transport that sends requests straight to the app, in-process.

        Pair it with ``IN_PROCESS_BASE_URL`` as the client's base URL. Dropped connections
        raise the httpx exceptions of a real socket, and the request's read timeout
        applies to the wait for the response.
        """
        return EmulatorTransport(self._app)

    def job_ids(self, status: str | None = None) -> list[int]:
        """Return the ids of all jobs, or of those with ``status`` now, newest first."""
        return self._store.job_ids(status)

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """Return the job as ``GET /export/jobs/{id}`` would return it now, or None."""
        return self._store.get_document(job_id)
