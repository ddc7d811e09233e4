"""Client settings: reading them from environment variables, checking them, and keeping the
token and API key out of every repr and message."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from aep_jobs import (
    PRODUCTION_BASE_URL,
    ClientClosedError,
    ConfigurationError,
    ExportJobsClient,
    Settings,
    StaticToken,
)

ORG_ID = "1BD6382559DF0C130A49422D@AdobeOrg"

# Distinctive values, so that a leak cannot hide behind a common word such as "key".
SECRET_TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-5d2a"
SECRET_API_KEY = "apikey-7f3c9e41"

FULL_ENVIRONMENT = {
    "AEP_BASE_URL": "https://platform-stage.adobe.io/data/core/ups",
    "AEP_ORG_ID": ORG_ID,
    "AEP_API_KEY": SECRET_API_KEY,
    "AEP_SANDBOX": "dev-1",
    "AEP_ACCESS_TOKEN": SECRET_TOKEN,
}


def settings_with(**changes: Any) -> Settings:
    """Return valid settings with some fields replaced."""
    fields: dict[str, Any] = {
        "org_id": ORG_ID,
        "api_key": SECRET_API_KEY,
        "sandbox": "prod",
        "token": SECRET_TOKEN,
    }
    fields.update(changes)
    return Settings(**fields)


def problems_of(settings: Settings) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        settings.check()
    return caught.value.problems


# ---------------------------------------------------------------------------------------------
# Settings.from_env


def test_from_env_reads_every_variable() -> None:
    settings = Settings.from_env(FULL_ENVIRONMENT)

    assert settings.base_url == "https://platform-stage.adobe.io/data/core/ups"
    assert settings.org_id == ORG_ID
    assert settings.api_key == SECRET_API_KEY
    assert settings.sandbox == "dev-1"
    assert settings.token == SECRET_TOKEN
    assert settings.allow_insecure_http is False


def test_from_env_defaults_to_production() -> None:
    environment = {key: value for key, value in FULL_ENVIRONMENT.items() if key != "AEP_BASE_URL"}

    settings = Settings.from_env(environment)

    assert settings.base_url == PRODUCTION_BASE_URL
    assert settings.base_url == "https://platform.adobe.io/data/core/ups"


def test_from_env_strips_whitespace() -> None:
    environment = {key: f" {value}\n" for key, value in FULL_ENVIRONMENT.items()}

    settings = Settings.from_env(environment)

    assert settings.org_id == ORG_ID
    assert settings.token == SECRET_TOKEN


def test_from_env_reads_client_id_alias() -> None:
    environment = {key: value for key, value in FULL_ENVIRONMENT.items() if key != "AEP_API_KEY"}
    environment["AEP_CLIENT_ID"] = "client-id-from-console"

    settings = Settings.from_env(environment)

    assert settings.api_key == "client-id-from-console"


def test_from_env_prefers_client_id_over_alias() -> None:
    environment = {**FULL_ENVIRONMENT, "AEP_CLIENT_ID": "client-id-from-console"}

    settings = Settings.from_env(environment)

    assert settings.api_key == "client-id-from-console"


def test_from_env_lists_every_missing_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({})

    assert caught.value.problems == [
        "AEP_ORG_ID is not set",
        "AEP_CLIENT_ID is not set (nor AEP_API_KEY)",
        "AEP_SANDBOX is not set",
        "no credentials: set AEP_ACCESS_TOKEN to an access token, or AEP_CLIENT_SECRET "
        "(with AEP_CLIENT_ID and AEP_SCOPES) for OAuth server-to-server",
    ]


def test_from_env_missing_message_lists_all() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"AEP_ORG_ID": ORG_ID, "AEP_API_KEY": SECRET_API_KEY})

    assert str(caught.value) == (
        "Invalid aep_jobs settings:\n- AEP_SANDBOX is not set\n- no credentials: set "
        "AEP_ACCESS_TOKEN to an access token, or AEP_CLIENT_SECRET (with AEP_API_KEY and "
        "AEP_SCOPES) for OAuth server-to-server"
    )


def test_from_env_blank_counts_as_missing() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**FULL_ENVIRONMENT, "AEP_SANDBOX": "   "})

    assert caught.value.problems == ["AEP_SANDBOX is not set"]


def test_from_env_lists_every_invalid_value() -> None:
    environment = {
        **FULL_ENVIRONMENT,
        "AEP_ORG_ID": "1BD6382559DF0C130A49422D",
        "AEP_SANDBOX": "Prod",
        "AEP_BASE_URL": "http://platform.adobe.io/data/core/ups",
    }

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(environment)

    assert caught.value.problems == [
        "AEP_BASE_URL 'http://platform.adobe.io/data/core/ups' uses plain http on a host that is "
        "not loopback, so credentials would travel unencrypted; use https, or set "
        "AEP_ALLOW_INSECURE_HTTP=1 if that is intended",
        "AEP_ORG_ID '1BD6382559DF0C130A49422D' does not end with '@AdobeOrg'; "
        "copy the organization ID from the Developer Console",
        "AEP_SANDBOX 'Prod' is not a sandbox name; sandbox names are lower case letters, digits "
        "and hyphens, e.g. 'prod'",
    ]


def test_from_env_rejects_bearer_prefix() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**FULL_ENVIRONMENT, "AEP_ACCESS_TOKEN": f"Bearer {SECRET_TOKEN}"})

    assert caught.value.problems == [
        "AEP_ACCESS_TOKEN starts with 'Bearer '; pass the token alone, the client adds the prefix"
    ]


# ---------------------------------------------------------------------------------------------
# Settings.check


def test_valid_settings_pass() -> None:
    settings_with().check()


@pytest.mark.parametrize(
    ("org_id", "problem"),
    [
        (
            "1BD6382559DF0C130A49422D",
            "org_id '1BD6382559DF0C130A49422D' does not end with '@AdobeOrg'; "
            "copy the organization ID from the Developer Console",
        ),
        (
            "1BD6382559DF0C130A49422D@adobeorg",
            "org_id '1BD6382559DF0C130A49422D@adobeorg' does not end with '@AdobeOrg'; "
            "copy the organization ID from the Developer Console",
        ),
        ("", "org_id is empty; copy the organization ID from the Developer Console"),
        ("  ", "org_id is empty; copy the organization ID from the Developer Console"),
    ],
    ids=["no-suffix", "lower-case-suffix", "empty", "blank"],
)
def test_invalid_org_id_rejected(org_id: str, problem: str) -> None:
    assert problems_of(settings_with(org_id=org_id)) == [problem]


def test_empty_sandbox_rejected() -> None:
    assert problems_of(settings_with(sandbox="")) == [
        "sandbox is empty; use a sandbox name, e.g. 'prod'"
    ]


@pytest.mark.parametrize("sandbox", ["Prod", "prod sandbox", "-prod", "prod_1"])
def test_invalid_sandbox_rejected(sandbox: str) -> None:
    assert problems_of(settings_with(sandbox=sandbox)) == [
        f"sandbox {sandbox!r} is not a sandbox name; sandbox names are lower case letters, "
        "digits and hyphens, e.g. 'prod'"
    ]


@pytest.mark.parametrize("sandbox", ["prod", "dev-1", "7-eleven"])
def test_valid_sandbox_accepted(sandbox: str) -> None:
    settings_with(sandbox=sandbox).check()


def test_empty_api_key_rejected() -> None:
    assert problems_of(settings_with(api_key=" ")) == [
        "api_key is empty; use the client ID of your Developer Console project"
    ]


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (
            "platform.adobe.io/data/core/ups",
            "base_url 'platform.adobe.io/data/core/ups' is not an absolute http(s) URL; "
            "use e.g. 'https://platform.adobe.io/data/core/ups'",
        ),
        (
            "ftp://platform.adobe.io/data/core/ups",
            "base_url 'ftp://platform.adobe.io/data/core/ups' is not an absolute http(s) URL; "
            "use e.g. 'https://platform.adobe.io/data/core/ups'",
        ),
        (
            "",
            "base_url '' is not an absolute http(s) URL; "
            "use e.g. 'https://platform.adobe.io/data/core/ups'",
        ),
        (
            "https://platform.adobe.io/data/core/ups?limit=2",
            "base_url 'https://platform.adobe.io/data/core/ups?limit=2' has a query or "
            "fragment; remove it",
        ),
        (
            "https://platform.adobe.io/data/core/ups#jobs",
            "base_url 'https://platform.adobe.io/data/core/ups#jobs' has a query or "
            "fragment; remove it",
        ),
        (
            "http://[::1",
            "base_url 'http://[::1' is not a valid URL (Invalid port: ':1')",
        ),
    ],
    ids=["no-scheme", "ftp", "empty", "query", "fragment", "unparsable"],
)
def test_invalid_base_url_rejected(base_url: str, problem: str) -> None:
    assert problems_of(settings_with(base_url=base_url)) == [problem]


def test_plain_http_elsewhere_rejected() -> None:
    assert problems_of(settings_with(base_url="http://platform.adobe.io/data/core/ups")) == [
        "base_url 'http://platform.adobe.io/data/core/ups' uses plain http on a host that is "
        "not loopback, so credentials would travel unencrypted; use https, or set "
        "allow_insecure_http=True if that is intended"
    ]


def test_plain_http_allowed_when_asked() -> None:
    settings_with(
        base_url="http://platform.adobe.io/data/core/ups", allow_insecure_http=True
    ).check()


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080/data/core/ups",
        "http://127.0.0.2/data/core/ups",
        "http://localhost:8080/data/core/ups",
        "http://[::1]:8080/data/core/ups",
    ],
)
def test_plain_http_on_loopback_allowed(base_url: str) -> None:
    settings_with(base_url=base_url).check()


def test_plain_http_on_localhost_lookalike_rejected() -> None:
    problems = problems_of(settings_with(base_url="http://localhost.example/data/core/ups"))

    assert len(problems) == 1
    assert problems[0].startswith("base_url 'http://localhost.example/data/core/ups' uses plain")


def test_token_provider_accepted() -> None:
    class Provider:
        async def get_token(self) -> str:
            return SECRET_TOKEN

    settings = settings_with(token=Provider())

    settings.check()
    assert settings.token_provider() is settings.token


def test_token_of_other_type_rejected() -> None:
    assert problems_of(settings_with(token=12345)) == [
        "token must be a string, a TokenProvider or a function, not int"
    ]


# ---------------------------------------------------------------------------------------------
# StaticToken


@pytest.mark.parametrize("token", [f"Bearer {SECRET_TOKEN}", f"bearer {SECRET_TOKEN}"])
def test_bearer_prefix_rejected(token: str) -> None:
    message = (
        "The access token starts with 'Bearer '; pass the token alone, the client adds the prefix"
    )

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        StaticToken(token)


@pytest.mark.parametrize("token", ["", "   "])
def test_empty_token_rejected(token: str) -> None:
    message = "The access token is empty; pass the token string from Adobe IMS"

    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        StaticToken(token)


@pytest.mark.anyio
async def test_static_token_returns_token() -> None:
    assert await StaticToken(SECRET_TOKEN).get_token() == SECRET_TOKEN


# ---------------------------------------------------------------------------------------------
# No secret in any repr or message


def test_settings_repr_hides_secrets() -> None:
    settings = Settings.from_env(FULL_ENVIRONMENT)

    assert repr(settings) == (
        "Settings(base_url='https://platform-stage.adobe.io/data/core/ups', "
        f"org_id='{ORG_ID}', sandbox='dev-1', api_key=<hidden>, token=<hidden>)"
    )


def test_settings_str_hides_secrets() -> None:
    text = str(Settings.from_env(FULL_ENVIRONMENT))

    assert SECRET_TOKEN not in text
    assert SECRET_API_KEY not in text


def test_static_token_repr_hides_token() -> None:
    token = StaticToken(SECRET_TOKEN)

    assert repr(token) == "StaticToken(<hidden>)"
    assert str(token) == "StaticToken(<hidden>)"


def test_configuration_error_hides_token() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_with(token=f"Bearer {SECRET_TOKEN}", sandbox="Prod").check()

    assert SECRET_TOKEN not in str(caught.value)
    assert SECRET_API_KEY not in str(caught.value)


@pytest.mark.anyio
async def test_client_repr_hides_secrets() -> None:
    async with ExportJobsClient(
        org_id=ORG_ID,
        api_key=SECRET_API_KEY,
        sandbox="prod",
        token=SECRET_TOKEN,
        transport=httpx.MockTransport(lambda request: httpx.Response(500)),
    ) as client:
        text = f"{client!r} {client!s} {client.settings!r}"

    assert repr(client) == (
        f"ExportJobsClient(base_url='https://platform.adobe.io/data/core/ups', "
        f"org_id='{ORG_ID}', sandbox='prod')"
    )
    assert SECRET_TOKEN not in text
    assert SECRET_API_KEY not in text


# ---------------------------------------------------------------------------------------------
# Building a client


@pytest.mark.anyio
async def test_client_from_env_uses_settings() -> None:
    async with ExportJobsClient.from_env(
        FULL_ENVIRONMENT, transport=httpx.MockTransport(lambda request: httpx.Response(500))
    ) as client:
        settings = client.settings

    assert settings.base_url == "https://platform-stage.adobe.io/data/core/ups"
    assert settings.sandbox == "dev-1"


@pytest.mark.anyio
async def test_from_settings_keeps_insecure_opt_in() -> None:
    settings = settings_with(
        base_url="http://platform.adobe.io/data/core/ups", allow_insecure_http=True
    )

    async with ExportJobsClient.from_settings(
        settings, transport=httpx.MockTransport(lambda request: httpx.Response(500))
    ) as client:
        allowed = client.settings.allow_insecure_http

    assert allowed is True


def test_client_lists_every_invalid_argument() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(
            org_id="1BD6382559DF0C130A49422D",
            api_key="",
            sandbox="prod",
            token=f"Bearer {SECRET_TOKEN}",
            base_url="http://platform.adobe.io/data/core/ups",
        )

    assert len(caught.value.problems) == 4
    assert caught.value.problems[0].startswith("base_url 'http://platform.adobe.io/")
    assert caught.value.problems[1].startswith("org_id '1BD6382559DF0C130A49422D'")
    assert caught.value.problems[2].startswith("api_key is empty")
    assert caught.value.problems[3].startswith("token starts with 'Bearer '")


def test_client_rejects_bearer_prefix() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(
            org_id=ORG_ID, api_key=SECRET_API_KEY, sandbox="prod", token=f"Bearer {SECRET_TOKEN}"
        )

    assert caught.value.problems == [
        "token starts with 'Bearer '; pass the token alone, the client adds the prefix"
    ]


def test_client_rejects_zero_page_size() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(
            org_id=ORG_ID, api_key=SECRET_API_KEY, sandbox="prod", token=SECRET_TOKEN, page_size=0
        )

    assert caught.value.problems == [
        "page_size 0 is invalid; expected a positive integer such as 100"
    ]


@pytest.mark.anyio
async def test_client_on_loopback_http_accepted() -> None:
    async with ExportJobsClient(
        org_id=ORG_ID,
        api_key=SECRET_API_KEY,
        sandbox="prod",
        token=SECRET_TOKEN,
        base_url="http://127.0.0.1:8080/data/core/ups",
        transport=httpx.MockTransport(lambda request: httpx.Response(500)),
    ) as client:
        base_url = client.settings.base_url

    assert base_url == "http://127.0.0.1:8080/data/core/ups"


# ---------------------------------------------------------------------------------------------
# Values that cannot be sent as headers, and other arguments


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"org_id": None}, "org_id must be a string, not NoneType"),
        ({"api_key": None}, "api_key must be a string, not NoneType"),
        ({"sandbox": None}, "sandbox must be a string, not NoneType"),
        ({"base_url": None}, "base_url must be a string, not NoneType"),
    ],
    ids=["org-id", "api-key", "sandbox", "base-url"],
)
def test_none_settings_named(changes: dict[str, object], problem: str) -> None:
    problems = problems_of(settings_with(**changes))

    assert len(problems) == 1
    assert problems[0].startswith(problem)


@pytest.mark.parametrize(
    "token",
    [f"{SECRET_TOKEN}\n", f" {SECRET_TOKEN}", f"{SECRET_TOKEN}\u00e9", f"{SECRET_TOKEN}\x00x"],
    ids=["newline", "leading-space", "non-ascii", "nul"],
)
def test_unsendable_token_rejected_unshown(token: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(org_id=ORG_ID, api_key=SECRET_API_KEY, sandbox="prod", token=token)

    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("token ")
    assert SECRET_TOKEN not in str(caught.value)


def test_unsendable_api_key_unshown() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(
            org_id=ORG_ID, api_key=f"{SECRET_API_KEY}\n", sandbox="prod", token=SECRET_TOKEN
        )

    assert caught.value.problems == ["api_key has leading or trailing whitespace; remove it"]
    assert SECRET_API_KEY not in str(caught.value)


def test_org_id_with_space_named() -> None:
    assert problems_of(settings_with(org_id=f" {ORG_ID}")) == [
        f"org_id ' {ORG_ID}' has leading or trailing whitespace; remove it"
    ]


def test_base_url_password_rejected_unshown() -> None:
    problems = problems_of(settings_with(base_url="https://user:hunter2@platform.adobe.io/x"))

    assert problems == ["base_url contains a user name or password; remove them from the URL"]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"timeout": 0}, "timeout 0 is invalid; expected seconds > 0 or an httpx.Timeout"),
        ({"timeout": "10"}, "timeout '10' is invalid; expected seconds > 0 or an httpx.Timeout"),
        ({"deadline": -1}, "deadline -1 is invalid; expected seconds > 0, or None for no limit"),
        ({"retry": 3}, "retry must be a RetryPolicy, not int"),
        ({"max_connections": 0}, "max_connections 0 is invalid; expected a positive integer"),
        ({"retry_budget": 500}, "retry_budget must be a RetryBudget, not int"),
    ],
    ids=["zero-timeout", "text-timeout", "negative-deadline", "retry", "connections", "budget"],
)
def test_bad_client_option_named(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ExportJobsClient(
            org_id=ORG_ID, api_key=SECRET_API_KEY, sandbox="prod", token=SECRET_TOKEN, **options
        )

    assert caught.value.problems == [problem]


def test_from_env_lists_missing_and_invalid() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"AEP_ORG_ID": "foo", "AEP_SANDBOX": "Prod"})

    assert caught.value.problems == [
        "AEP_CLIENT_ID is not set (nor AEP_API_KEY)",
        "no credentials: set AEP_ACCESS_TOKEN to an access token, or AEP_CLIENT_SECRET "
        "(with AEP_CLIENT_ID and AEP_SCOPES) for OAuth server-to-server",
        "AEP_ORG_ID 'foo' does not end with '@AdobeOrg'; "
        "copy the organization ID from the Developer Console",
        "AEP_SANDBOX 'Prod' is not a sandbox name; sandbox names are lower case letters, "
        "digits and hyphens, e.g. 'prod'",
    ]


def test_from_env_allows_insecure_http() -> None:
    settings = Settings.from_env(
        {
            **FULL_ENVIRONMENT,
            "AEP_BASE_URL": "http://aep-test-host/data/core/ups",
            "AEP_ALLOW_INSECURE_HTTP": "1",
        }
    )

    assert settings.allow_insecure_http is True


@pytest.mark.anyio
async def test_closed_client_raises_clearly() -> None:
    client = ExportJobsClient(
        org_id=ORG_ID,
        api_key=SECRET_API_KEY,
        sandbox="prod",
        token=SECRET_TOKEN,
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"id": 1})),
    )
    await client.aclose()

    with pytest.raises(ClientClosedError) as caught:
        await client.get(1)

    assert str(caught.value) == (
        "Cannot get export job 1: the client is closed; create a new ExportJobsClient"
    )
