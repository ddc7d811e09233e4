"""The one place that sends requests: headers, credentials, timeouts, errors and decoding.

Nothing else in aep_jobs calls httpx. Each response type gets one msgspec decoder, built on
first use and kept.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import uuid
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import anyio
import httpx
import msgspec

from ._safety import is_header_safe
from .auth import RenewableTokenProvider, TokenProvider
from .config import DEFAULT_DEADLINE
from .errors import (
    AepJobsError,
    ApiError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    DecodeError,
    OutcomeUnknownError,
    TransportError,
    TransportTimeoutError,
    body_prefix,
    error_class_for,
)
from .models import ErrorBody, decoder_for
from .retry import RetryBudget, RetryPolicy, parse_retry_after

logger = logging.getLogger("aep_jobs")

T = TypeVar("T")
E = TypeVar("E", bound=AepJobsError)

_NO_CONTENT = frozenset({204, 205})


class Response(msgspec.Struct, frozen=True, gc=False):
    """A decoded response with the metadata callers may need."""

    status_code: int
    headers: httpx.Headers
    data: Any


class Identity(msgspec.Struct, frozen=True):
    """The headers that identify the caller's organisation and sandbox."""

    api_key: str
    org_id: str
    sandbox: str

    def __repr__(self) -> str:
        return f"Identity(org_id={self.org_id!r}, sandbox={self.sandbox!r}, api_key=<hidden>)"


class Sender:
    """Sends requests to one service root and turns every outcome into data or an error.

    :param http: the HTTP client; the sender never closes it
    :param base_url: the service root, e.g. ``https://platform.adobe.io/data/core/ups``
    :param identity: the organisation headers sent with every request, or ``None``
    :param token: where the bearer token comes from, or ``None`` to send none
    :param retry: the retry policy of calls that do not give their own
    :param budget: the retry budget shared by every call, or ``None`` for no budget
    :param deadline: seconds for a whole call, retries included, or ``None`` for no limit
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: httpx.URL,
        identity: Identity | None,
        token: TokenProvider | None,
        *,
        retry: RetryPolicy,
        budget: RetryBudget | None,
        deadline: float | None,
    ) -> None:
        self._http = http
        self.base_url = base_url
        self.retry = retry
        self.budget = budget
        self.deadline = deadline
        self._checked_token: str | None = None
        self._identity = identity
        self._token = token
        self._static_headers = {"accept": "application/json"}
        if identity is not None:
            self._static_headers.update(
                {
                    "x-api-key": identity.api_key,
                    "x-gw-ims-org-id": identity.org_id,
                    "x-sandbox-name": identity.sandbox,
                }
            )

    def url_for(self, path: str) -> httpx.URL:
        """Return the absolute URL of a path relative to the service root."""
        return self.base_url.copy_with(
            raw_path=(self.base_url.raw_path.rstrip(b"/") + path.encode())
        )

    def same_origin(self, url: httpx.URL) -> bool:
        """Check whether ``url`` has the scheme, host and port of the service root."""
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    async def request(
        self,
        operation: str,
        method: str,
        url: httpx.URL,
        *,
        decode: type[T] | None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
        content_type: str = "application/json",
        idempotent: bool | None = None,
    ) -> Response:
        """Send a request, retrying as the policy allows, and decode its body into ``decode``.

        :param operation: what the request does, for messages, e.g. ``get export job 722``
        :param decode: the type of the success body; ``None`` or an empty body leaves
            ``Response.data`` as ``None``
        :param ok: the HTTP statuses that mean success
        :param retry: the retry policy of this call; the sender's own when ``None``
        :param deadline: seconds for the whole call, retries and backoff included; the
            sender's own when ``None``, and ``math.inf`` for no limit
        :param content_type: the media type of ``body``
        :param idempotent: whether repeating the request is harmless; by default, every
            method but POST
        :raises ApiError: (a subclass for each status) the response status is not in ``ok``
        :raises TransportError: no response arrived
        :raises DecodeError: the success body does not decode into ``decode``
        :raises OutcomeUnknownError: a POST failed after the server may have acted on it
        """
        if self._http.is_closed:
            raise ClientClosedError(
                f"Cannot {operation}: the client is closed; create a new ExportJobsClient"
            )
        if not self.same_origin(url):
            # Credentials go only to the configured origin.
            raise TransportError(
                operation,
                f"refused to send credentials to {url.scheme}://{url.netloc.decode()}; "
                f"only {self.base_url.scheme}://{self.base_url.netloc.decode()} is configured",
            )
        call = _Call(
            operation=operation,
            policy=self.retry if retry is None else retry,
            idempotent=method != "POST" if idempotent is None else idempotent,
            started=time.monotonic(),
            started_at_ms=int(time.time() * 1000),
        )
        limit = self.deadline if deadline is None else deadline
        if limit is None:
            limit = math.inf

        with anyio.move_on_after(limit):
            while True:
                call.attempts += 1
                call.in_flight = True
                try:
                    response = await self._attempt(
                        call, method, url, decode, params, body, content_type, extra_headers, ok
                    )
                except (ApiError, TransportError, DecodeError) as error:
                    call.in_flight = False
                    if await self._renewed_token(call, error):
                        continue
                    delay = self._plan_retry(call, error)
                    await call.policy.sleep(delay)
                    continue
                if self.budget is not None:
                    self.budget.refund()
                return response

        # The loop only ends by returning or raising, so the deadline cancelled it.
        reason = f"no success within the deadline of {limit:g} s"
        if not call.idempotent and (call.in_flight or call.ambiguous):
            unknown = OutcomeUnknownError(operation, reason, started_at=call.started_at_ms)
            raise call.annotate(unknown)
        raise call.annotate(TransportTimeoutError(operation, reason))

    async def _renewed_token(self, call: _Call, error: AepJobsError) -> bool:
        """After a first 401, drop the rejected token so that the next attempt has a new one.

        :return: whether to try again at once
        """
        if not isinstance(error, AuthenticationError) or error.status_code != 401:
            return False
        if call.renewed_token or call.token is None:
            return False
        if not isinstance(self._token, RenewableTokenProvider):
            return False
        call.renewed_token = True
        logger.info(
            "The API rejected the access token during %s (HTTP 401); renewing it and retrying",
            call.operation,
        )
        await self._token.invalidate(call.token)
        return True

    def _plan_retry(self, call: _Call, error: ApiError | TransportError | DecodeError) -> float:
        """Return the seconds to wait before the next attempt, or raise the error to give up."""
        policy = call.policy
        status = error.status_code if isinstance(error, ApiError) else None
        cause = error.__cause__ if isinstance(error, TransportError) else None

        if isinstance(error, DecodeError):
            # A success whose body cannot be read. A GET or DELETE can be repeated, but a
            # create succeeded: repeating it would create a second job.
            retryable = call.idempotent
        else:
            retryable = policy.is_retryable(status, cause)
        if not retryable:
            raise call.give_up(error)

        safe = call.idempotent or policy.create_is_safe_to_retry(status, cause)
        if not safe:
            if not policy.retry_creates:
                raise call.unknown(error) from error
            call.ambiguous = True
        if call.attempts >= policy.max_attempts:
            raise call.give_up(error)

        retry_after = error.retry_after if isinstance(error, ApiError) else None
        if retry_after is not None and retry_after > policy.max_retry_after:
            raise call.give_up(
                error,
                note=f"the server asked to wait {retry_after:g} s, more than the "
                f"{policy.max_retry_after:g} s that the retry policy allows",
            )
        delay = retry_after if retry_after is not None else policy.backoff(call.attempts)

        expensive = isinstance(error, TransportTimeoutError) or status == 429
        if self.budget is not None and not self.budget.withdraw(expensive=expensive):
            raise call.give_up(error, note="the client's retry budget is used up")
        logger.info(
            "Retrying %s in %.2f s (attempt %d of %d failed: %s)",
            call.operation,
            delay,
            call.attempts,
            policy.max_attempts,
            _short_reason(error),
        )
        return delay

    async def _token_for(self, call: _Call) -> str:
        """Return the provider's token for this attempt, checked before it goes into a header."""
        assert self._token is not None
        token = call.token = await self._token.get_token()
        if token is not self._checked_token:
            if not is_header_safe(token):
                raise ConfigurationError(
                    [
                        f"the token provider {type(self._token).__name__} returned a token "
                        "that is empty, or has whitespace at its ends or characters that are "
                        "not printable ASCII; nothing was sent"
                    ]
                )
            self._checked_token = token
        return token

    async def _attempt(
        self,
        call: _Call,
        method: str,
        url: httpx.URL,
        decode: type[T] | None,
        params: Mapping[str, str] | None,
        body: bytes | None,
        content_type: str,
        extra_headers: Mapping[str, str] | None,
        ok: Collection[int],
    ) -> Response:
        """Send one request and turn its outcome into a response or an error."""
        operation = call.operation
        request_id = str(uuid.uuid4())
        headers = {**self._static_headers, "x-request-id": request_id}
        if self._token is not None:
            headers["authorization"] = f"Bearer {await self._token_for(call)}"
        if body is not None:
            headers["content-type"] = content_type
        if extra_headers:
            headers.update(extra_headers)

        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.TimeoutException as error:
            raise TransportTimeoutError(
                operation,
                f"timed out ({type(error).__name__}); "
                f"{url.netloc.decode()} did not respond in time",
            ) from error
        except httpx.LocalProtocolError as error:
            # Its message can quote a header value, and so a credential: it is left out.
            raise TransportError(
                operation, f"the request could not be sent ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise TransportError(
                operation,
                f"{type(error).__name__}: {error or 'connection failed'} ({url.netloc.decode()})",
            ) from error

        elapsed_ms = (time.perf_counter() - started) * 1000
        server_request_id = response.headers.get("x-request-id", request_id)
        logger.debug(
            "%s %s -> %d in %.1f ms (request id %s)",
            method,
            url.path,
            response.status_code,
            elapsed_ms,
            server_request_id,
        )

        content = response.content
        # httpx's response and its stream refer to each other, so only the garbage
        # collector frees them, and the body with them: emptying the stream (the response is
        # closed, nothing reads it again) frees a 1 MB page body as soon as it is decoded.
        # Measured by benchmarks/listing.py: 1,000,000 jobs peaked at 161 MB before, 51 MB after.
        response.stream = httpx.ByteStream(b"")
        if response.status_code not in ok:
            raise _api_error(
                operation, response.status_code, response.headers, content, server_request_id
            )
        if decode is None or not content or response.status_code in _NO_CONTENT:
            return Response(response.status_code, response.headers, None)
        try:
            data = decoder_for(decode).decode(content)
        except msgspec.ValidationError as error:
            raise DecodeError(
                operation, response.status_code, content, f"unexpected shape: {error}"
            ) from None
        except msgspec.DecodeError as error:
            raise DecodeError(
                operation, response.status_code, content, f"not valid JSON: {error}"
            ) from None
        except RecursionError:
            raise DecodeError(
                operation, response.status_code, content, "the JSON is nested too deeply"
            ) from None
        return Response(response.status_code, response.headers, data)


@dataclasses.dataclass
class _Call:
    """The state of one call across its attempts."""

    operation: str
    policy: RetryPolicy
    idempotent: bool
    started: float
    started_at_ms: int
    attempts: int = 0
    in_flight: bool = False
    # The token sent with the latest attempt, and whether a 401 already renewed it.
    token: str | None = None
    renewed_token: bool = False
    # Whether an earlier attempt of a create may have reached the server.
    ambiguous: bool = False

    def annotate(self, error: E) -> E:
        """Record the attempts and the time spent on the error."""
        error.attempts = self.attempts
        error.elapsed = time.monotonic() - self.started
        return error

    def give_up(self, error: AepJobsError, note: str | None = None) -> AepJobsError:
        """Return the error that ends the call, with the reason for not retrying any more."""
        if not self.idempotent and self.ambiguous:
            error = self.unknown(error)
        if note is not None:
            error.retry_note = note
        if note is not None or self.attempts > 1:
            logger.warning(
                "Gave up on %s after %d attempts: %s (%s)",
                self.operation,
                self.attempts,
                note or "no attempts left",
                _short_reason(error),
            )
        return self.annotate(error)

    def unknown(self, error: AepJobsError) -> OutcomeUnknownError:
        """Return the error for a create whose outcome ``error`` left unknown."""
        unknown = OutcomeUnknownError(
            self.operation, _short_reason(error), started_at=self.started_at_ms
        )
        unknown.__cause__ = error
        return self.annotate(unknown)


def _short_reason(error: AepJobsError) -> str:
    if isinstance(error, ApiError):
        return f"HTTP {error.status_code}: {error.message}"
    if isinstance(error, TransportError) and error.__cause__ is not None:
        return f"{type(error.__cause__).__name__}: {error.__cause__}"
    return str(error)


def _api_error(
    operation: str,
    status_code: int,
    headers: httpx.Headers,
    content: bytes,
    request_id: str,
) -> ApiError:
    body: ErrorBody | None
    try:
        body = decoder_for(ErrorBody).decode(content) if content else None
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        body = None

    if body is not None and body.explanation:
        message = body.explanation
    elif content:
        message = f"unexpected error body {body_prefix(content)!r}"
    else:
        message = httpx.codes.get_reason_phrase(status_code) or "no error body"
    code = body.code if body is not None else None
    if body is not None and body.request_id:
        request_id = body.request_id

    error_class = error_class_for(status_code)
    return error_class(
        operation,
        status_code,
        code=code,
        message=message,
        request_id=request_id,
        body=body,
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


async def post_form(
    http: httpx.AsyncClient,
    url: str,
    form: bytes,
    operation: str,
    decode: type[T],
    *,
    retry: RetryPolicy,
) -> T:
    """Post a form to a service other than the API, e.g. Adobe IMS, and decode the response.

    The request carries no API headers and no token. It is retried like a GET, because
    repeating it is harmless, and it has no retry budget of its own.
    """
    target = httpx.URL(url)
    sender = Sender(http, target, None, None, retry=retry, budget=None, deadline=DEFAULT_DEADLINE)
    response = await sender.request(
        operation,
        "POST",
        target,
        decode=decode,
        body=form,
        content_type="application/x-www-form-urlencoded",
        idempotent=True,
    )
    if response.data is None:
        raise DecodeError(operation, response.status_code, b"", "the body is empty")
    data: T = response.data
    return data
