"""Token providers: where the bearer token comes from, and how it is renewed.

The client asks its [`TokenProvider`][aep_jobs.TokenProvider] for a token before every
request. After a 401 it calls the provider's ``invalidate`` (when the provider has one), gets a
new token and retries the request once.

- [`StaticToken`][aep_jobs.StaticToken]: one fixed token.
- [`TokenCallback`][aep_jobs.TokenCallback]: a function of yours that returns a token, e.g.
  from a vault.
- [`OAuthServerToServer`][aep_jobs.OAuthServerToServer]: Adobe IMS OAuth server-to-server
  credentials (client credentials grant), with the token cached, renewed before it expires,
  and one renewal shared by every concurrent caller.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

import anyio
import httpx
import msgspec

from ._safety import is_header_safe, service_url_problem, tls_verification
from .errors import AepJobsError, ApiError, ConfigurationError, DecodeError, TransportError
from .retry import RetryPolicy

__all__ = [
    "DEFAULT_IMS_URL",
    "DEFAULT_SCOPES",
    "OAuthServerToServer",
    "RenewableTokenProvider",
    "StaticToken",
    "TokenCallback",
    "TokenError",
    "TokenProvider",
]

logger = logging.getLogger("aep_jobs")

#: Adobe IMS's token endpoint for OAuth server-to-server credentials.
DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com/ims/token/v3"

#: The scopes that Adobe's Experience Platform API projects are given.
DEFAULT_SCOPES = ("openid", "AdobeID", "read_organizations")


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that returns a currently valid access token."""

    async def get_token(self) -> str:
        """Return the access token to send as ``Authorization: Bearer <token>``."""
        ...


@runtime_checkable
class RenewableTokenProvider(TokenProvider, Protocol):
    """A token provider that can drop a token the API rejected, so that the next is new."""

    async def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is the one held.

        The next [`get_token`][aep_jobs.TokenProvider.get_token] renews it.
        """
        ...


class TokenError(AepJobsError):
    """Adobe IMS did not issue an access token.

    :ivar operation: the token request, naming the client id
    :ivar status_code: IMS's HTTP status, or ``None`` when IMS could not be reached
    :ivar error: IMS's error code, e.g. ``invalid_client``, or ``None``
    :ivar hint: what to check, e.g. the client id and secret
    """

    def __init__(
        self,
        operation: str,
        status_code: int | None,
        *,
        error: str | None,
        message: str,
        hint: str,
    ) -> None:
        self.operation = operation
        self.status_code = status_code
        self.error = error
        self.hint = hint
        details = [] if status_code is None else [f"HTTP {status_code}"]
        if error:
            details.append(error)
        suffix = f" ({', '.join(details)})" if details else ""
        super().__init__(f"Could not {operation}: {message}{suffix}; {hint}")


class StaticToken:
    """A fixed access token, e.g. one copied from the Adobe Developer Console.

    The token is never shown by ``repr()`` or ``str()``.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("The access token is empty; pass the token string from Adobe IMS")
        if not is_header_safe(token):
            raise ValueError(
                "The access token has whitespace at its ends or characters that are not "
                "printable ASCII; pass the token string from Adobe IMS"
            )
        if token.lower().startswith("bearer "):
            raise ValueError(
                "The access token starts with 'Bearer '; pass the token alone, "
                "the client adds the prefix"
            )
        self._token = token

    async def get_token(self) -> str:
        """Return the token."""
        return self._token

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"


class TokenCallback:
    """Tokens from a function of yours, e.g. one that reads a vault or calls another service.

    The function, synchronous or asynchronous, is called for the first request, and again
    after the API rejects its token with a 401 or after ``max_age`` seconds. Concurrent
    callers share one call.

    :param function: returns an access token
    :param max_age: seconds after which a token is fetched anew; ``None`` keeps it until a 401
    :param clock: returns seconds; tests pass a clock they move themselves
    """

    def __init__(
        self,
        function: Callable[[], str] | Callable[[], Awaitable[str]],
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(function):
            raise TypeError(f"TokenCallback needs a function, not {type(function).__name__}")
        if max_age is not None and not (max_age > 0 and math.isfinite(max_age)):
            raise ValueError(f"max_age {max_age!r} is invalid; expected seconds > 0 or None")
        self._function = function
        self._max_age = max_age
        # max_age is the age at which to call again: no margin before it.
        self._cache = _SingleFlight(self._fetch, clock, margin=lambda lifetime: 0.0)

    async def get_token(self) -> str:
        """Return the cached token, calling the function when there is none."""
        return await self._cache.get()

    async def invalidate(self, token: str) -> None:
        """Forget ``token`` so that the next request calls the function again."""
        self._cache.invalidate(token)

    async def _fetch(self) -> tuple[str, float]:
        result = self._function()
        token = await result if inspect.isawaitable(result) else result
        if not is_header_safe(token):
            raise ConfigurationError(
                [
                    f"the token function {_name_of(self._function)} returned a value that is "
                    "not a token: an empty string, or text with whitespace at its ends or "
                    "characters that are not printable ASCII"
                ]
            )
        lifetime = math.inf if self._max_age is None else self._max_age
        return token, lifetime

    def __repr__(self) -> str:
        return f"TokenCallback({_name_of(self._function)}, max_age={self._max_age!r})"


class OAuthServerToServer:
    """Access tokens from Adobe IMS for OAuth server-to-server credentials.

    The token is cached and renewed before it expires: when less than a tenth of its lifetime
    or 5 minutes, whichever is longer (but at most half its lifetime), remains. With Adobe's
    24-hour tokens that is about 2.4 hours before expiry. Concurrent callers that find no
    valid token share one request to IMS. There is no refresh token in this grant: renewing
    means asking for a new token, and IMS may throttle integrations that ask too often.

    :param client_id: the Developer Console project's client id (also the API key)
    :param client_secret: the project's client secret; never logged or shown
    :param scopes: the project's scopes, as a sequence or a comma-separated string
    :param ims_url: the token endpoint
    :param transport: an httpx transport to send token requests through, e.g. the emulator's
    :param timeout: seconds, or an ``httpx.Timeout``, for each token request
    :param allow_insecure_http: allow a plain ``http://`` IMS URL on a host that is not
        loopback; the client secret would then cross the network unencrypted
    :param verify: whether to verify IMS's TLS certificate; turning it off logs a warning
    :param retry: the retry policy of token requests (IMS outages, 429, 5xx)
    :param clock: returns seconds; tests pass a clock they move themselves
    :raises ConfigurationError: listing every invalid argument
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str] | str = DEFAULT_SCOPES,
        *,
        ims_url: str = DEFAULT_IMS_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        allow_insecure_http: bool = False,
        verify: bool = True,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        scope_tuple = scope_list(scopes)
        problems = []
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not is_header_safe(value):
                problems.append(
                    f"{name} is empty, not a string, or has whitespace at its ends or "
                    "characters that are not printable ASCII"
                )
        if not scope_tuple:
            problems.append("scopes is empty; use your project's scopes, e.g. 'openid,AdobeID'")
        url_problem = service_url_problem(
            "ims_url", ims_url, allow_insecure_http, "allow_insecure_http=True", DEFAULT_IMS_URL
        )
        if url_problem:
            problems.append(url_problem)
        if problems:
            raise ConfigurationError(problems)

        self.client_id = client_id
        self.scopes = scope_tuple
        self.ims_url = ims_url
        self._form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": ",".join(scope_tuple),
            }
        ).encode()
        if not verify:
            logger.warning(
                "TLS certificate verification is off for Adobe IMS at %s: the client secret "
                "can be read by anyone who can intercept the connection",
                ims_url,
            )
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            verify=tls_verification(verify),
            follow_redirects=False,
        )
        self._retry = RetryPolicy() if retry is None else retry
        self._cache = _SingleFlight(self._fetch, clock)
        self.token_requests = 0

    async def get_token(self) -> str:
        """Return a valid access token, asking IMS for one when needed."""
        return await self._cache.get()

    async def invalidate(self, token: str) -> None:
        """Forget ``token`` so that the next request gets a new one from IMS."""
        self._cache.invalidate(token)

    async def aclose(self) -> None:
        """Close the connections to IMS."""
        await self._http.aclose()

    def __repr__(self) -> str:
        return (
            f"OAuthServerToServer(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"ims_url={self.ims_url!r}, client_secret=<hidden>)"
        )

    async def _fetch(self) -> tuple[str, float]:
        from ._http import post_form

        operation = f"request an access token from Adobe IMS for client id {self.client_id}"
        self.token_requests += 1
        try:
            token = await post_form(
                self._http, self.ims_url, self._form, operation, _ImsToken, retry=self._retry
            )
        except DecodeError as error:
            raise TokenError(
                operation,
                error.status_code,
                error=None,
                message=f"Adobe IMS sent a response that is not a token ({error.reason})",
                hint=f"check that ims_url {self.ims_url!r} is IMS's token endpoint",
            ) from None
        except ApiError as error:
            raise _ims_error(operation, error) from None
        except TransportError as error:
            raise TokenError(
                operation,
                None,
                error=None,
                message=f"Adobe IMS could not be reached ({error})",
                hint=f"check the network path to {self.ims_url}, then try again",
            ) from error

        if not is_header_safe(token.access_token) or token.expires_in <= 0:
            raise TokenError(
                operation,
                200,
                error=None,
                message="Adobe IMS sent an empty or unusable token",
                hint=f"check that ims_url {self.ims_url!r} is IMS's token endpoint",
            )
        logger.debug(
            "Adobe IMS issued an access token for client id %s, valid for %d s",
            self.client_id,
            token.expires_in,
        )
        return token.access_token, float(token.expires_in)


class _ImsToken(msgspec.Struct):
    access_token: str
    expires_in: float
    token_type: str = "bearer"


class _SingleFlight:
    """A cached token that one task at a time renews, while the others wait for it.

    Tasks that waited during a renewal get its result: the new token, or the same error, so
    that a failing token service receives one request, not one per waiting task.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        clock: Callable[[], float] = time.monotonic,
        margin: Callable[[float], float] | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = renew_margin if margin is None else margin
        self._token: str | None = None
        self._renew_at = 0.0
        self._attempts = 0
        self._failure: BaseException | None = None
        # Created on first use, inside the event loop that will use it.
        self._lock: anyio.Lock | None = None

    async def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < self._renew_at:
            return token
        if self._lock is None:
            self._lock = anyio.Lock()
        attempts_seen = self._attempts
        async with self._lock:
            if self._attempts != attempts_seen:
                # A renewal ran while this task waited: share its outcome.
                if self._failure is not None:
                    raise self._failure
                if self._token is not None and self._clock() < self._renew_at:
                    return self._token
            self._attempts += 1
            started = self._clock()
            try:
                token, lifetime = await self._fetch()
            except AepJobsError as error:
                self._failure = error
                raise
            self._failure = None
            self._token = token
            self._renew_at = started + lifetime - self._margin(lifetime)
            return token

    def invalidate(self, token: str) -> None:
        if token == self._token:
            self._token = None


def renew_margin(lifetime: float) -> float:
    """Return how long before expiry a token of ``lifetime`` seconds is renewed."""
    if math.isinf(lifetime):
        return 0.0
    return min(max(300.0, lifetime * 0.1), lifetime / 2)


def scope_list(scopes: Sequence[str] | str) -> tuple[str, ...]:
    """Return scopes given as a sequence or a comma-separated string as a clean tuple."""
    if isinstance(scopes, str):
        scopes = scopes.split(",")
    return tuple(scope.strip() for scope in scopes if isinstance(scope, str) and scope.strip())


_IMS_HINTS = {
    "invalid_client": "check the client id and client secret of your Developer Console project",
    "invalid_scope": "check that the scopes match those of your Developer Console project",
    "unsupported_grant_type": "the credentials must be of the OAuth server-to-server type",
    "invalid_request": "check the IMS URL and the credentials",
}


def _ims_error(operation: str, error: ApiError) -> TokenError:
    body = error.body
    ims_code = body.error if body is not None else None
    if error.status_code >= 500 or error.status_code == 429:
        hint = "Adobe IMS is unavailable or throttling this integration; try again later"
    else:
        hint = _IMS_HINTS.get(
            ims_code or "", "check the client id, client secret, scopes and IMS URL"
        )
    return TokenError(
        operation,
        error.status_code,
        error=ims_code,
        message=f"Adobe IMS rejected the token request: {error.message}",
        hint=hint,
    )


def _name_of(function: object) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__
