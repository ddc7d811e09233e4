"""The gateway's header checks, their order and error bodies, and request ids."""

from __future__ import annotations

import re

import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import HEADERS, FakeClock, api_client

pytestmark = pytest.mark.anyio


def _headers_without(name: str) -> dict[str, str]:
    return {key: value for key, value in HEADERS.items() if key != name}


def _headers_with(name: str, value: str) -> dict[str, str]:
    return {**HEADERS, name: value}


GATEWAY_ERRORS = [
    pytest.param(
        _headers_without("Authorization"),
        403,
        {"error_code": "403010", "message": "Oauth token is missing."},
        id="authorization-missing",
    ),
    pytest.param(
        _headers_with("Authorization", "Basic dXNlcjpwYXNz"),
        403,
        {"error_code": "403010", "message": "Oauth token is missing."},
        id="authorization-not-bearer",
    ),
    pytest.param(
        _headers_with("Authorization", "Bearer "),
        403,
        {"error_code": "403010", "message": "Oauth token is missing."},
        id="bearer-token-empty",
    ),
    pytest.param(
        _headers_with("Authorization", "Bearer other-token"),
        401,
        {"error_code": "401013", "message": "Oauth token is not valid"},
        id="token-not-accepted",
    ),
    pytest.param(
        _headers_without("x-api-key"),
        403,
        {"error_code": "403000", "message": "Api Key is required"},
        id="api-key-missing",
    ),
    pytest.param(
        _headers_with("x-api-key", "other-client-id"),
        403,
        {"error_code": "403003", "message": "Api Key is invalid"},
        id="api-key-unknown",
    ),
    pytest.param(
        _headers_without("x-gw-ims-org-id"),
        400,
        {"error_code": "400003", "message": "Required header x-gw-ims-org-id is missing."},
        id="org-id-missing",
    ),
    pytest.param(
        _headers_without("x-sandbox-name"),
        400,
        {"error_code": "400003", "message": "Required header x-sandbox-name is missing."},
        id="sandbox-missing",
    ),
    pytest.param(
        {"x-api-key": "other-client-id"},
        403,
        {"error_code": "403010", "message": "Oauth token is missing."},
        id="token-checked-before-api-key",
    ),
    pytest.param(
        {"Authorization": "Bearer test-token"},
        403,
        {"error_code": "403000", "message": "Api Key is required"},
        id="api-key-checked-before-org-id",
    ),
]


@pytest.fixture
def strict_emulator(clock: FakeClock) -> Emulator:
    config = EmulatorConfig(clock=clock, access_tokens={"test-token"}, api_keys={"test-client-id"})
    return Emulator(config)


@pytest.mark.parametrize(("headers", "status", "body"), GATEWAY_ERRORS)
async def test_gateway_error(
    strict_emulator: Emulator, headers: dict[str, str], status: int, body: dict[str, str]
) -> None:
    async with api_client(strict_emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == status
    assert response.json() == body


async def test_gateway_checks_every_route(strict_emulator: Emulator) -> None:
    headers = _headers_without("Authorization")
    async with api_client(strict_emulator, headers) as client:
        responses = [
            await client.get("/export/jobs/1"),
            await client.delete("/export/jobs/1"),
            await client.post("/export/jobs", json={}),
        ]

    assert [response.status_code for response in responses] == [403, 403, 403]


async def test_configured_credentials_are_accepted(strict_emulator: Emulator) -> None:
    async with api_client(strict_emulator) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 200


async def test_any_credentials_accepted_by_default(emulator: Emulator) -> None:
    headers = {
        **HEADERS,
        "Authorization": "Bearer anything",
        "x-api-key": "any-client-id",
        "x-gw-ims-org-id": "0000000000000000000000AB@AdobeOrg",
    }
    async with api_client(emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 200


async def test_bearer_scheme_is_case_insensitive(strict_emulator: Emulator) -> None:
    headers = _headers_with("Authorization", "bearer test-token")
    async with api_client(strict_emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 200


async def test_request_id_is_echoed(emulator: Emulator) -> None:
    headers = {**HEADERS, "x-request-id": "d995479c-8a08-4240-903b-af469c67be1f"}
    async with api_client(emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.headers["x-request-id"] == "d995479c-8a08-4240-903b-af469c67be1f"


async def test_request_id_is_generated_when_absent(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        first = await client.get("/export/jobs")
        second = await client.get("/export/jobs")

    uuid_pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(uuid_pattern, first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_gateway_error_has_request_id(emulator: Emulator) -> None:
    headers = {**_headers_without("Authorization"), "x-request-id": "req-403"}
    async with api_client(emulator, headers) as client:
        response = await client.get("/export/jobs")

    assert response.headers["x-request-id"] == "req-403"


def test_config_repr_hides_credentials() -> None:
    config = EmulatorConfig(access_tokens={"secret-token"}, api_keys={"secret-key"})

    assert "secret-token" not in repr(config)
    assert "secret-key" not in repr(config)
