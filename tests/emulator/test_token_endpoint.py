"""The IMS token endpoint: issued tokens, OAuth 2.0 errors, logs without secrets, settings."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from aep_jobs.emulator import (
    IN_PROCESS_IMS_URL,
    Emulator,
    EmulatorConfig,
    serve,
)

from .helpers import FakeClock, Target

pytestmark = pytest.mark.anyio

CLIENT_ID = "test-client-id"
SECRET = "p8e-secret-value-2b9f41"
WRONG_SECRET = "p8e-wrong-secret-77c0de"
SCOPES = "openid,AdobeID,read_organizations"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def token_form(**changes: str | None) -> dict[str, str]:
    """Return a valid token request form, with parameters changed, or removed when None."""
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": SCOPES,
    }
    for name, value in changes.items():
        if value is None:
            del form[name]
        else:
            form[name] = value
    return form


def ims_client(emulator: Emulator) -> httpx.AsyncClient:
    """Return a client with no default headers, sending requests to ``emulator`` in-process."""
    return httpx.AsyncClient(transport=emulator.transport())


@pytest.fixture
def strict_emulator(clock: FakeClock) -> Emulator:
    """An emulator that accepts one client and three scopes."""
    config = EmulatorConfig(
        clock=clock,
        ims_clients={CLIENT_ID: SECRET},
        ims_scopes=frozenset(SCOPES.split(",")),
    )
    return Emulator(config)


async def test_token_is_issued(target: Target) -> None:
    async with target.plain_client() as client:
        response = await client.post(target.ims_url, data=token_form())

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert type(body["expires_in"]) is int
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["access_token"])
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert target.emulator.tokens_issued == 1
    assert target.emulator.token_requests == 1


async def test_each_request_gets_new_token(strict_emulator: Emulator) -> None:
    async with ims_client(strict_emulator) as client:
        first = await client.post(IN_PROCESS_IMS_URL, data=token_form())
        second = await client.post(IN_PROCESS_IMS_URL, data=token_form())

    assert first.json()["access_token"] != second.json()["access_token"]
    assert strict_emulator.tokens_issued == 2


async def test_expires_in_is_whole_seconds(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, token_lifetime=3600.9))
    async with ims_client(emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, data=token_form())

    assert response.json()["expires_in"] == 3600


async def test_any_client_accepted_by_default(emulator: Emulator) -> None:
    form = token_form(client_id="any-client", client_secret="any-secret", scope="any_scope")
    async with ims_client(emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, data=form)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("changes", "content_type"),
    [
        pytest.param({}, "application/x-www-form-urlencoded; charset=UTF-8", id="charset"),
        pytest.param({"scope": " openid , AdobeID ,"}, None, id="scope-spaces"),
        pytest.param({"redirect_uri": "http://127.0.0.1/cb"}, None, id="unknown-parameter"),
    ],
)
async def test_form_variant_is_accepted(
    strict_emulator: Emulator, changes: dict[str, str], content_type: str | None
) -> None:
    headers = {"Content-Type": content_type or FORM_TYPE["Content-Type"]}
    content = urlencode(token_form(**changes)).encode("ascii")
    async with ims_client(strict_emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, content=content, headers=headers)

    assert response.status_code == 200
    assert strict_emulator.tokens_issued == 1


def _invalid_request(description: str) -> dict[str, str]:
    return {"error": "invalid_request", "error_description": description}


NOT_A_FORM = _invalid_request(
    "the request body is not valid application/x-www-form-urlencoded data"
)
VALID_FORM = urlencode(token_form())

TOKEN_ERRORS = [
    pytest.param(
        {"json": token_form()},
        400,
        _invalid_request(
            "Content-Type must be application/x-www-form-urlencoded, got application/json"
        ),
        id="json-body",
    ),
    pytest.param(
        {"content": VALID_FORM.encode("ascii")},
        400,
        _invalid_request("Content-Type must be application/x-www-form-urlencoded, got none"),
        id="no-content-type",
    ),
    pytest.param(
        {"content": b'{"grant_type": "client_credentials"}', "headers": FORM_TYPE},
        400,
        NOT_A_FORM,
        id="json-as-form",
    ),
    pytest.param(
        {"content": VALID_FORM.encode("ascii") + b"&scope\xff=1", "headers": FORM_TYPE},
        400,
        NOT_A_FORM,
        id="body-not-utf8",
    ),
    pytest.param(
        {"content": VALID_FORM.encode("ascii") + b"&note=%FF", "headers": FORM_TYPE},
        400,
        NOT_A_FORM,
        id="escape-not-utf8",
    ),
    pytest.param(
        {"content": (VALID_FORM + "&client_id=other").encode("ascii"), "headers": FORM_TYPE},
        400,
        _invalid_request("repeated client_id parameter"),
        id="repeated-client-id",
    ),
    pytest.param(
        {"data": token_form(grant_type=None)},
        400,
        {
            "error": "unsupported_grant_type",
            "error_description": "grant_type must be client_credentials",
        },
        id="grant-type-missing",
    ),
    pytest.param(
        {"data": token_form(grant_type="password")},
        400,
        {
            "error": "unsupported_grant_type",
            "error_description": "grant_type must be client_credentials",
        },
        id="grant-type-password",
    ),
    pytest.param(
        {"data": token_form(client_id=None)},
        400,
        {"error": "invalid_client", "error_description": "invalid client_id parameter"},
        id="client-id-missing",
    ),
    pytest.param(
        {"data": token_form(client_id="other-client-id")},
        400,
        {"error": "invalid_client", "error_description": "invalid client_id parameter"},
        id="client-id-unknown",
    ),
    pytest.param(
        {"data": token_form(client_secret=None)},
        401,
        {"error": "invalid_client", "error_description": "invalid client_secret parameter"},
        id="secret-missing",
    ),
    pytest.param(
        {"data": token_form(client_secret=WRONG_SECRET)},
        401,
        {"error": "invalid_client", "error_description": "invalid client_secret parameter"},
        id="secret-wrong",
    ),
    pytest.param(
        {"data": token_form(scope=None)},
        400,
        {"error": "invalid_scope", "error_description": "missing scope parameter"},
        id="scope-missing",
    ),
    pytest.param(
        {"data": token_form(scope=" , ")},
        400,
        {"error": "invalid_scope", "error_description": "missing scope parameter"},
        id="scope-empty",
    ),
    pytest.param(
        {"data": token_form(scope="openid,read_profiles,write_all")},
        400,
        {
            "error": "invalid_scope",
            "error_description": "invalid scope: read_profiles, write_all not allowed",
        },
        id="scope-not-allowed",
    ),
]


@pytest.mark.parametrize(("request_settings", "status", "body"), TOKEN_ERRORS)
async def test_token_request_error(
    strict_emulator: Emulator, request_settings: dict[str, Any], status: int, body: dict[str, str]
) -> None:
    async with ims_client(strict_emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, **request_settings)

    assert response.status_code == status
    assert response.json() == body
    assert SECRET not in response.text
    assert WRONG_SECRET not in response.text
    assert strict_emulator.tokens_issued == 0
    assert strict_emulator.token_requests == 1


async def test_token_error_over_socket(strict_emulator: Emulator) -> None:
    with serve(strict_emulator) as server:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                server.ims_url, data=token_form(client_secret=WRONG_SECRET)
            )

    assert server.ims_url == f"http://127.0.0.1:{server.port}/ims/token/v3"
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "invalid client_secret parameter",
    }


async def test_oversized_form_is_413(strict_emulator: Emulator) -> None:
    form = token_form(note="x" * (64 * 1024))
    async with ims_client(strict_emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, data=form)

    assert response.status_code == 413
    assert response.json() == _invalid_request("the request body is larger than 65536 bytes")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_wrong_method_is_405(strict_emulator: Emulator, method: str) -> None:
    async with ims_client(strict_emulator) as client:
        response = await client.request(method, IN_PROCESS_IMS_URL)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == _invalid_request(
        f"method {method} is not allowed on the token endpoint, use POST"
    )
    assert strict_emulator.token_requests == 1


@pytest.mark.parametrize("path", ["/ims/token/v3/", "/ims/token/v2", "/ims/token"])
async def test_other_token_paths_are_404(strict_emulator: Emulator, path: str) -> None:
    async with ims_client(strict_emulator) as client:
        response = await client.post(f"http://127.0.0.1{path}", data=token_form())

    assert response.status_code == 404
    assert strict_emulator.token_requests == 0


async def test_token_request_needs_no_gateway_headers(strict_emulator: Emulator) -> None:
    async with ims_client(strict_emulator) as client:
        response = await client.post(IN_PROCESS_IMS_URL, data=token_form())

    assert "authorization" not in response.request.headers
    assert "x-api-key" not in response.request.headers
    assert response.status_code == 200


def test_in_process_ims_url() -> None:
    assert IN_PROCESS_IMS_URL == "http://127.0.0.1/ims/token/v3"


async def test_logs_name_outcome_without_secrets(
    strict_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="aep_jobs.emulator"):
        async with ims_client(strict_emulator) as client:
            issued = await client.post(
                IN_PROCESS_IMS_URL, data=token_form(), headers={"x-request-id": "req-1"}
            )
            await client.post(
                IN_PROCESS_IMS_URL,
                data=token_form(client_secret=WRONG_SECRET),
                headers={"x-request-id": "req-2"},
            )
            # A client that puts its credentials in the query string.
            await client.post(
                IN_PROCESS_IMS_URL,
                params=token_form(),
                headers={"x-request-id": "req-3"},
            )

    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "aep_jobs.emulator" and "->" not in record.getMessage()
    ]
    assert messages == [
        "Issued an access token to client test-client-id, valid for 86399 s (request id req-1)",
        "Rejected a token request with invalid_client: invalid client_secret parameter "
        "(request id req-2)",
        "Rejected a token request with invalid_request: Content-Type must be "
        "application/x-www-form-urlencoded, got none (request id req-3)",
    ]
    assert all(record.levelno == logging.DEBUG for record in caplog.records)
    assert SECRET not in caplog.text
    assert WRONG_SECRET not in caplog.text
    assert issued.json()["access_token"] not in caplog.text


async def test_request_log_drops_token_query(strict_emulator: Emulator) -> None:
    async with ims_client(strict_emulator) as client:
        await client.post(IN_PROCESS_IMS_URL, params=token_form())

    [record] = strict_emulator.request_log
    assert record.path == "/ims/token/v3"
    assert record.route == "/ims/token/v3"
    assert record.status == 400


def test_config_repr_hides_client_secrets() -> None:
    config = EmulatorConfig(ims_clients={CLIENT_ID: SECRET}, ims_scopes={"openid"})

    assert SECRET not in repr(config)
    assert "ims_scopes=frozenset({'openid'})" in repr(config)
    assert hash(config) == hash(config)


def test_config_copies_clients() -> None:
    clients = {CLIENT_ID: SECRET}
    config = EmulatorConfig(ims_clients=clients)
    clients["late-client"] = "late-secret"

    assert config.ims_clients is not None
    assert dict(config.ims_clients) == {CLIENT_ID: SECRET}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"token_lifetime": 0.5},
            "token_lifetime must be a finite number of seconds >= 1, because expires_in is "
            "sent in whole seconds, got 0.5",
        ),
        (
            {"token_lifetime": float("inf")},
            "token_lifetime must be a finite number of seconds >= 1, because expires_in is "
            "sent in whole seconds, got inf",
        ),
        (
            {"ims_clients": {"": SECRET}},
            "ims_clients has an empty or non-string client id: ''",
        ),
        (
            {"ims_clients": {CLIENT_ID: ""}},
            "ims_clients has an empty or non-string secret for client 'test-client-id'",
        ),
        (
            {"ims_scopes": set()},
            "ims_scopes must be None or a non-empty set, got an empty set",
        ),
        (
            {"ims_scopes": {"openid,AdobeID"}},
            "ims_scopes must contain non-empty scope names without commas or surrounding "
            "spaces, got 'openid,AdobeID'",
        ),
        (
            {"ims_scopes": {" openid"}},
            "ims_scopes must contain non-empty scope names without commas or surrounding "
            "spaces, got ' openid'",
        ),
    ],
)
def test_invalid_ims_setting_is_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        EmulatorConfig(**settings)


@pytest.mark.parametrize("lifetime", [0, -1.0, float("nan"), float("inf")])
def test_issue_token_rejects_bad_lifetime(lifetime: float) -> None:
    message = f"lifetime must be a finite number of seconds > 0, got {lifetime!r}"

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Emulator().issue_token(lifetime)
