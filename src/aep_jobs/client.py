"""ExportJobsClient: list, iterate, get, create and cancel export jobs."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

import httpx
import msgspec

from . import _validation, bulk
from ._http import Identity, Sender
from ._safety import tls_verification
from .auth import DEFAULT_IMS_URL, DEFAULT_SCOPES, OAuthServerToServer, scope_list
from .bulk import JobRefT, RequestT
from .config import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE,
    DEFAULT_PAGE_SIZE,
    DEFAULT_TIMEOUT,
    PRODUCTION_BASE_URL,
    Settings,
    TokenSource,
)
from .errors import (
    AepJobsError,
    ConfigurationError,
    DecodeError,
    OutcomeUnknownError,
    RequestValidationError,
)
from .models import CancelResult, ExportJob, ExportJobRequest, JobPage, JobT, encode_request
from .pagination import JobIterator, PageIterator
from .retry import RetryBudget, RetryPolicy
from .waiting import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    WaitResults,
    wait_for_job,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ExportJobsClient"]

logger = logging.getLogger("aep_jobs")

_JOBS_PATH = "/export/jobs"


class ExportJobsClient:
    """An async client for the export jobs API of one organisation and sandbox.

    Use it as an async context manager, so that its connections are closed:

        async with ExportJobsClient(org_id=..., api_key=..., sandbox="prod", token=...) as client:
            async for job in client.iter_jobs(status="FAILED"):
                print(job.id, job.errors)

    :param org_id: the IMS organization id, e.g. ``1BD6382559DF0C130A49422D@AdobeOrg``
    :param api_key: the API key, which is the Developer Console project's client id
    :param sandbox: the sandbox name, e.g. ``prod``
    :param token: an access token, a [`TokenProvider`][aep_jobs.TokenProvider], or a function
        (synchronous or asynchronous) that returns a token
    :param client_secret: instead of ``token``: the project's client secret, so that the
        client gets and renews tokens from Adobe IMS (OAuth server-to-server)
    :param scopes: the project's scopes, with ``client_secret``
    :param ims_url: Adobe IMS's token endpoint, with ``client_secret``
    :param base_url: the service root; Adobe's production root by default
    :param timeout: seconds, or an ``httpx.Timeout`` for each phase of a request
    :param page_size: jobs per page when iterating, unless a call sets its own
    :param transport: an httpx transport to send requests through instead of the network,
        e.g. the emulator's in-process transport
    :param allow_insecure_http: allow plain ``http://`` URLs on hosts that are not loopback
    :param verify: whether to verify TLS certificates; turning it off logs a warning
    :param retry: the retry policy of calls that do not give their own
        (``RetryPolicy.disabled()`` turns retries off)
    :param retry_budget: the token bucket that limits retries across all calls of this client;
        a new [`RetryBudget`][aep_jobs.RetryBudget] when ``None``, ``RetryBudget.unlimited()``
        for no limit
    :param deadline: seconds that one call may take in all, retries and backoff included;
        ``None`` for no limit. Calls may set their own.
    :param max_connections: the most connections open at once, and so the most requests in
        flight; further requests wait for a free connection, up to the pool timeout
    :raises ConfigurationError: listing every missing or invalid setting
    """

    def __init__(
        self,
        *,
        org_id: str,
        api_key: str,
        sandbox: str,
        token: TokenSource | None = None,
        client_secret: str | None = None,
        scopes: Sequence[str] | str = DEFAULT_SCOPES,
        ims_url: str = DEFAULT_IMS_URL,
        base_url: str = PRODUCTION_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        page_size: int = DEFAULT_PAGE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        verify: bool = True,
    ) -> None:
        settings = Settings(
            org_id=org_id,
            api_key=api_key,
            sandbox=sandbox,
            token=token,
            client_secret=client_secret,
            scopes=scope_list(scopes),
            base_url=base_url,
            ims_url=ims_url,
            allow_insecure_http=allow_insecure_http,
        )
        problems = settings.problems()
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
            problems.append(
                f"page_size {page_size!r} is invalid; expected a positive integer such as 100"
            )
        if not isinstance(timeout, httpx.Timeout) and not _is_positive_seconds(timeout):
            problems.append(
                f"timeout {timeout!r} is invalid; expected seconds > 0 or an httpx.Timeout"
            )
        if deadline is not None and not _is_positive_seconds(deadline):
            problems.append(
                f"deadline {deadline!r} is invalid; expected seconds > 0, or None for no limit"
            )
        if (
            not isinstance(max_connections, int)
            or isinstance(max_connections, bool)
            or max_connections < 1
        ):
            problems.append(
                f"max_connections {max_connections!r} is invalid; expected a positive integer"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            problems.append(f"retry must be a RetryPolicy, not {type(retry).__name__}")
        if retry_budget is not None and not isinstance(retry_budget, RetryBudget):
            problems.append(
                f"retry_budget must be a RetryBudget, not {type(retry_budget).__name__}"
            )
        if problems:
            raise ConfigurationError(problems)

        self.settings = settings
        self.page_size = page_size
        self.max_connections = max_connections
        if not verify:
            logger.warning(
                "TLS certificate verification is off for %s: the access token can be read by "
                "anyone who can intercept the connection",
                base_url,
            )
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            verify=tls_verification(verify),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=min(max_connections, DEFAULT_MAX_KEEPALIVE),
            ),
            follow_redirects=False,
        )
        self._token = settings.token_provider(transport)
        # A provider that the client made is the client's to close; one given to it is not.
        self._owns_token = settings.token is None
        self._sender = Sender(
            self._http,
            httpx.URL(base_url),
            Identity(api_key=api_key, org_id=org_id, sandbox=sandbox),
            self._token,
            retry=RetryPolicy() if retry is None else retry,
            budget=RetryBudget() if retry_budget is None else retry_budget,
            deadline=deadline,
        )
        self._jobs_url = self._sender.url_for(_JOBS_PATH)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> ExportJobsClient:
        """Create a client from [`Settings`][aep_jobs.Settings].

        :param options: the other arguments of [`ExportJobsClient`][aep_jobs.ExportJobsClient],
            e.g. ``timeout``
        """
        return cls(
            org_id=settings.org_id,
            api_key=settings.api_key,
            sandbox=settings.sandbox,
            token=settings.token,
            client_secret=settings.client_secret,
            scopes=settings.scopes,
            ims_url=settings.ims_url,
            base_url=settings.base_url,
            allow_insecure_http=settings.allow_insecure_http,
            **options,
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        names: Mapping[str, str] | None = None,
        **options: Any,
    ) -> ExportJobsClient:
        """Create a client from environment variables.

        It reads the variables named in
        [`ENVIRONMENT_VARIABLES`][aep_jobs.ENVIRONMENT_VARIABLES], each replaced by its entry in
        ``names`` if there is one.

        :param names: variable names to read instead of the standard ones, by setting
        :raises ConfigurationError: listing every missing or invalid variable
        """
        return cls.from_settings(Settings.from_env(environ, names=names), **options)

    @classmethod
    def from_aepp_config(cls, path: str | os.PathLike[str], **options: Any) -> ExportJobsClient:
        """Create a client from the JSON configuration file of the ``aepp`` package.

        :raises ConfigurationError: listing every missing or invalid key
        """
        return cls.from_settings(Settings.from_aepp_config(path), **options)

    def __repr__(self) -> str:
        return (
            f"ExportJobsClient(base_url={self.settings.base_url!r}, "
            f"org_id={self.settings.org_id!r}, sandbox={self.settings.sandbox!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's connections, and those of the token provider it made."""
        await self._http.aclose()
        if self._owns_token and isinstance(self._token, OAuthServerToServer):
            await self._token.aclose()

    @overload
    async def list_page(
        self,
        *,
        limit: int | None = None,
        offset: str | None = None,
        status: str | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobPage[ExportJob]: ...

    @overload
    async def list_page(
        self,
        *,
        limit: int | None = None,
        offset: str | None = None,
        status: str | None = None,
        job_type: type[JobT],
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobPage[JobT]: ...

    async def list_page(
        self,
        *,
        limit: int | None = None,
        offset: str | None = None,
        status: str | None = None,
        job_type: type[Any] = ExportJob,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobPage[Any]:
        """Fetch one page of export jobs, newest first.

        :param limit: the maximum number of jobs on the page; the server chooses when ``None``
        :param offset: the cursor of the page, from a previous page's next link
        :param status: only jobs with this status: ``NEW``, ``SUCCEEDED`` or ``FAILED``
        :param job_type: the Struct each job decodes into: [`ExportJob`][aep_jobs.ExportJob], or
            a projection of your own that names only the fields you need (see
            [`iter_jobs`][aep_jobs.ExportJobsClient.iter_jobs])
        :param retry: the retry policy of this call, instead of the client's
        :param deadline: seconds for this call, retries included, instead of the client's
        :raises RequestValidationError: an argument is invalid; nothing was sent
        """
        url = self._list_url(limit, offset, status)
        page_type = _page_type(job_type)
        return await self._fetch_page(
            url, "list export jobs", page_type=page_type, retry=retry, deadline=deadline
        )

    @overload
    def iter_pages(
        self,
        *,
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> PageIterator[ExportJob]: ...

    @overload
    def iter_pages(
        self,
        *,
        job_type: type[JobT],
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> PageIterator[JobT]: ...

    def iter_pages(
        self,
        *,
        job_type: type[Any] = ExportJob,
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> PageIterator[Any]:
        """Iterate over pages of export jobs, newest first, following the server's next links.

        Each page is requested when the caller asks for it. The iteration ends at a page with
        no jobs or with no next link.

        :param job_type: the Struct each job decodes into (see
            [`iter_jobs`][aep_jobs.ExportJobsClient.iter_jobs])
        :param page_size: jobs per page (the client's ``page_size`` by default)
        :param status: only jobs with this status: ``NEW``, ``SUCCEEDED`` or ``FAILED``
        :param offset: start from this cursor, e.g. the ``cursor`` of an interrupted iterator
        :param max_pages: stop after this many pages
        :param prefetch: fetch up to this many pages ahead while the caller works on the
            current one; the iterator must then be used with ``async with``
        :param retry: the retry policy of each page request, instead of the client's
        :param deadline: seconds for each page request, retries included, instead of the
            client's
        :raises RequestValidationError: an argument is invalid; nothing was sent
        """
        size = self.page_size if page_size is None else page_size
        _check_maximum("page_size", page_size)
        _check_maximum("max_pages", max_pages)
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 0:
            raise RequestValidationError(
                "prefetch", prefetch, "expected the number of pages to fetch ahead, 0 or more"
            )
        page_type = _page_type(job_type)
        first_url = self._list_url(size, offset, status)
        return PageIterator(
            functools.partial(
                self._fetch_page, page_type=page_type, retry=retry, deadline=deadline
            ),
            first_url,
            base_url=self._sender.base_url,
            status=first_url.params.get("status"),
            page_size=size,
            max_pages=max_pages,
            prefetch=prefetch,
        )

    @overload
    def iter_jobs(
        self,
        *,
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        max_items: int | None = None,
        skip: int = 0,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobIterator[ExportJob]: ...

    @overload
    def iter_jobs(
        self,
        *,
        job_type: type[JobT],
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        max_items: int | None = None,
        skip: int = 0,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobIterator[JobT]: ...

    def iter_jobs(
        self,
        *,
        job_type: type[Any] = ExportJob,
        page_size: int | None = None,
        status: str | None = None,
        offset: str | None = None,
        max_pages: int | None = None,
        max_items: int | None = None,
        skip: int = 0,
        prefetch: int = 0,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> JobIterator[Any]:
        """Iterate over export jobs, newest first, fetching pages as they are needed.

        Only the current page is held in memory (and ``prefetch`` more). The parameters are
        those of [`iter_pages`][aep_jobs.ExportJobsClient.iter_pages], plus:

        :param job_type: the Struct each job decodes into. A projection, a
            ``msgspec.Struct`` of your own with ``rename="camel"`` and only the fields you
            need (for example ``id: int``, ``status: str``, ``creation_time: int``), decodes
            faster than [`ExportJob`][aep_jobs.ExportJob], because the rest of each job is skipped.
        :param max_items: stop after this many jobs
        :param skip: leave out this many jobs of the first page; with ``offset``, this resumes
            an earlier iterator exactly (see [`JobIterator`][aep_jobs.JobIterator])
        """
        _check_maximum("max_items", max_items)
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            raise RequestValidationError("skip", skip, "expected an integer >= 0")
        pages = self.iter_pages(
            job_type=job_type,
            page_size=page_size,
            status=status,
            offset=offset,
            max_pages=max_pages,
            prefetch=prefetch,
            retry=retry,
            deadline=deadline,
        )
        return JobIterator(pages, max_items=max_items, skip=skip)

    async def get(
        self,
        job_id: int | str,
        *,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> ExportJob:
        """Fetch one export job.

        ``retry`` and ``deadline`` replace the client's for this call.

        :raises NotFoundError: no job has this id
        :raises RequestValidationError: the id is not a job id; nothing was sent
        """
        path_id = _validation.check_job_id(job_id)
        with _errors_carry_job_id(path_id):
            response = await self._sender.request(
                f"get export job {path_id}",
                "GET",
                self._sender.url_for(f"{_JOBS_PATH}/{path_id}"),
                decode=ExportJob,
                retry=retry,
                deadline=deadline,
            )
            job: ExportJob | None = response.data
            if job is None:
                raise _empty_body_error(f"get export job {path_id}", response.status_code)
        return job

    async def create(
        self,
        request: ExportJobRequest | Mapping[str, Any],
        *,
        profile_instance_id: str | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> ExportJob:
        """Create an export job and return it, in status ``NEW``.

        :param request: the job to create, as an [`ExportJobRequest`][aep_jobs.ExportJobRequest]
            or a mapping of the API's (camelCase) field names
        :param profile_instance_id: sent as ``x-profile-instance-id``, e.g. ``ups``
        :param retry: the retry policy of this call, instead of the client's
        :param deadline: seconds for this call, retries included, instead of the client's
        :raises RequestValidationError: the request is invalid; nothing was sent
        :raises OutcomeUnknownError: the job may or may not have been created; its
            ``request`` and ``started_at`` help to find out
        """
        if isinstance(request, Mapping):
            request = _validation.parse_export_request(request)
        else:
            request = _validation.check_export_request(request)
        headers = {}
        if profile_instance_id is not None:
            headers["x-profile-instance-id"] = profile_instance_id

        try:
            response = await self._sender.request(
                "create export job",
                "POST",
                self._jobs_url,
                decode=ExportJob,
                body=encode_request(request),
                extra_headers=headers,
                # Adobe responds 200. A 201 also means that the job exists, so it is no failure.
                ok=(200, 201),
                retry=retry,
                deadline=deadline,
            )
        except OutcomeUnknownError as error:
            error.request = request
            raise
        job: ExportJob | None = response.data
        if job is None:
            raise _empty_body_error("create export job", response.status_code)
        logger.debug("created export job %d at %s", job.id, response.headers.get("x-location"))
        return job

    async def cancel(
        self,
        job_id: int | str,
        *,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> CancelResult:
        """Cancel an export job.

        ``retry`` and ``deadline`` replace the client's for this call.

        The server responds 200 with a message, or 202 or 204. A response without a body
        gives a [`CancelResult`][aep_jobs.CancelResult] with ``status=True`` and no message.

        :raises NotFoundError: no job has this id
        :raises RequestValidationError: the id is not a job id; nothing was sent
        """
        path_id = _validation.check_job_id(job_id)
        with _errors_carry_job_id(path_id):
            response = await self._sender.request(
                f"cancel export job {path_id}",
                "DELETE",
                self._sender.url_for(f"{_JOBS_PATH}/{path_id}"),
                decode=CancelResult,
                ok=(200, 202, 204),
                retry=retry,
                deadline=deadline,
            )
        result: CancelResult | None = response.data
        return result if result is not None else CancelResult()

    async def wait(
        self,
        job_id: int | str,
        *,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        raise_on_failure: bool = False,
        on_poll: Callable[[ExportJob], object] | None = None,
    ) -> ExportJob:
        """Poll an export job until it is SUCCEEDED, FAILED or CANCELLED, and return it.

        The wait between polls starts at ``poll_interval`` and grows by half each time, up to
        ``max_poll_interval``.

        :param timeout: seconds to wait in all, or ``None`` for no limit
        :param raise_on_failure: raise [`JobFailedError`][aep_jobs.JobFailedError] for a FAILED
            job instead of returning it with its ``errors``
        :param on_poll: called with the job after each poll, for example to show its status
        :raises WaitTimeoutError: the job did not finish in time; it reports the last status
        """
        return await wait_for_job(
            self,
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
            on_poll=on_poll,
        )

    def wait_many(
        self,
        job_ids: Iterable[int | str] | AsyncIterable[int | str],
        *,
        max_concurrency: int = 8,
        timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        raise_on_failure: bool = False,
        on_poll: Callable[[ExportJob], object] | None = None,
    ) -> WaitResults:
        """Wait for many export jobs, at most ``max_concurrency`` polled at a time.

        Use the result as an async context manager, and iterate over it to get each job as
        it finishes; the other parameters are those of [`wait`][aep_jobs.ExportJobsClient.wait]:

            async with client.wait_many(job_ids) as finished:
                async for job in finished:
                    print(job.id, job.status)
        """
        return WaitResults(
            self,
            job_ids,
            max_concurrency=max_concurrency,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            raise_on_failure=raise_on_failure,
            on_poll=on_poll,
        )

    def _list_url(self, limit: int | None, offset: str | None, status: str | None) -> httpx.URL:
        status = _validation.check_list_arguments(limit, offset, status)
        params: dict[str, str] = {}
        if limit is not None:
            params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = offset
        if status is not None:
            params["status"] = status
        return self._jobs_url.copy_with(params=params) if params else self._jobs_url

    async def _fetch_page(
        self,
        url: httpx.URL,
        operation: str,
        *,
        page_type: type[JobPage[Any]],
        retry: RetryPolicy | None,
        deadline: float | None,
    ) -> JobPage[Any]:
        response = await self._sender.request(
            operation, "GET", url, decode=page_type, retry=retry, deadline=deadline
        )
        page: JobPage[Any] | None = response.data
        if page is None:
            raise _empty_body_error(operation, response.status_code)
        return page

    def create_many(
        self,
        requests: Iterable[RequestT] | AsyncIterable[RequestT],
        *,
        max_concurrency: int = bulk.DEFAULT_MAX_CONCURRENCY,
        max_per_second: float | None = None,
        reconcile: bool = False,
        reconcile_slack: float = bulk.DEFAULT_CLOCK_SLACK,
        progress: Callable[[bulk.BulkProgress], object] | None = None,
        profile_instance_id: str | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> bulk.BulkRun[RequestT]:
        """Create an export job for each request, many at a time, with one outcome per request.

        Use the result as an async context manager and iterate over it inside the block;
        outcomes come as the requests finish. One failed request does not stop the others:

            async with client.create_many(requests, max_concurrency=32) as outcomes:
                async for outcome in outcomes:
                    print(outcome.index, outcome.status, outcome.job, outcome.error)

        ``await aep_jobs.collect(client.create_many(requests))`` returns a summary instead.
        The requests are read lazily, at most ``3 * max_concurrency + 1`` ahead of the
        outcomes taken. A 429 pauses every request of the run until the server's
        ``Retry-After`` and halves the number in flight, which then grows back by one per
        window of successes (AIMD); the request is sent again.

        :param requests: ``ExportJobRequest`` objects or mappings of the API's field names,
            in a sequence, an iterable or an async iterable
        :param max_concurrency: requests in flight at most; not more than
            ``max_connections``
        :param max_per_second: requests sent per second at most; ``None`` for no limit
        :param reconcile: after the last request, look up the jobs of the creates whose
            outcome is unknown with one listing, and report each as ``created`` (with
            ``reconciled=True``) or ``not_created``
        :param reconcile_slack: seconds by which the server's clock may differ from this
            machine's, when reconciling
        :param progress: called with a [`BulkProgress`][aep_jobs.BulkProgress] after each outcome
        :param profile_instance_id: sent as ``x-profile-instance-id``, e.g. ``ups``
        :param retry: the retry policy of each request instead of the client's; 429 is
            handled by the run, so it is never retried by the policy
        :param deadline: seconds for each request, retries included, instead of the client's
        :raises RequestValidationError: a limit is invalid, or ``max_concurrency`` exceeds
            ``max_connections``; nothing was sent
        """
        return bulk.create_many(
            self,
            requests,
            max_concurrency=max_concurrency,
            max_per_second=max_per_second,
            reconcile=reconcile,
            reconcile_slack=reconcile_slack,
            progress=progress,
            profile_instance_id=profile_instance_id,
            retry=retry,
            deadline=deadline,
        )

    def cancel_many(
        self,
        job_ids: Iterable[JobRefT] | AsyncIterable[JobRefT],
        *,
        max_concurrency: int = bulk.DEFAULT_MAX_CONCURRENCY,
        max_per_second: float | None = None,
        progress: Callable[[bulk.BulkProgress], object] | None = None,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> bulk.BulkRun[JobRefT]:
        """Cancel many export jobs at a time, with one outcome per job.

        Used like [`create_many`][aep_jobs.ExportJobsClient.create_many], e.g. to cancel every
        job that a listing returns:

            async with client.cancel_many(
                job.id async for job in client.iter_jobs(status="NEW")
            ) as outcomes:
                async for outcome in outcomes:
                    ...

        :param job_ids: job ids, or ``ExportJob`` objects, in a sequence, an iterable or an
            async iterable
        The other parameters are those of [`create_many`][aep_jobs.ExportJobsClient.create_many].
        """
        return bulk.cancel_many(
            self,
            job_ids,
            max_concurrency=max_concurrency,
            max_per_second=max_per_second,
            progress=progress,
            retry=retry,
            deadline=deadline,
        )


def _page_type(job_type: type[Any]) -> type[JobPage[Any]]:
    """Return the page type whose records decode into ``job_type``."""
    if not (isinstance(job_type, type) and issubclass(job_type, msgspec.Struct)):
        raise RequestValidationError(
            "job_type",
            job_type,
            "expected a msgspec.Struct class, e.g. ExportJob or a projection of your own",
        )
    page_type: type[JobPage[Any]] = JobPage[job_type]  # type: ignore[valid-type]
    return page_type


def _is_positive_seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
        and math.isfinite(value)
    )


def _check_maximum(name: str, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise RequestValidationError(name, value, "expected a positive integer or None")


def _empty_body_error(operation: str, status_code: int) -> DecodeError:
    return DecodeError(operation, status_code, b"", "the body is empty, a JSON object was expected")


@contextlib.contextmanager
def _errors_carry_job_id(job_id: str) -> Iterator[None]:
    """Set ``job_id`` on the aep_jobs errors raised inside the block."""
    try:
        yield
    except AepJobsError as error:
        error.job_id = job_id
        raise
