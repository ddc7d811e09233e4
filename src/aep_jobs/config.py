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

from .auth import StaticToken, TokenProvider, is_header_safe
from .errors import ConfigurationError

__all__ = [
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

#: The environment variables that :meth:`Settings.from_env` reads, by setting.
ENVIRONMENT_VARIABLES = {
    "base_url": "AEP_BASE_URL",
    "org_id": "AEP_ORG_ID",
    "api_key": "AEP_API_KEY",
    "sandbox": "AEP_SANDBOX",
    "access_token": "AEP_ACCESS_TOKEN",
}
#: The Developer Console calls the API key "client ID", so this name is read too.
API_KEY_ALIAS = "AEP_CLIENT_ID"

#: Set to 1 to allow a plain ``http://`` base URL on a host that is not loopback.
ALLOW_INSECURE_HTTP_VARIABLE = "AEP_ALLOW_INSECURE_HTTP"

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

        ``AEP_ALLOW_INSECURE_HTTP=1`` allows a plain ``http://`` base URL on a host that is
        not loopback.

        :raises ConfigurationError: listing every missing or invalid variable
        """
        env = os.environ if environ is None else environ
        names = dict(ENVIRONMENT_VARIABLES)
        # Whitespace at the ends is dropped: values read from files often end with a newline.
        values = {setting: env.get(name, "").strip() for setting, name in names.items()}
        if not values["api_key"] and env.get(API_KEY_ALIAS, "").strip():
            values["api_key"] = env[API_KEY_ALIAS].strip()
            names["api_key"] = API_KEY_ALIAS

        missing = [
            f"{names[setting]} is not set"
            + (f" (or {API_KEY_ALIAS})" if setting == "api_key" else "")
            for setting in ("org_id", "api_key", "sandbox", "access_token")
            if not values[setting]
        ]
        insecure = env.get(ALLOW_INSECURE_HTTP_VARIABLE, "").strip().lower()
        settings = cls(
            org_id=values["org_id"],
            api_key=values["api_key"],
            sandbox=values["sandbox"],
            token=values["access_token"],
            base_url=values["base_url"] or PRODUCTION_BASE_URL,
            allow_insecure_http=insecure in ("1", "true", "yes"),
        )
        names["token"] = names.pop("access_token")
        names["allow_insecure_http"] = f"{ALLOW_INSECURE_HTTP_VARIABLE}=1"
        # Values that are missing are reported once, as missing.
        present = [
            problem
            for problem in settings.problems(names)
            if not any(problem.startswith(f"{names[setting]} is empty;") for setting in names)
        ]
        problems = missing + present
        if problems:
            raise ConfigurationError(problems)
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

        base_problem = _base_url_problem(
            self.base_url, self.allow_insecure_http, label["base_url"], label["allow_insecure_http"]
        )
        if base_problem:
            problems.append(base_problem)

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

        if isinstance(self.token, str):
            token_problem = _text_problem(
                label["token"],
                self.token,
                secret=True,
                hint="pass the access token from Adobe IMS",
            )
            if token_problem is None and self.token.lower().startswith("bearer "):
                token_problem = (
                    f"{label['token']} starts with 'Bearer '; pass the token alone, "
                    "the client adds the prefix"
                )
            if token_problem:
                problems.append(token_problem)
        elif not isinstance(self.token, TokenProvider):
            problems.append(
                f"{label['token']} must be a string or a TokenProvider, "
                f"not {type(self.token).__name__}"
            )
        return problems

    def token_provider(self) -> TokenProvider:
        """Return the token as a provider."""
        if isinstance(self.token, str):
            return StaticToken(self.token)
        return self.token


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


def _base_url_problem(
    base_url: object, allow_insecure_http: bool, name: str, allow_name: str
) -> str | None:
    if not isinstance(base_url, str):
        return f"{name} must be a string, not {type(base_url).__name__}"
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as error:
        return f"{name} {base_url!r} is not a valid URL ({error})"
    if url.userinfo:
        return f"{name} contains a user name or password; remove them from the URL"
    if url.scheme not in ("https", "http") or not url.host:
        return (
            f"{name} {base_url!r} is not an absolute http(s) URL; use e.g. {PRODUCTION_BASE_URL!r}"
        )
    if url.query or url.fragment:
        return f"{name} {base_url!r} has a query or fragment; give only the service root"
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        return (
            f"{name} {base_url!r} uses plain http on a host that is not loopback, so the "
            f"access token would travel unencrypted; use https, or set {allow_name} "
            "if that is intended"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
