"""Client settings, their defaults, and reading them from environment variables.

Every default is named once here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping

import httpx

from .auth import StaticToken, TokenProvider
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_DEADLINE",
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

#: Jobs per page when listing. Adobe documents neither a default nor a maximum for ``limit``.
DEFAULT_PAGE_SIZE = 100

#: The environment variables that :meth:`Settings.from_env` reads, by setting.
ENVIRONMENT_VARIABLES = {
    "base_url": "AEP_BASE_URL",
    "org_id": "AEP_ORG_ID",
    "api_key": "AEP_API_KEY",
    "sandbox": "AEP_SANDBOX",
    "access_token": "AEP_ACCESS_TOKEN",
}
# The Developer Console calls the API key "client ID"; either name is read.
_API_KEY_ALIAS = "AEP_CLIENT_ID"

_SANDBOX_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class Settings:
    """The service root and the identity of the caller.

    :param org_id: the IMS organization id, e.g. ``1BD6382559DF0C130A49422D@AdobeOrg``
    :param api_key: the API key (the Developer Console's client id)
    :param sandbox: the sandbox name, lower case, e.g. ``prod``
    :param token: an access token, or a :class:`~aep_jobs.auth.TokenProvider`
    :param base_url: the service root; Adobe's production root by default
    :param allow_insecure_http: allow a plain ``http://`` base URL on a host that is not
        loopback; the bearer token would then cross the network unencrypted
    """

    org_id: str
    api_key: str
    sandbox: str
    token: str | TokenProvider
    base_url: str = PRODUCTION_BASE_URL
    allow_insecure_http: bool = False

    def __repr__(self) -> str:
        return (
            f"Settings(base_url={self.base_url!r}, org_id={self.org_id!r}, "
            f"sandbox={self.sandbox!r}, api_key=<hidden>, token=<hidden>)"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (see :data:`ENVIRONMENT_VARIABLES`).

        :raises ConfigurationError: listing every missing or invalid variable
        """
        env = os.environ if environ is None else environ
        names = ENVIRONMENT_VARIABLES
        values = {setting: env.get(name, "").strip() for setting, name in names.items()}
        if not values["api_key"]:
            values["api_key"] = env.get(_API_KEY_ALIAS, "").strip()

        problems = [
            f"{names[setting]} is not set"
            + (f" (or {_API_KEY_ALIAS})" if setting == "api_key" else "")
            for setting in ("org_id", "api_key", "sandbox", "access_token")
            if not values[setting]
        ]
        if problems:
            raise ConfigurationError(problems)
        settings = cls(
            org_id=values["org_id"],
            api_key=values["api_key"],
            sandbox=values["sandbox"],
            token=values["access_token"],
            base_url=values["base_url"] or PRODUCTION_BASE_URL,
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Check every setting.

        :raises ConfigurationError: listing every problem found
        """
        problems = []
        base_problem = _base_url_problem(self.base_url, self.allow_insecure_http)
        if base_problem:
            problems.append(base_problem)
        if not self.org_id.strip():
            problems.append("org_id is empty; copy the organization ID from the Developer Console")
        elif not self.org_id.endswith("@AdobeOrg"):
            problems.append(
                f"org_id {self.org_id!r} does not end with '@AdobeOrg'; "
                "copy the organization ID from the Developer Console"
            )
        if not self.api_key.strip():
            problems.append("api_key is empty; use the client ID of your Developer Console project")
        if not _SANDBOX_NAME.fullmatch(self.sandbox):
            problems.append(
                f"sandbox {self.sandbox!r} is not a sandbox name; sandbox names are lower case "
                "letters, digits and hyphens, e.g. 'prod'"
            )
        if isinstance(self.token, str):
            try:
                StaticToken(self.token)
            except ValueError as error:
                problems.append(str(error))
        elif not isinstance(self.token, TokenProvider):
            problems.append(
                f"token must be a string or a TokenProvider, not {type(self.token).__name__}"
            )
        if problems:
            raise ConfigurationError(problems)

    def token_provider(self) -> TokenProvider:
        """Return the token as a provider."""
        if isinstance(self.token, str):
            return StaticToken(self.token)
        return self.token


def _base_url_problem(base_url: str, allow_insecure_http: bool) -> str | None:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        return f"base_url {base_url!r} is not a valid URL ({error})"
    if url.scheme not in ("https", "http") or not url.host:
        return (
            f"base_url {base_url!r} is not an absolute http(s) URL; "
            f"use e.g. {PRODUCTION_BASE_URL!r}"
        )
    if url.query or url.fragment:
        return f"base_url {base_url!r} has a query or fragment; give only the service root"
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        return (
            f"base_url {base_url!r} uses plain http on a host that is not loopback, so the "
            "access token would travel unencrypted; use https, or pass "
            "allow_insecure_http=True if that is intended"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
