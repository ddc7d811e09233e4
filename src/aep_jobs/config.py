"""Client settings, their defaults, and reading them from environment variables or from the
JSON configuration file of the ``aepp`` package.

Every default is named once here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ._safety import is_header_safe, service_url_problem
from .auth import (
    DEFAULT_IMS_URL,
    DEFAULT_SCOPES,
    OAuthServerToServer,
    StaticToken,
    TokenCallback,
    TokenProvider,
    scope_list,
)
from .errors import ConfigurationError

__all__ = [
    "AEPP_ENVIRONMENTS",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENT_VARIABLES",
    "PRODUCTION_BASE_URL",
    "STAGE_BASE_URL",
    "Settings",
]

PRODUCTION_BASE_URL = "https://platform.adobe.io/data/core/ups"
STAGE_BASE_URL = "https://platform-stage.adobe.io/data/core/ups"

#: Seconds to connect, to wait between bytes of a response, to send a request body, and to
#: wait for a free connection from the pool.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)

#: Seconds that one call may take in all, retries and backoff included. With the default
#: timeouts and retry policy, four attempts that each wait the full read timeout take 240 s.
DEFAULT_DEADLINE = 300.0

#: Connections a client opens at most, and so requests in flight at most (httpx's default).
DEFAULT_MAX_CONNECTIONS = 100

#: Idle connections a client keeps open for reuse (httpx's default). Raised to match 64
#: requests in flight, httpx 0.29 was measured 1.6 to 4.2 times slower on loopback (2-vCPU VM).
DEFAULT_MAX_KEEPALIVE = 20

#: Jobs per page when listing. Adobe documents neither a default nor a maximum for ``limit``.
DEFAULT_PAGE_SIZE = 100

#: The environment variables that [`Settings.from_env`][aep_jobs.Settings.from_env] reads, by
#: setting. Pass ``names`` to [`Settings.from_env`][aep_jobs.Settings.from_env] to read others.
ENVIRONMENT_VARIABLES = {
    "org_id": "AEP_ORG_ID",
    "api_key": "AEP_CLIENT_ID",
    "client_secret": "AEP_CLIENT_SECRET",
    "scopes": "AEP_SCOPES",
    "sandbox": "AEP_SANDBOX",
    "token": "AEP_ACCESS_TOKEN",
    "base_url": "AEP_BASE_URL",
    "ims_url": "AEP_IMS_URL",
    "allow_insecure_http": "AEP_ALLOW_INSECURE_HTTP",
}
#: The client id is the API key, and this name for it is read too.
API_KEY_ALIAS = "AEP_API_KEY"

#: Set to 1 to allow plain ``http://`` URLs on hosts that are not loopback.
ALLOW_INSECURE_HTTP_VARIABLE = ENVIRONMENT_VARIABLES["allow_insecure_http"]

#: The service roots for the ``environment`` key of an ``aepp`` configuration file.
AEPP_ENVIRONMENTS = {"prod": PRODUCTION_BASE_URL, "stage": STAGE_BASE_URL}

_SANDBOX_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_TRUE = ("1", "true", "yes")

TokenSource = str | TokenProvider | Callable[[], Any]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class Settings:
    """The service root, the identity of the caller and its credentials.

    Credentials are either an access token (``token``) or OAuth server-to-server credentials
    (``api_key`` as the client id, ``client_secret`` and ``scopes``); when both are given, the
    token is used.

    :param org_id: the IMS organization id, e.g. ``1BD6382559DF0C130A49422D@AdobeOrg``
    :param api_key: the API key, which is the Developer Console project's client id
    :param sandbox: the sandbox name, lower case, e.g. ``prod``
    :param token: an access token, a [`TokenProvider`][aep_jobs.TokenProvider], or a function
        (synchronous or asynchronous) that returns a token
    :param client_secret: the project's client secret, for tokens from Adobe IMS
    :param scopes: the project's scopes, for tokens from Adobe IMS
    :param base_url: the service root; Adobe's production root by default
    :param ims_url: Adobe IMS's token endpoint
    :param allow_insecure_http: allow plain ``http://`` URLs on hosts that are not loopback;
        credentials would then cross the network unencrypted
    """

    org_id: str
    api_key: str
    sandbox: str
    token: TokenSource | None = None
    client_secret: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    base_url: str = PRODUCTION_BASE_URL
    ims_url: str = DEFAULT_IMS_URL
    allow_insecure_http: bool = False

    def __repr__(self) -> str:
        if self.token is not None:
            credentials = "token=<hidden>"
        elif self.client_secret is not None:
            credentials = f"client_secret=<hidden>, scopes={self.scopes!r}"
        else:
            credentials = "no credentials"
        return (
            f"Settings(base_url={self.base_url!r}, org_id={self.org_id!r}, "
            f"sandbox={self.sandbox!r}, api_key=<hidden>, {credentials})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        names: Mapping[str, str] | None = None,
    ) -> Settings:
        """Read the settings from environment variables.

        It reads the variables named in
        [`ENVIRONMENT_VARIABLES`][aep_jobs.ENVIRONMENT_VARIABLES], each replaced by its entry in
        ``names`` if there is one.

        :param environ: the variables; ``os.environ`` by default
        :param names: variable names to read instead of the standard ones, by setting, e.g.
            ``{"org_id": "MY_ORG"}``
        :raises ConfigurationError: listing every missing or invalid variable
        """
        env = os.environ if environ is None else environ
        label = {**ENVIRONMENT_VARIABLES, **(names or {})}
        unknown = sorted(set(names or {}) - set(ENVIRONMENT_VARIABLES))
        if unknown:
            raise ConfigurationError(
                [f"names has unknown settings {unknown}; use {sorted(ENVIRONMENT_VARIABLES)}"]
            )
        # Whitespace at the ends is dropped: values read from files often end with a newline.
        values = {setting: env.get(name, "").strip() for setting, name in label.items()}
        if not values["api_key"] and "api_key" not in (names or {}):
            alias = env.get(API_KEY_ALIAS, "").strip()
            if alias:
                values["api_key"] = alias
                label["api_key"] = API_KEY_ALIAS

        missing = [
            f"{label[setting]} is not set"
            + (f" (nor {API_KEY_ALIAS})" if label[setting] == "AEP_CLIENT_ID" else "")
            for setting in ("org_id", "api_key", "sandbox")
            if not values[setting]
        ]
        if not values["token"] and not values["client_secret"]:
            missing.append(
                f"no credentials: set {label['token']} to an access token, or "
                f"{label['client_secret']} (with {label['api_key']} and {label['scopes']}) "
                "for OAuth server-to-server"
            )
        settings = cls(
            org_id=values["org_id"],
            api_key=values["api_key"],
            sandbox=values["sandbox"],
            token=values["token"] or None,
            client_secret=values["client_secret"] or None,
            scopes=scope_list(values["scopes"]) if values["scopes"] else DEFAULT_SCOPES,
            base_url=values["base_url"] or PRODUCTION_BASE_URL,
            ims_url=values["ims_url"] or DEFAULT_IMS_URL,
            allow_insecure_http=values["allow_insecure_http"].lower() in _TRUE,
        )
        label["allow_insecure_http"] = f"{label['allow_insecure_http']}=1"
        # Values that are missing are reported once, as missing.
        present = [
            problem
            for problem in settings.problems(label)
            if not problem.startswith("no credentials")
            and not any(problem.startswith(f"{label[setting]} is empty;") for setting in label)
        ]
        problems = missing + present
        if problems:
            raise ConfigurationError(problems)
        return settings

    @classmethod
    def from_aepp_config(cls, path: str | os.PathLike[str]) -> Settings:
        """Read the settings from the JSON configuration file of the ``aepp`` package.

        The keys read are ``org_id``, ``client_id`` (or ``api_key``), ``secret`` (or
        ``client_secret``), ``sandbox-name``, ``scopes`` and ``environment`` (``prod`` or
        ``stage``). Other keys are ignored.

        :raises ConfigurationError: listing every missing or invalid key
        """
        where = f"the aepp configuration file {os.fspath(path)!r}"
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigurationError([f"cannot read {where}: {error.strerror}"]) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigurationError([f"{where} is not valid JSON ({error})"]) from None
        if not isinstance(document, dict):
            raise ConfigurationError([f"{where} does not hold a JSON object"])

        def text(*keys: str) -> tuple[str, str]:
            for key in keys:
                value = document.get(key)
                if value not in (None, ""):
                    return key, value if isinstance(value, str) else repr(value)
            return keys[0], ""

        problems = []
        org_key, org_id = text("org_id")
        key_key, api_key = text("client_id", "api_key")
        secret_key, secret = text("secret", "client_secret")
        sandbox_key, sandbox = text("sandbox-name")
        scopes_key, scopes = text("scopes")
        environment = document.get("environment", "prod")
        for key, value in (
            (org_key, org_id),
            (key_key + " (or api_key)", api_key),
            (sandbox_key, sandbox),
            (scopes_key, scopes),
        ):
            if not value:
                problems.append(f"{where} has no {key}")
        if not secret:
            if document.get("private_key") or document.get("pathToKey") or document.get("tech_id"):
                problems.append(
                    f"{where} holds JWT credentials, which Adobe retired on 2025-06-30; create "
                    "OAuth server-to-server credentials in the Developer Console and add their "
                    "client secret as 'secret'"
                )
            else:
                problems.append(f"{where} has no secret (or client_secret)")
        if environment not in AEPP_ENVIRONMENTS:
            problems.append(
                f"{where} has environment {environment!r}; expected one of "
                f"{', '.join(AEPP_ENVIRONMENTS)}"
            )
        if problems:
            raise ConfigurationError(problems)

        settings = cls(
            org_id=org_id,
            api_key=api_key,
            sandbox=sandbox,
            client_secret=secret,
            scopes=scope_list(scopes),
            base_url=AEPP_ENVIRONMENTS[environment],
        )
        label = {
            "org_id": org_key,
            "api_key": key_key,
            "sandbox": sandbox_key,
            "client_secret": secret_key,
            "scopes": scopes_key,
        }
        settings_problems = settings.problems({k: f"{v} in {where}" for k, v in label.items()})
        if settings_problems:
            raise ConfigurationError(settings_problems)
        return settings

    def check(self) -> None:
        """Check every setting.

        :raises ConfigurationError: listing every problem found
        """
        problems = self.problems()
        if problems:
            raise ConfigurationError(problems)

    def problems(self, names: Mapping[str, str] | None = None) -> list[str]:
        """Return one line for each invalid setting, naming it and the fix.

        :param names: how to name each setting in the lines, e.g. by its environment variable
        """
        label = {field.name: field.name for field in dataclasses.fields(self)}
        label["allow_insecure_http"] = "allow_insecure_http=True"
        label.update(names or {})
        problems = []

        for name, url, example in (
            ("base_url", self.base_url, PRODUCTION_BASE_URL),
            ("ims_url", self.ims_url, DEFAULT_IMS_URL),
        ):
            url_problem = service_url_problem(
                label[name], url, self.allow_insecure_http, label["allow_insecure_http"], example
            )
            if url_problem:
                problems.append(url_problem)

        org_problem = _text_problem(
            label["org_id"],
            self.org_id,
            secret=False,
            hint="copy the organization ID from the Developer Console",
        )
        if org_problem is None and not self.org_id.endswith("@AdobeOrg"):
            org_problem = (
                f"{label['org_id']} {self.org_id!r} does not end with '@AdobeOrg'; "
                "copy the organization ID from the Developer Console"
            )
        if org_problem:
            problems.append(org_problem)

        api_key_problem = _text_problem(
            label["api_key"],
            self.api_key,
            secret=True,
            hint="use the client ID of your Developer Console project",
        )
        if api_key_problem:
            problems.append(api_key_problem)

        sandbox_problem = _text_problem(
            label["sandbox"], self.sandbox, secret=False, hint="use a sandbox name, e.g. 'prod'"
        )
        if sandbox_problem is None and not _SANDBOX_NAME.fullmatch(self.sandbox):
            sandbox_problem = (
                f"{label['sandbox']} {self.sandbox!r} is not a sandbox name; sandbox names "
                "are lower case letters, digits and hyphens, e.g. 'prod'"
            )
        if sandbox_problem:
            problems.append(sandbox_problem)

        problems.extend(self._credential_problems(label))
        return problems

    def _credential_problems(self, label: Mapping[str, str]) -> list[str]:
        if self.token is None and self.client_secret is None:
            return [
                f"no credentials: give {label['token']} (an access token) or "
                f"{label['client_secret']} (for OAuth server-to-server)"
            ]
        if isinstance(self.token, str):
            problem = _text_problem(
                label["token"], self.token, secret=True, hint="pass the access token from Adobe IMS"
            )
            if problem is None and self.token.lower().startswith("bearer "):
                problem = (
                    f"{label['token']} starts with 'Bearer '; pass the token alone, "
                    "the client adds the prefix"
                )
            return [problem] if problem else []
        if self.token is not None:
            if not isinstance(self.token, TokenProvider) and not callable(self.token):
                return [
                    f"{label['token']} must be a string, a TokenProvider or a function, "
                    f"not {type(self.token).__name__}"
                ]
            return []
        problems = []
        secret_problem = _text_problem(
            label["client_secret"],
            self.client_secret,
            secret=True,
            hint="copy the client secret of your Developer Console project",
        )
        if secret_problem:
            problems.append(secret_problem)
        if not self.scopes or not all(is_header_safe(scope) for scope in self.scopes):
            problems.append(
                f"{label['scopes']} {self.scopes!r} is not a list of scopes; use your "
                "project's scopes, e.g. 'openid,AdobeID,read_organizations'"
            )
        return problems

    def token_provider(self, transport: httpx.AsyncBaseTransport | None = None) -> TokenProvider:
        """Return the provider of access tokens for these settings.

        :param transport: the httpx transport for token requests to Adobe IMS, if any
        """
        if isinstance(self.token, str):
            return StaticToken(self.token)
        if isinstance(self.token, TokenProvider):
            return self.token
        if self.token is not None:
            return TokenCallback(self.token)
        assert self.client_secret is not None
        return OAuthServerToServer(
            self.api_key,
            self.client_secret,
            self.scopes,
            ims_url=self.ims_url,
            transport=transport,
            allow_insecure_http=self.allow_insecure_http,
        )


def _text_problem(name: str, value: object, *, secret: bool, hint: str) -> str | None:
    """Return why ``value`` cannot be sent as a header, or ``None`` when it can."""
    if not isinstance(value, str):
        return f"{name} must be a string, not {type(value).__name__}; {hint}"
    if not value.strip():
        return f"{name} is empty; {hint}"
    shown = "" if secret else f" {value!r}"
    if value != value.strip():
        return f"{name}{shown} has leading or trailing whitespace; remove it"
    if not is_header_safe(value):
        return (
            f"{name}{shown} contains a character that is not printable ASCII, "
            "which an HTTP header cannot carry; check for a copy and paste error"
        )
    return None
