"""Issued tokens at the API gateway, token endpoint counters, faults and load on the endpoint."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
import pytest

from aep_jobs.emulator import (
    IN_PROCESS_IMS_URL,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultRule,
    LostResponse,
    RateLimit,
    serve,
)

from .helpers import HEADERS, FakeClock, Target, api_client

pytestmark = pytest.mark.anyio

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "test-client-id",
    "client_secret": "test-client-secret",
    "scope": "openid,AdobeID,read_organizations",
}
TOKEN_NOT_VALID = {"error_code": "401013", "message": "Oauth token is not valid"}
IMS_ROUTE = "/ims/token/v3"
DISCONNECTED = "^Server disconnected without sending a response.$"


def _checking(clock: FakeClock, **settings: Any) -> Emulator:
    """Return an emulator whose API accepts only issued tokens, plus any ``access_tokens``."""
    return Emulator(EmulatorConfig(clock=clock, require_issued_tokens=True, **settings))


async def _fetch_token(client: httpx.AsyncClient, url: str = IN_PROCESS_IMS_URL) -> str:
    response = await client.post(url, data=TOKEN_FORM)
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


async def _list_with(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/export/jobs", headers={"Authorization": f"Bearer {token}"})


async def test_issued_token_is_accepted(clock: FakeClock) -> None:
    emulator = _checking(clock)
    with serve(emulator) as server:
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
            token = await _fetch_token(client, server.ims_url)
            accepted = await _list_with(client, token)
            unknown = await _list_with(client, "test-token")

    assert accepted.status_code == 200
    assert unknown.status_code == 401
    assert unknown.json() == TOKEN_NOT_VALID


async def test_unknown_token_is_rejected(clock: FakeClock) -> None:
    emulator = _checking(clock)
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 401
    assert response.json() == TOKEN_NOT_VALID


async def test_token_expires_on_clock(clock: FakeClock) -> None:
    emulator = _checking(clock, token_lifetime=60)
    async with api_client(emulator) as client:
        token = await _fetch_token(client)
        clock.advance(59.9)
        before_expiry = await _list_with(client, token)
        clock.advance(0.1)
        at_expiry = await _list_with(client, token)

    assert before_expiry.status_code == 200
    assert at_expiry.status_code == 401
    assert at_expiry.json() == TOKEN_NOT_VALID


async def test_issue_token_uses_own_lifetime(clock: FakeClock) -> None:
    emulator = _checking(clock)
    token = emulator.issue_token(lifetime=10)
    async with api_client(emulator) as client:
        clock.advance(9)
        valid = await _list_with(client, token)
        clock.advance(1)
        expired = await _list_with(client, token)

    assert valid.status_code == 200
    assert expired.status_code == 401
    assert emulator.tokens_issued == 0


async def test_issue_token_defaults_to_config_lifetime(clock: FakeClock) -> None:
    emulator = _checking(clock, token_lifetime=120)
    token = emulator.issue_token()
    async with api_client(emulator) as client:
        clock.advance(119)
        valid = await _list_with(client, token)
        clock.advance(1)
        expired = await _list_with(client, token)

    assert (valid.status_code, expired.status_code) == (200, 401)


async def test_revoke_rejects_every_issued_token(clock: FakeClock) -> None:
    emulator = _checking(clock)
    async with api_client(emulator) as client:
        tokens = [await _fetch_token(client), await _fetch_token(client), emulator.issue_token()]
        before = [(await _list_with(client, token)).status_code for token in tokens]
        emulator.revoke_tokens()
        after = [await _list_with(client, token) for token in tokens]
        renewed = await _list_with(client, await _fetch_token(client))

    assert before == [200, 200, 200]
    assert [response.status_code for response in after] == [401, 401, 401]
    assert all(response.json() == TOKEN_NOT_VALID for response in after)
    assert renewed.status_code == 200


async def test_static_tokens_stay_valid(clock: FakeClock) -> None:
    emulator = _checking(clock, access_tokens={"static-token"})
    async with api_client(emulator) as client:
        issued = await _fetch_token(client)
        statuses = [
            (await _list_with(client, token)).status_code
            for token in ("static-token", issued, "other-token")
        ]
        emulator.revoke_tokens()
        static_after_revoke = await _list_with(client, "static-token")
        issued_after_revoke = await _list_with(client, issued)

    assert statuses == [200, 200, 401]
    assert static_after_revoke.status_code == 200
    assert issued_after_revoke.status_code == 401


async def test_access_tokens_also_accept_issued(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, access_tokens={"static-token"}))
    async with api_client(emulator) as client:
        issued = await _list_with(client, await _fetch_token(client))
        other = await _list_with(client, "other-token")

    assert issued.status_code == 200
    assert other.status_code == 401


async def test_any_token_accepted_without_checks(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        token = await _fetch_token(client)
        emulator.revoke_tokens()
        revoked = await _list_with(client, token)
        unknown = await _list_with(client, "never-issued")

    assert revoked.status_code == 200
    assert unknown.status_code == 200


async def test_token_counters_are_exact(emulator: Emulator) -> None:
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        for _ in range(3):
            await client.post(IN_PROCESS_IMS_URL, data=TOKEN_FORM)
        await client.post(IN_PROCESS_IMS_URL, data={**TOKEN_FORM, "grant_type": "password"})
        await client.post(IN_PROCESS_IMS_URL, json=TOKEN_FORM)
        await client.get(IN_PROCESS_IMS_URL)
    emulator.issue_token()

    assert emulator.token_requests == 6
    assert emulator.tokens_issued == 3
    assert emulator.stats.requests == {("POST", IMS_ROUTE): 5, ("GET", IMS_ROUTE): 1}


async def test_status_fault_fires_on_token_route(target: Target) -> None:
    emulator = target.emulator
    rule = emulator.inject(FaultRule(Fault.status(503), route=IMS_ROUTE, requests={1}))
    async with target.plain_client() as client:
        faulted = await client.post(target.ims_url, data=TOKEN_FORM)
        issued = await client.post(target.ims_url, data=TOKEN_FORM)

    assert faulted.status_code == 503
    assert faulted.json() == {
        "error": "temporarily_unavailable",
        "error_description": "the token endpoint responded 503 Service Unavailable",
    }
    assert issued.status_code == 200
    assert rule.fired == 1
    assert emulator.token_requests == 2
    assert emulator.tokens_issued == 1
    assert [record.fault for record in emulator.request_log] == ["status", None]


@pytest.mark.parametrize(
    ("fault", "status", "body", "retry_after"),
    [
        (
            Fault.status(429, retry_after=3),
            429,
            {
                "error": "too_many_requests",
                "error_description": "the token endpoint responded 429 Too Many Requests",
            },
            "3",
        ),
        (
            Fault.status(500),
            500,
            {
                "error": "server_error",
                "error_description": "the token endpoint responded 500 Internal Server Error",
            },
            None,
        ),
        (
            Fault.status(502),
            502,
            {
                "error": "server_error",
                "error_description": "the token endpoint responded 502 Bad Gateway",
            },
            None,
        ),
        (
            Fault.status(400, body={"error": "invalid_request", "error_description": "custom"}),
            400,
            {"error": "invalid_request", "error_description": "custom"},
            None,
        ),
    ],
)
async def test_status_fault_body_on_token_route(
    emulator: Emulator,
    fault: Fault,
    status: int,
    body: dict[str, str],
    retry_after: str | None,
) -> None:
    emulator.inject(FaultRule(fault, method="POST", route=IMS_ROUTE))
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        response = await client.post(IN_PROCESS_IMS_URL, data=TOKEN_FORM)

    assert response.status_code == status
    assert response.json() == body
    assert response.headers.get("retry-after") == retry_after
    assert emulator.tokens_issued == 0


async def test_reset_on_token_route_issues_nothing(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.reset(), route=IMS_ROUTE))
    async with target.plain_client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            await client.post(target.ims_url, data=TOKEN_FORM)

    assert emulator.token_requests == 1
    assert emulator.tokens_issued == 0
    assert emulator.lost_responses == []


async def test_reset_after_issue_loses_token(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.reset(after_processing=True), route=IMS_ROUTE))
    async with target.plain_client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match=DISCONNECTED):
            await client.post(target.ims_url, data=TOKEN_FORM, headers={"x-request-id": "r1"})

    assert emulator.tokens_issued == 1
    assert emulator.lost_responses == [
        LostResponse("POST", IMS_ROUTE, IMS_ROUTE, None, "r1", "reset")
    ]


async def test_stall_on_token_route_times_out(target: Target) -> None:
    emulator = target.emulator
    emulator.inject(FaultRule(Fault.stall(5), route=IMS_ROUTE, limit=1))
    async with target.plain_client(timeout=httpx.Timeout(5.0, read=0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(target.ims_url, data=TOKEN_FORM)
        retried = await client.post(target.ims_url, data=TOKEN_FORM)

    assert retried.status_code == 200
    assert emulator.token_requests == 2
    assert emulator.tokens_issued == 1


async def test_rule_without_route_spares_token_route(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503)))
    async with api_client(emulator) as client:
        token = await client.post(IN_PROCESS_IMS_URL, data=TOKEN_FORM)
        listing = await client.get("/export/jobs")

    assert token.status_code == 200
    assert listing.status_code == 503
    assert rule.matched == 1


async def test_token_route_rule_spares_api(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), method="POST", route=IMS_ROUTE))
    async with api_client(emulator) as client:
        listing = await client.get("/export/jobs")
        token = await client.post(IN_PROCESS_IMS_URL, data=TOKEN_FORM)

    assert listing.status_code == 200
    assert token.status_code == 503
    assert rule.matched == 1


async def test_wrong_method_gets_no_fault(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.status(503), route=IMS_ROUTE))
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        response = await client.get(IN_PROCESS_IMS_URL)

    assert response.status_code == 405
    assert rule.matched == 0


async def test_rate_limit_spares_token_route(clock: FakeClock) -> None:
    rate_limit = RateLimit(per_second=0.001, burst=1)
    emulator = Emulator(EmulatorConfig(clock=clock, rate_limit=rate_limit))
    async with api_client(emulator) as client:
        tokens = [await client.post(IN_PROCESS_IMS_URL, data=TOKEN_FORM) for _ in range(3)]
        listings = [await client.get("/export/jobs") for _ in range(2)]

    assert [response.status_code for response in tokens] == [200, 200, 200]
    assert [response.status_code for response in listings] == [200, 429]
    assert emulator.stats.rate_limited == 1


async def test_concurrent_token_requests_all_counted(emulator: Emulator) -> None:
    count = 1_000
    tokens: list[str] = []
    async with httpx.AsyncClient(transport=emulator.transport()) as client:

        async def request_token() -> None:
            tokens.append(await _fetch_token(client))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                for _ in range(count):
                    tasks.start_soon(request_token)

    assert len(tokens) == count
    assert len(set(tokens)) == count
    assert emulator.token_requests == count
    assert emulator.tokens_issued == count
    assert emulator.stats.in_flight == 0


async def test_tokens_issued_across_threads(clock: FakeClock) -> None:
    emulator = _checking(clock)
    direct_tokens: list[str] = []

    def issue_directly() -> None:
        for _ in range(200):
            direct_tokens.append(emulator.issue_token())

    with serve(emulator) as server:
        thread = threading.Thread(target=issue_directly)
        thread.start()
        async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as client:
            with anyio.fail_after(30):
                async with anyio.create_task_group() as tasks:
                    for _ in range(100):
                        tasks.start_soon(_fetch_token, client, server.ims_url)
            await anyio.to_thread.run_sync(thread.join, 10)
            checks = [await _list_with(client, token) for token in direct_tokens[::50]]

    assert not thread.is_alive()
    assert emulator.token_requests == 100
    assert emulator.tokens_issued == 100
    assert len(set(direct_tokens)) == 200
    assert [response.status_code for response in checks] == [200, 200, 200, 200]
