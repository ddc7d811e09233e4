"""Token providers: static, callback and IMS OAuth, renewal, single flight and 401 handling."""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from aep_jobs import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ExportJobsClient,
    OAuthServerToServer,
    RetryPolicy,
    Settings,
    StaticToken,
    TokenCallback,
    TokenError,
)

pytestmark = pytest.mark.anyio

BASE_URL = "https://platform.adobe.io/data/core/ups"
IMS_URL = "https://ims-na1.adobelogin.com/ims/token/v3"
ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"
CLIENT_ID = "client-id-1234"
SECRET = "p8e-SECRET-do-not-print"
JOB = {"id": 722, "status": "NEW"}


class FakeClock:
    """A clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Ims:
    """A respx stand-in for Adobe IMS that issues numbered tokens."""

    def __init__(self, router: respx.MockRouter, expires_in: int = 86_399) -> None:
        self.expires_in = expires_in
        self.forms: list[dict[str, str]] = []
        self.route = router.post(IMS_URL).mock(side_effect=self.issue)

    def issue(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(dict(urllib.parse.parse_qsl(request.content.decode())))
        token = f"token-{len(self.forms)}"
        return httpx.Response(
            200,
            json={"access_token": token, "token_type": "bearer", "expires_in": self.expires_in},
        )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock_router:
        yield mock_router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def oauth(clock: FakeClock, **options: Any) -> OAuthServerToServer:
    return OAuthServerToServer(
        CLIENT_ID, SECRET, "openid, AdobeID,read_organizations", clock=clock, **options
    )


def api_client(token: Any, **options: Any) -> ExportJobsClient:
    return ExportJobsClient(
        org_id=ORG_ID,
        api_key=CLIENT_ID,
        sandbox="prod",
        token=token,
        base_url=BASE_URL,
        retry=RetryPolicy(sleep=no_sleep),
        **options,
    )


async def no_sleep(seconds: float) -> None:
    return None


# ---------------------------------------------------------------------------------------------
# OAuth server-to-server


async def test_token_request_form(router: respx.MockRouter, clock: FakeClock) -> None:
    ims = Ims(router)
    provider = oauth(clock)

    token = await provider.get_token()

    assert token == "token-1"
    assert ims.forms == [
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "scope": "openid,AdobeID,read_organizations",
        }
    ]
    request = ims.route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    assert "x-api-key" not in request.headers


async def test_token_cached_until_margin(router: respx.MockRouter, clock: FakeClock) -> None:
    ims = Ims(router, expires_in=86_399)
    provider = oauth(clock)

    first = await provider.get_token()
    clock.now += 86_399 * 0.9 - 1
    cached = await provider.get_token()
    clock.now += 2
    renewed = await provider.get_token()

    assert first == cached == "token-1"
    assert renewed == "token-2"
    assert ims.route.call_count == 2


async def test_short_token_renewed_at_half(router: respx.MockRouter, clock: FakeClock) -> None:
    ims = Ims(router, expires_in=60)
    provider = oauth(clock)

    await provider.get_token()
    clock.now += 29
    await provider.get_token()
    clock.now += 2
    await provider.get_token()

    # 60 s tokens: a margin of 5 minutes would be longer than the token, so half of it is used.
    assert ims.route.call_count == 2


async def test_concurrent_callers_share_one_request(
    router: respx.MockRouter, clock: FakeClock
) -> None:
    ims = Ims(router)
    provider = oauth(clock)
    tokens: list[str] = []

    async def call() -> None:
        tokens.append(await provider.get_token())

    async with anyio.create_task_group() as group:
        for _ in range(1_000):
            group.start_soon(call)

    assert ims.route.call_count == 1
    assert tokens == ["token-1"] * 1_000


async def test_concurrent_failure_shared(router: respx.MockRouter, clock: FakeClock) -> None:
    route = router.post(IMS_URL).respond(
        401,
        json={"error": "invalid_client", "error_description": "invalid client_secret parameter"},
    )
    provider = oauth(clock)
    errors: list[TokenError] = []

    async def call() -> None:
        try:
            await provider.get_token()
        except TokenError as error:
            errors.append(error)

    async with anyio.create_task_group() as group:
        for _ in range(200):
            group.start_soon(call)

    assert route.call_count == 1
    assert len(errors) == 200


@pytest.mark.parametrize(
    ("status", "body", "hint"),
    [
        (
            401,
            {"error": "invalid_client", "error_description": "invalid client_secret parameter"},
            "check the client id and client secret of your Developer Console project",
        ),
        (
            400,
            {"error": "invalid_scope", "error_description": "invalid scope"},
            "check that the scopes match those of your Developer Console project",
        ),
        (
            400,
            {"error": "unsupported_grant_type"},
            "the credentials must be of the OAuth server-to-server type",
        ),
    ],
    ids=["client", "scope", "grant"],
)
async def test_ims_refusal_names_check(
    router: respx.MockRouter, clock: FakeClock, status: int, body: dict[str, str], hint: str
) -> None:
    router.post(IMS_URL).respond(status, json=body)
    provider = oauth(clock)

    with pytest.raises(TokenError) as caught:
        await provider.get_token()

    error = caught.value
    assert error.status_code == status
    assert error.error == body["error"]
    assert error.hint == hint
    assert str(error).startswith(
        f"Could not request an access token from Adobe IMS for client id {CLIENT_ID}: "
        "Adobe IMS rejected the token request: "
    )
    assert str(error).endswith(f"; {hint}")
    assert SECRET not in str(error)


async def test_ims_outage_retried_then_reported(router: respx.MockRouter, clock: FakeClock) -> None:
    route = router.post(IMS_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(503),
        ]
    )
    provider = OAuthServerToServer(
        CLIENT_ID, SECRET, clock=clock, retry=RetryPolicy(sleep=no_sleep)
    )

    with anyio.fail_after(30), pytest.raises(TokenError) as caught:
        await provider.get_token()

    assert route.call_count == 4
    assert caught.value.status_code == 503
    assert caught.value.hint == (
        "Adobe IMS is unavailable or throttling this integration; try again later"
    )


async def test_ims_unreachable_reported(router: respx.MockRouter, clock: FakeClock) -> None:
    router.post(IMS_URL).mock(side_effect=httpx.ConnectError("All connection attempts failed"))
    provider = oauth(clock, retry=RetryPolicy(sleep=no_sleep))

    with anyio.fail_after(30), pytest.raises(TokenError) as caught:
        await provider.get_token()

    assert caught.value.status_code is None
    assert caught.value.hint == f"check the network path to {IMS_URL}, then try again"


async def test_ims_non_token_body(router: respx.MockRouter, clock: FakeClock) -> None:
    router.post(IMS_URL).respond(200, content=b"<html>login</html>")
    provider = oauth(clock)

    with pytest.raises(TokenError) as caught:
        await provider.get_token()

    assert caught.value.status_code == 200
    assert "is not a token" in str(caught.value)


def test_oauth_arguments_checked() -> None:
    with pytest.raises(ConfigurationError) as caught:
        OAuthServerToServer("", f"{SECRET}\n", [], ims_url="http://ims.example/ims/token/v3")

    problems = caught.value.problems
    assert problems[0].startswith("client_id is empty")
    assert problems[1].startswith("client_secret is empty, not a string, or has whitespace")
    assert problems[2].startswith("scopes is empty")
    assert problems[3].startswith("ims_url 'http://ims.example/ims/token/v3' uses plain http")
    assert SECRET not in str(caught.value)


def test_oauth_repr_hides_secret(clock: FakeClock) -> None:
    text = repr(oauth(clock))

    assert SECRET not in text
    assert "client_secret=<hidden>" in text


def test_insecure_tls_warns(caplog: pytest.LogCaptureFixture, clock: FakeClock) -> None:
    caplog.set_level(logging.WARNING, logger="aep_jobs")

    oauth(clock, verify=False)

    assert [record.getMessage() for record in caplog.records] == [
        f"TLS certificate verification is off for Adobe IMS at {IMS_URL}: the client secret "
        "can be read by anyone who can intercept the connection"
    ]


# ---------------------------------------------------------------------------------------------
# The client with a token provider


async def test_client_gets_token_from_ims(router: respx.MockRouter) -> None:
    ims = Ims(router)
    api = router.get(f"{BASE_URL}/export/jobs/722").respond(200, json=JOB)

    async with ExportJobsClient(
        org_id=ORG_ID, api_key=CLIENT_ID, sandbox="prod", client_secret=SECRET, base_url=BASE_URL
    ) as client:
        await client.get(722)
        await client.get(722)

    assert ims.route.call_count == 1
    assert api.calls.last.request.headers["authorization"] == "Bearer token-1"


async def test_unauthorized_renews_once(router: respx.MockRouter, clock: FakeClock) -> None:
    ims = Ims(router)
    api = router.get(f"{BASE_URL}/export/jobs/722").mock(
        side_effect=[
            httpx.Response(
                401, json={"error_code": "401013", "message": "Oauth token is not valid"}
            ),
            httpx.Response(200, json=JOB),
        ]
    )

    async with api_client(oauth(clock)) as client:
        job = await client.get(722)

    assert job.id == 722
    assert ims.route.call_count == 2
    assert [call.request.headers["authorization"] for call in api.calls] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_second_unauthorized_raises(router: respx.MockRouter, clock: FakeClock) -> None:
    ims = Ims(router)
    api = router.get(f"{BASE_URL}/export/jobs/722").respond(
        401, json={"error_code": "401013", "message": "Oauth token is not valid"}
    )

    async with api_client(oauth(clock)) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get(722)

    assert api.call_count == 2
    assert ims.route.call_count == 2
    assert caught.value.code == "401013"


async def test_static_token_unauthorized_not_retried(router: respx.MockRouter) -> None:
    api = router.get(f"{BASE_URL}/export/jobs/722").respond(
        401, json={"error_code": "401013", "message": "Oauth token is not valid"}
    )

    async with api_client("static-token") as client:
        with pytest.raises(AuthenticationError):
            await client.get(722)

    assert api.call_count == 1


async def test_create_renewed_after_unauthorized(
    router: respx.MockRouter, clock: FakeClock
) -> None:
    Ims(router)
    api = router.post(f"{BASE_URL}/export/jobs").mock(
        side_effect=[httpx.Response(401, json={}), httpx.Response(200, json=JOB)]
    )

    async with api_client(oauth(clock)) as client:
        job = await client.create(
            {"destination": {"datasetId": "d"}, "schema": {"name": "_xdm.context.profile"}}
        )

    # A 401 means that the server did not act on the create, so sending it again is safe.
    assert job.id == 722
    assert api.call_count == 2


# ---------------------------------------------------------------------------------------------
# Token callbacks


async def test_callback_called_once_then_cached(router: respx.MockRouter) -> None:
    calls: list[int] = []

    def vault() -> str:
        calls.append(1)
        return f"vault-token-{len(calls)}"

    api = router.get(f"{BASE_URL}/export/jobs/722").respond(200, json=JOB)

    async with api_client(vault) as client:
        await client.get(722)
        await client.get(722)

    assert calls == [1]
    assert api.calls.last.request.headers["authorization"] == "Bearer vault-token-1"


async def test_async_callback_renewed_on_unauthorized(router: respx.MockRouter) -> None:
    issued: list[str] = []

    async def vault() -> str:
        issued.append(f"vault-token-{len(issued) + 1}")
        return issued[-1]

    router.get(f"{BASE_URL}/export/jobs/722").mock(
        side_effect=[httpx.Response(401, json={}), httpx.Response(200, json=JOB)]
    )

    async with api_client(vault) as client:
        await client.get(722)

    assert issued == ["vault-token-1", "vault-token-2"]


async def test_callback_max_age(clock: FakeClock) -> None:
    count = 0

    def vault() -> str:
        nonlocal count
        count += 1
        return f"t{count}"

    provider = TokenCallback(vault, max_age=10, clock=clock)

    first = await provider.get_token()
    clock.now += 9
    cached = await provider.get_token()
    clock.now += 2
    renewed = await provider.get_token()

    assert (first, cached, renewed) == ("t1", "t1", "t2")


async def test_callback_bad_token_rejected() -> None:
    provider = TokenCallback(lambda: "token\n")

    with pytest.raises(ConfigurationError) as caught:
        await provider.get_token()

    assert "returned a value that is not a token" in str(caught.value)


def test_static_token_repr_hidden() -> None:
    assert repr(StaticToken("secret-token")) == "StaticToken(<hidden>)"


# ---------------------------------------------------------------------------------------------
# Settings from the environment and from an aepp configuration file


def test_env_oauth_settings() -> None:
    settings = Settings.from_env(
        {
            "AEP_ORG_ID": ORG_ID,
            "AEP_CLIENT_ID": CLIENT_ID,
            "AEP_CLIENT_SECRET": SECRET,
            "AEP_SCOPES": "openid,AdobeID",
            "AEP_SANDBOX": "prod",
            "AEP_IMS_URL": "https://ims-na1-stg1.adobelogin.com/ims/token/v3",
        }
    )

    provider = settings.token_provider()
    assert isinstance(provider, OAuthServerToServer)
    assert provider.scopes == ("openid", "AdobeID")
    assert provider.ims_url == "https://ims-na1-stg1.adobelogin.com/ims/token/v3"
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_env_names_of_your_own() -> None:
    settings = Settings.from_env(
        {"MY_ORG": ORG_ID, "AEP_CLIENT_ID": CLIENT_ID, "AEP_SANDBOX": "prod", "MY_TOKEN": "t"},
        names={"org_id": "MY_ORG", "token": "MY_TOKEN"},
    )

    assert settings.org_id == ORG_ID
    assert settings.token == "t"


def test_env_unknown_name_rejected() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({}, names={"org": "MY_ORG"})

    assert caught.value.problems[0].startswith("names has unknown settings ['org']")


def write_config(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "aepp-config.json"
    path.write_text(json.dumps(document))
    return path


AEPP_CONFIG = {
    "org_id": ORG_ID,
    "client_id": CLIENT_ID,
    "secret": SECRET,
    "sandbox-name": "dev-1",
    "scopes": "openid,AdobeID,read_organizations",
    "environment": "stage",
}


def test_aepp_config_read(tmp_path: Path) -> None:
    settings = Settings.from_aepp_config(write_config(tmp_path, AEPP_CONFIG))

    assert settings.org_id == ORG_ID
    assert settings.api_key == CLIENT_ID
    assert settings.client_secret == SECRET
    assert settings.sandbox == "dev-1"
    assert settings.scopes == ("openid", "AdobeID", "read_organizations")
    assert settings.base_url == "https://platform-stage.adobe.io/data/core/ups"


def test_aepp_config_alternative_keys(tmp_path: Path) -> None:
    document = {**AEPP_CONFIG, "api_key": CLIENT_ID, "client_secret": SECRET}
    del document["client_id"], document["secret"], document["environment"]

    settings = Settings.from_aepp_config(write_config(tmp_path, document))

    assert settings.api_key == CLIENT_ID
    assert settings.client_secret == SECRET
    assert settings.base_url == "https://platform.adobe.io/data/core/ups"


def test_aepp_config_problems_listed(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"org_id": "nope", "environment": "int"})

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_aepp_config(path)

    where = f"the aepp configuration file {str(path)!r}"
    assert caught.value.problems == [
        f"{where} has no client_id (or api_key)",
        f"{where} has no sandbox-name",
        f"{where} has no scopes",
        f"{where} has no secret (or client_secret)",
        f"{where} has environment 'int'; expected one of prod, stage",
    ]


def test_aepp_jwt_config_explained(tmp_path: Path) -> None:
    document = {**AEPP_CONFIG, "tech_id": "x@techacct.adobe.com", "pathToKey": "private.key"}
    del document["secret"]

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_aepp_config(write_config(tmp_path, document))

    assert "holds JWT credentials, which Adobe retired on 2025-06-30" in str(caught.value)


def test_aepp_config_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{'org_id': 1,}")

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_aepp_config(path)

    assert caught.value.problems[0].startswith(
        f"the aepp configuration file {str(path)!r} is not valid JSON"
    )


def test_aepp_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_aepp_config(path)

    assert caught.value.problems == [
        f"cannot read the aepp configuration file {str(path)!r}: No such file or directory"
    ]


def test_client_tls_off_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aep_jobs")

    api_client("token", verify=False)

    assert caplog.records[0].getMessage() == (
        f"TLS certificate verification is off for {BASE_URL}: the access token can be read "
        "by anyone who can intercept the connection"
    )


async def test_redirect_not_followed(router: respx.MockRouter) -> None:
    elsewhere = router.get("https://collector.example/steal").respond(200, json=JOB)
    router.get(f"{BASE_URL}/export/jobs/722").respond(
        302, headers={"location": "https://collector.example/steal"}
    )

    async with api_client("static-token") as client:
        with pytest.raises(ApiError) as caught:
            await client.get(722)

    assert caught.value.status_code == 302
    assert elsewhere.called is False
