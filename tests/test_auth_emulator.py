"""OAuth server-to-server against the emulator's IMS endpoint, and no secret in any output."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import anyio
import pytest

from aep_jobs import (
    AuthenticationError,
    ExportJobsClient,
    NotFoundError,
    OAuthServerToServer,
    RetryPolicy,
    TokenError,
)
from aep_jobs.cli import main
from aep_jobs.emulator import (
    IN_PROCESS_BASE_URL,
    IN_PROCESS_IMS_URL,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultRule,
    serve,
)

pytestmark = pytest.mark.anyio

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
CLIENT_ID = "export-service-client"
SECRET = "p8e-EMULATED-secret-value"


class FakeClock:
    """A clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    emulator = Emulator(
        EmulatorConfig(
            clock=clock,
            ims_clients={CLIENT_ID: SECRET},
            require_issued_tokens=True,
            token_lifetime=3_600,
        )
    )
    emulator.seed(250)
    return emulator


def oauth_client(emulator: Emulator, secret: str = SECRET) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key=CLIENT_ID,
        sandbox="prod",
        client_secret=secret,
        scopes="openid,AdobeID,read_organizations",
        ims_url=IN_PROCESS_IMS_URL,
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
        retry=RetryPolicy(sleep=no_sleep),
    )


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[ExportJobsClient]:
    async with oauth_client(emulator) as client:
        yield client


async def test_token_from_emulated_ims(emulator: Emulator, client: ExportJobsClient) -> None:
    ids = [job.id async for job in client.iter_jobs()]

    assert ids == emulator.job_ids()
    assert emulator.token_requests == 1
    assert emulator.tokens_issued == 1


async def test_thousand_calls_one_token(emulator: Emulator, client: ExportJobsClient) -> None:
    job_id = emulator.job_ids()[0]

    async def call() -> None:
        await client.get(job_id)

    async with anyio.create_task_group() as group:
        for _ in range(1_000):
            group.start_soon(call)

    assert emulator.token_requests == 1


async def test_revoked_token_renewed_once(emulator: Emulator, client: ExportJobsClient) -> None:
    job_id = emulator.job_ids()[0]
    await client.get(job_id)
    emulator.revoke_tokens()

    job = await client.get(job_id)

    assert job.id == job_id
    assert emulator.token_requests == 2


async def test_expired_token_renewed_before_use(
    emulator: Emulator, client: ExportJobsClient, clock: FakeClock
) -> None:
    await client.get(emulator.job_ids()[0])
    # The emulator's tokens expire by its clock; the client renews by its own monotonic clock,
    # so moving the emulator's clock past expiry makes the API reject the cached token.
    clock.now += 3_601

    await client.get(emulator.job_ids()[0])

    assert emulator.token_requests == 2


async def test_wrong_secret_is_token_error(emulator: Emulator) -> None:
    async with oauth_client(emulator, secret="not-the-secret") as client:
        with pytest.raises(TokenError) as caught:
            await client.get(1)

    assert caught.value.status_code == 401
    assert caught.value.error == "invalid_client"
    assert "not-the-secret" not in str(caught.value)


async def test_ims_outage_is_token_error(emulator: Emulator, client: ExportJobsClient) -> None:
    emulator.inject(FaultRule(Fault.status(503), route="/ims/token/v3"))

    with pytest.raises(TokenError) as caught:
        await client.get(1)

    assert caught.value.status_code == 503
    assert emulator.token_requests == 4


async def test_unknown_token_rejected_by_api(emulator: Emulator) -> None:
    async with ExportJobsClient(
        org_id=ORG_ID,
        api_key=CLIENT_ID,
        sandbox="prod",
        token="made-up-token",
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get(1)

    assert caught.value.status_code == 401
    assert caught.value.code == "401013"


async def test_over_loopback_with_ims() -> None:
    emulator = Emulator(EmulatorConfig(ims_clients={CLIENT_ID: SECRET}, require_issued_tokens=True))
    emulator.seed(120)
    with serve(emulator) as server:
        async with ExportJobsClient(
            org_id=ORG_ID,
            api_key=CLIENT_ID,
            sandbox="prod",
            client_secret=SECRET,
            ims_url=server.ims_url,
            base_url=server.base_url,
        ) as client:
            ids = [job.id async for job in client.iter_jobs(page_size=50)]

    assert ids == emulator.job_ids()
    assert emulator.token_requests == 1


async def test_no_secret_in_any_output(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.inject(FaultRule(Fault.status(503), method="GET", route="/export/jobs", limit=1))
    provider = OAuthServerToServer(
        CLIENT_ID,
        SECRET,
        ims_url=IN_PROCESS_IMS_URL,
        transport=emulator.transport(),
        retry=RetryPolicy(sleep=no_sleep),
    )
    client = ExportJobsClient(
        org_id=ORG_ID,
        api_key=CLIENT_ID,
        sandbox="prod",
        token=provider,
        base_url=IN_PROCESS_BASE_URL,
        transport=emulator.transport(),
        retry=RetryPolicy(sleep=no_sleep),
    )
    texts: list[str] = [repr(client), str(client.settings), repr(provider)]
    tokens: list[str] = []

    async with client:
        jobs = [job async for job in client.iter_jobs(page_size=100)]
        tokens.append(await provider.get_token())
        created = await client.create(
            {"destination": {"datasetId": "d1"}, "schema": {"name": "_xdm.context.profile"}}
        )
        await client.cancel(created.id)
        emulator.revoke_tokens()
        await client.get(created.id)
        tokens.append(await provider.get_token())
        with pytest.raises(NotFoundError) as not_found:
            await client.get(987654321)
    texts.append(str(not_found.value))
    async with oauth_client(emulator, secret="wrong-secret-value") as bad:
        with pytest.raises(TokenError) as refused:
            await bad.get(1)
    texts.append(str(refused.value))
    texts.extend(record.getMessage() for record in caplog.records)

    assert len(jobs) == 250
    assert len(set(tokens)) == 2
    assert len(caplog.records) > 10
    for text in texts:
        assert SECRET not in text
        assert "wrong-secret-value" not in text
        for token in tokens:
            assert token not in text


def test_cli_output_has_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEP_ORG_ID", ORG_ID)
    monkeypatch.setenv("AEP_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AEP_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AEP_SANDBOX", "prod")
    monkeypatch.setenv("AEP_BASE_URL", "http://127.0.0.1:9/data/core/ups")
    monkeypatch.setenv("AEP_IMS_URL", "http://127.0.0.1:9/ims/token/v3")
    monkeypatch.delenv("AEP_ACCESS_TOKEN", raising=False)

    # Port 9 (discard) has no listener here: the token request fails to connect.
    code = main(["--verbose", "get", "1"])

    captured = capsys.readouterr()
    assert code == 1
    assert "Could not request an access token from Adobe IMS" in captured.err
    assert SECRET not in captured.err
    assert SECRET not in captured.out
