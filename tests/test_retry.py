"""Retries, backoff, Retry-After, the retry budget, deadlines and unknown create outcomes."""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx

from aep_jobs import (
    ApiError,
    BadRequestError,
    ConfigurationError,
    DecodeError,
    Destination,
    ExportJobRequest,
    ExportJobsClient,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RetryBudget,
    RetryPolicy,
    SchemaRef,
    ServerError,
    TransportError,
    TransportTimeoutError,
)
from aep_jobs.retry import parse_retry_after

BASE_URL = "https://platform.adobe.io/data/core/ups"

pytestmark = pytest.mark.anyio

JOB = b'{"id": 722, "status": "NEW"}'
JOB_PATH = "/export/jobs/722"
REQUEST = ExportJobRequest(
    destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
    schema=SchemaRef(name="_xdm.context.profile"),
)


class Sleeps:
    """A sleep function that returns at once and records each delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def policy(sleeps: Sleeps, **changes: Any) -> RetryPolicy:
    """Return a retry policy with instant sleeps and the top of every jitter range."""
    return RetryPolicy(sleep=sleeps, jitter=lambda: 1.0, **changes)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock_router:
        yield mock_router


def make_client(router: respx.MockRouter, retry: RetryPolicy, **options: Any) -> ExportJobsClient:
    return ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token-123",
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        retry=retry,
        **options,
    )


@pytest.fixture
async def client(router: respx.MockRouter, sleeps: Sleeps) -> AsyncIterator[ExportJobsClient]:
    async with make_client(router, policy(sleeps)) as export_client:
        yield export_client


def responses(*items: httpx.Response | Exception) -> Callable[[httpx.Request], Any]:
    """Return a respx side effect that gives each item in turn, the last one repeatedly."""
    queue = list(items)

    def side_effect(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return side_effect


def status(code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        code, json={"title": "failed", "detail": f"status {code}"}, headers=headers
    )


# ---------------------------------------------------------------------------------------------
# The policy on its own


def test_backoff_doubles_up_to_cap(sleeps: Sleeps) -> None:
    retry = policy(sleeps)

    delays = [retry.backoff(number) for number in range(1, 9)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]


def test_backoff_uses_full_jitter() -> None:
    retry = RetryPolicy(jitter=lambda: 0.25)

    assert retry.backoff(3) == 0.5


def test_policy_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="max_attempts 0: expected an integer >= 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="initial_backoff -1: expected seconds >= 0"):
        RetryPolicy(initial_backoff=-1)
    with pytest.raises(ValueError, match=r"max_retry_after nan: expected seconds >= 0"):
        RetryPolicy(max_retry_after=math.nan)
    with pytest.raises(ValueError, match=r"multiplier 0\.5: expected a number >= 1"):
        RetryPolicy(multiplier=0.5)


def test_disabled_policy_one_attempt() -> None:
    assert RetryPolicy.disabled().max_attempts == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("", None),
    ],
)
def test_retry_after_in_seconds(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after(header, now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_budget_costs_and_refunds() -> None:
    budget = RetryBudget(capacity=20)

    assert budget.withdraw(expensive=False) is True
    assert budget.tokens == 15
    assert budget.withdraw(expensive=True) is True
    assert budget.tokens == 5
    assert budget.withdraw(expensive=True) is False
    assert budget.tokens == 5
    budget.refund()
    assert budget.tokens == 6


def test_budget_refund_capped() -> None:
    budget = RetryBudget()
    budget.refund()

    assert budget.tokens == 500


def test_unlimited_budget_never_empties() -> None:
    budget = RetryBudget.unlimited()

    assert all(budget.withdraw(expensive=True) for _ in range(10_000))


# ---------------------------------------------------------------------------------------------
# What is retried


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504])
async def test_get_retried_after_status(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps, code: int
) -> None:
    route = router.get(JOB_PATH).mock(
        side_effect=responses(status(code), status(code), httpx.Response(200, content=JOB))
    )

    job = await client.get(722)

    assert job.id == 722
    assert route.call_count == 3
    assert sleeps.delays == [0.5, 1.0]


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
async def test_client_errors_not_retried(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps, code: int
) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(status(code)))

    with pytest.raises(ApiError) as caught:
        await client.get(722)

    assert caught.value.status_code == code
    assert route.call_count == 1
    assert sleeps.delays == []


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("broken pipe"),
    ],
    ids=["connect", "connect-timeout", "read-timeout", "read", "disconnected", "write"],
)
async def test_get_retried_after_transport_error(
    client: ExportJobsClient, router: respx.MockRouter, failure: Exception
) -> None:
    route = router.get(JOB_PATH).mock(
        side_effect=responses(failure, httpx.Response(200, content=JOB))
    )

    job = await client.get(722)

    assert job.id == 722
    assert route.call_count == 2


async def test_cancel_retried(client: ExportJobsClient, router: respx.MockRouter) -> None:
    route = router.delete(JOB_PATH).mock(
        side_effect=responses(httpx.ReadTimeout("read timed out"), httpx.Response(204))
    )

    result = await client.cancel(722)

    assert result.status is True
    assert route.call_count == 2


async def test_truncated_body_retried_on_get(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get(JOB_PATH).mock(
        side_effect=responses(
            httpx.Response(200, content=JOB[:12]), httpx.Response(200, content=JOB)
        )
    )

    job = await client.get(722)

    assert job.id == 722
    assert route.call_count == 2


async def test_attempts_exhausted_reports_count(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(status(503)))

    with pytest.raises(ServerError) as caught:
        await client.get(722)

    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert "[4 attempts in " in str(caught.value)


async def test_disabled_retries_one_attempt(router: respx.MockRouter, sleeps: Sleeps) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(status(503)))

    async with make_client(router, RetryPolicy.disabled()) as client:
        with pytest.raises(ServerError) as caught:
            await client.get(722)

    assert route.call_count == 1
    assert caught.value.attempts == 1
    assert caught.value.request_id is not None
    assert str(caught.value).endswith(f"(HTTP 503, request id {caught.value.request_id})")


async def test_per_call_policy_overrides_client(router: respx.MockRouter, sleeps: Sleeps) -> None:
    route = router.get(JOB_PATH).mock(
        side_effect=responses(status(502), httpx.Response(200, content=JOB))
    )

    async with make_client(router, RetryPolicy.disabled()) as client:
        job = await client.get(722, retry=policy(sleeps))

    assert job.id == 722
    assert route.call_count == 2


# ---------------------------------------------------------------------------------------------
# Retry-After


async def test_retry_after_seconds_honoured(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    router.get(JOB_PATH).mock(
        side_effect=responses(status(429, {"Retry-After": "7"}), httpx.Response(200, content=JOB))
    )

    await client.get(722)

    assert sleeps.delays == [7.0]


async def test_retry_after_on_503_honoured(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    router.get(JOB_PATH).mock(
        side_effect=responses(status(503, {"Retry-After": "3"}), httpx.Response(200, content=JOB))
    )

    await client.get(722)

    assert sleeps.delays == [3.0]


async def test_retry_after_date_honoured(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    header = email.utils.formatdate(
        email.utils.mktime_tz((2099, 1, 1, 0, 0, 0, 0, 1, -1, 0)), usegmt=True
    )
    router.get(JOB_PATH).mock(side_effect=responses(status(429, {"Retry-After": header})))

    with pytest.raises(RateLimitError) as caught:
        await client.get(722)

    # A date decades away is far beyond the cap, so the call gives up at once.
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 60
    assert sleeps.delays == []


async def test_retry_after_past_cap_gives_up(
    client: ExportJobsClient, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(status(429, {"Retry-After": "120"})))

    with pytest.raises(RateLimitError) as caught:
        await client.get(722)

    assert route.call_count == 1
    assert caught.value.retry_after == 120.0
    assert caught.value.retry_note == (
        "the server asked to wait 120 s, more than the 60 s that the retry policy allows"
    )
    assert "the server asked to wait 120 s" in str(caught.value)
    assert sleeps.delays == []


async def test_retry_after_cap_configurable(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get(JOB_PATH).mock(
        side_effect=responses(status(429, {"Retry-After": "120"}), httpx.Response(200, content=JOB))
    )

    async with make_client(router, policy(sleeps, max_retry_after=300)) as client:
        await client.get(722)

    assert sleeps.delays == [120.0]


# ---------------------------------------------------------------------------------------------
# Creates


@pytest.mark.parametrize(
    "failure",
    [
        status(500),
        status(502),
        status(504),
        status(408),
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["500", "502", "504", "408", "read-timeout", "write-timeout", "reset", "disconnected"],
)
async def test_create_outcome_unknown(
    client: ExportJobsClient, router: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    route = router.post("/export/jobs").mock(side_effect=responses(failure))

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create(REQUEST)

    error = caught.value
    assert route.call_count == 1
    assert error.request == REQUEST
    assert error.operation == "create export job"
    assert error.attempts == 1
    assert isinstance(error.__cause__, (ServerError, ApiError, TransportError))
    assert str(error).startswith("create export job: the outcome is unknown (")
    assert "the job may have been created" in str(error)


async def test_create_unknown_keeps_start_time(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.post("/export/jobs").mock(side_effect=responses(status(500)))
    before = int(time.time() * 1000)

    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create(REQUEST)

    after = int(time.time() * 1000)
    assert before <= caught.value.started_at <= after
    assert isinstance(caught.value.__cause__, ServerError)


@pytest.mark.parametrize(
    "failure",
    [
        status(429),
        status(503),
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("no connection free"),
    ],
    ids=["429", "503", "connect", "connect-timeout", "pool-timeout"],
)
async def test_create_retried_when_not_processed(
    client: ExportJobsClient, router: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    route = router.post("/export/jobs").mock(
        side_effect=responses(failure, httpx.Response(200, content=JOB))
    )

    job = await client.create(REQUEST)

    assert job.id == 722
    assert route.call_count == 2


async def test_create_retried_when_caller_opts_in(router: respx.MockRouter, sleeps: Sleeps) -> None:
    route = router.post("/export/jobs").mock(
        side_effect=responses(status(500), httpx.Response(200, content=JOB))
    )

    async with make_client(router, policy(sleeps, retry_creates=True)) as client:
        job = await client.create(REQUEST)

    assert job.id == 722
    assert route.call_count == 2


async def test_opted_in_create_still_unknown_at_end(
    router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.post("/export/jobs").mock(side_effect=responses(status(500), status(503)))

    async with make_client(router, policy(sleeps, retry_creates=True)) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create(REQUEST)

    # The first attempt may have created the job, whatever the last one got.
    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.status_code == 503


async def test_create_rejected_after_safe_retry(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").mock(side_effect=responses(status(503), status(400)))

    with pytest.raises(BadRequestError) as caught:
        await client.create(REQUEST)

    assert route.call_count == 2
    assert caught.value.attempts == 2


async def test_create_success_with_bad_body_not_retried(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").mock(
        side_effect=responses(httpx.Response(200, content=b"<html>oops</html>"))
    )

    with pytest.raises(DecodeError):
        await client.create(REQUEST)

    assert route.call_count == 1


# ---------------------------------------------------------------------------------------------
# The retry budget


async def test_budget_limits_retries_in_outage(router: respx.MockRouter, sleeps: Sleeps) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(status(503)))
    calls = 200

    async with make_client(router, policy(sleeps)) as client:

        async def call() -> None:
            with pytest.raises(ServerError):
                await client.get(722)

        async with anyio.create_task_group() as group:
            for _ in range(calls):
                group.start_soon(call)

    # 500 tokens at 5 per retry: exactly 100 retries on top of the first attempts.
    assert route.call_count == calls + 100


async def test_budget_exhausted_names_reason(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get(JOB_PATH).mock(side_effect=responses(status(503)))
    budget = RetryBudget(capacity=5)

    async with make_client(router, policy(sleeps), retry_budget=budget) as client:
        with pytest.raises(ServerError) as caught:
            await client.get(722)

    assert caught.value.attempts == 2
    assert caught.value.retry_note == "the client's retry budget is used up"
    assert budget.tokens == 0


async def test_timeouts_cost_more_budget(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get(JOB_PATH).mock(
        side_effect=responses(httpx.ReadTimeout("read timed out"), httpx.Response(200, content=JOB))
    )
    budget = RetryBudget()

    async with make_client(router, policy(sleeps), retry_budget=budget) as client:
        await client.get(722)

    assert budget.tokens == 500 - 10 + 1


async def test_success_refunds_budget(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get(JOB_PATH).mock(side_effect=responses(status(502), httpx.Response(200, content=JOB)))
    budget = RetryBudget()

    async with make_client(router, policy(sleeps), retry_budget=budget) as client:
        await client.get(722)
        await client.get(722)

    assert budget.tokens == 500 - 5 + 1 + 1


# ---------------------------------------------------------------------------------------------
# Deadlines


def stalling(seconds: float) -> Callable[[httpx.Request], Any]:
    async def side_effect(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(seconds)
        return httpx.Response(200, content=JOB)

    return side_effect


async def test_deadline_ends_stalled_get(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get(JOB_PATH).mock(side_effect=stalling(30))

    with anyio.fail_after(10):
        with pytest.raises(TransportTimeoutError) as caught:
            await client.get(722, deadline=0.1)

    assert str(caught.value) == (
        "get export job 722 failed: no success within the deadline of 0.1 s"
    )
    assert caught.value.attempts == 1


async def test_deadline_on_stalled_create_unknown(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.post("/export/jobs").mock(side_effect=stalling(30))

    with anyio.fail_after(10):
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create(REQUEST, deadline=0.1)

    assert caught.value.request == REQUEST
    assert "no success within the deadline of 0.1 s" in str(caught.value)


async def test_deadline_includes_backoff(router: respx.MockRouter) -> None:
    router.get(JOB_PATH).mock(side_effect=responses(status(503, {"Retry-After": "30"})))
    retry = RetryPolicy(jitter=lambda: 1.0)

    async with make_client(router, retry, deadline=0.2) as client:
        with anyio.fail_after(10):
            with pytest.raises(TransportTimeoutError) as caught:
                await client.get(722)

    assert caught.value.attempts == 1


async def test_client_default_deadline_used(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get(JOB_PATH).mock(side_effect=stalling(30))

    async with make_client(router, policy(sleeps), deadline=0.1) as client:
        with anyio.fail_after(10), pytest.raises(TransportTimeoutError) as caught:
            await client.get(722)

    assert "deadline of 0.1 s" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Logs


async def test_retries_logged(
    client: ExportJobsClient,
    router: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    router.get(JOB_PATH).mock(side_effect=responses(status(503)))
    caplog.set_level(logging.INFO, logger="aep_jobs")

    with pytest.raises(ServerError):
        await client.get(722)

    retries = [record for record in caplog.records if record.levelno == logging.INFO]
    give_ups = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(retries) == 3
    assert retries[0].getMessage() == (
        "Retrying get export job 722 in 0.50 s (attempt 1 of 4 failed: HTTP 503: status 503)"
    )
    assert len(give_ups) == 1
    assert give_ups[0].getMessage() == (
        "Gave up on get export job 722 after 4 attempts: no attempts left (HTTP 503: status 503)"
    )
    assert all("token-123" not in record.getMessage() for record in caplog.records)


# ---------------------------------------------------------------------------------------------
# Listings


def page(ids: list[int], next_offset: str | None) -> httpx.Response:
    records = [{"id": job_id, "status": "SUCCEEDED"} for job_id in ids]
    link = f"/export/jobs/?limit=2&offset={next_offset}" if next_offset else ""
    return httpx.Response(200, json={"records": records, "link": {"next": link}})


async def test_listing_continues_after_transient_fault(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs", params={"limit": "2"}).mock(
        side_effect=responses(page([1, 2], "c2"))
    )
    second = router.get("/export/jobs/", params={"offset": "c2"}).mock(
        side_effect=responses(status(503), httpx.ReadError("reset"), page([3, 4], "c4"))
    )
    router.get("/export/jobs/", params={"offset": "c4"}).mock(
        side_effect=responses(page([5], None))
    )

    ids = [job.id async for job in client.iter_jobs(page_size=2)]

    assert ids == [1, 2, 3, 4, 5]
    assert second.call_count == 3


async def test_listing_error_carries_cursor(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs", params={"limit": "2"}).mock(
        side_effect=responses(page([1, 2], "c2"))
    )
    router.get("/export/jobs/", params={"offset": "c2"}).mock(side_effect=responses(status(500)))
    seen: list[int] = []
    jobs = client.iter_jobs(page_size=2)

    async def collect() -> None:
        async for job in jobs:
            seen.append(job.id)

    with pytest.raises(ServerError) as caught:
        await collect()

    assert seen == [1, 2]
    assert caught.value.cursor == "c2"
    assert jobs.pages.cursor == "c2"
    assert caught.value.operation == "list export jobs (page 2, offset c2)"


async def test_stalled_page_names_page(router: respx.MockRouter, sleeps: Sleeps) -> None:
    router.get("/export/jobs", params={"limit": "2"}).mock(
        side_effect=responses(page([1, 2], "c2"))
    )
    router.get("/export/jobs/", params={"offset": "c2"}).mock(
        side_effect=responses(httpx.ReadTimeout("read timed out"))
    )

    async with make_client(router, policy(sleeps)) as client:
        with pytest.raises(TransportTimeoutError) as caught:
            _ = [job async for job in client.iter_jobs(page_size=2)]

    assert caught.value.operation == "list export jobs (page 2, offset c2)"
    assert caught.value.attempts == 4
    assert caught.value.cursor == "c2"


async def test_not_found_page_not_retried(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs", params={"limit": "2"}).mock(
        side_effect=responses(status(404))
    )

    with pytest.raises(NotFoundError):
        await client.list_page(limit=2)

    assert route.call_count == 1


# ---------------------------------------------------------------------------------------------
# Failures that a new attempt cannot fix


async def test_local_protocol_error_not_retried(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get(JOB_PATH).mock(
        side_effect=httpx.LocalProtocolError("Illegal header value b'Bearer token-123\\n'")
    )

    with pytest.raises(TransportError) as caught:
        await client.get(722)

    assert route.call_count == 1
    assert str(caught.value) == (
        "get export job 722 failed: the request could not be sent (LocalProtocolError)"
    )
    assert "token-123" not in str(caught.value)


class BadTokenProvider:
    """A token provider that returns a token with a trailing newline."""

    async def get_token(self) -> str:
        return "token-123\n"


async def test_bad_provider_token_not_sent(router: respx.MockRouter, sleeps: Sleeps) -> None:
    route = router.get(JOB_PATH).mock(side_effect=responses(httpx.Response(200, content=JOB)))

    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token=BadTokenProvider(),
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        retry=policy(sleeps),
    ) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.get(722)

    assert route.call_count == 0
    assert caught.value.problems == [
        "the token provider BadTokenProvider returned a token that is empty, or has "
        "whitespace at its ends or characters that are not printable ASCII; nothing was sent"
    ]
