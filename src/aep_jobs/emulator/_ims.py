"""Adobe IMS's token endpoint for OAuth server-to-server credentials: ``POST /ims/token/v3``.

A client sends ``grant_type=client_credentials``, its ``client_id`` and ``client_secret``,
and a comma-separated ``scope`` as a form, and gets ``{"access_token", "token_type",
"expires_in"}`` back. Errors have the OAuth 2.0 shape ``{"error", "error_description"}``.
No error response or log line contains the client secret, and no log line the token.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import unquote_plus

import msgspec

from ._config import EmulatorConfig
from ._handlers import BodyTooLargeError, Receive, Request, read_body
from ._responses import Response, ims_error
from ._tokens import TokenRegistry

__all__ = ["TokenEndpoint", "method_not_allowed"]

logger = logging.getLogger("aep_jobs.emulator")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# A token request has four short parameters, so 64 KiB leaves room for any real one.
MAX_FORM_SIZE = 64 * 1024

_PARAMETERS = ("grant_type", "client_id", "client_secret", "scope")
# RFC 6749, section 5.1: token responses must not be cached.
_NO_STORE_HEADERS = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class _TokenRequestError(Exception):
    """A token request that the endpoint rejects, with its status and OAuth 2.0 error."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class TokenEndpoint:
    """Checks token requests against the configured clients and scopes, and issues tokens."""

    def __init__(self, config: EmulatorConfig, tokens: TokenRegistry) -> None:
        self._config = config
        self._tokens = tokens
        self._encode = msgspec.json.Encoder().encode

    async def handle(self, request: Request, receive: Receive) -> Response:
        """Issue a token for a valid ``POST`` request, or return the OAuth 2.0 error.

        :raises ClientDisconnectedError: when the client leaves while sending the form.
        """
        try:
            client_id = await self._check(request, receive)
        except _TokenRequestError as rejection:
            logger.debug(
                "Rejected a token request with %s: %s (request id %s)",
                rejection.error,
                rejection.description,
                request.request_id,
            )
            return ims_error(rejection.status, rejection.error, rejection.description)

        lifetime = self._config.token_lifetime
        token = self._tokens.issue(lifetime, by_endpoint=True)
        logger.debug(
            "Issued an access token to client %s, valid for %d s (request id %s)",
            client_id,
            int(lifetime),
            request.request_id,
        )
        body = {"access_token": token, "token_type": "bearer", "expires_in": int(lifetime)}
        return Response(200, self._encode(body), list(_NO_STORE_HEADERS))

    async def _check(self, request: Request, receive: Receive) -> str:
        """Read and check the form, and return the client id.

        :raises _TokenRequestError: for the first check that fails, in the order of the
            ``raise`` statements below.
        """
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != FORM_CONTENT_TYPE:
            raise _TokenRequestError(
                400,
                "invalid_request",
                f"Content-Type must be {FORM_CONTENT_TYPE}, got {content_type or 'none'}",
            )
        try:
            body = await read_body(receive, MAX_FORM_SIZE)
        except BodyTooLargeError:
            raise _TokenRequestError(
                413, "invalid_request", f"the request body is larger than {MAX_FORM_SIZE} bytes"
            ) from None
        form = _parse_form(body)

        if form.get("grant_type") != "client_credentials":
            raise _TokenRequestError(
                400,
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            )

        client_id = form.get("client_id", "")
        clients = self._config.ims_clients
        if not client_id or (clients is not None and client_id not in clients):
            raise _TokenRequestError(400, "invalid_client", "invalid client_id parameter")

        secret = form.get("client_secret", "")
        if not secret or (clients is not None and not _same(secret, clients[client_id])):
            raise _TokenRequestError(401, "invalid_client", "invalid client_secret parameter")

        self._check_scopes(form.get("scope", ""))
        return client_id

    def _check_scopes(self, scope: str) -> None:
        requested = [name.strip() for name in scope.split(",")]
        requested = [name for name in requested if name]
        if not requested:
            raise _TokenRequestError(400, "invalid_scope", "missing scope parameter")

        allowed = self._config.ims_scopes
        if allowed is None:
            return
        rejected = [name for name in requested if name not in allowed]
        if rejected:
            raise _TokenRequestError(
                400, "invalid_scope", f"invalid scope: {', '.join(rejected)} not allowed"
            )


def method_not_allowed(method: str) -> Response:
    """Build the endpoint's 405 response to a method other than POST."""
    return ims_error(
        405,
        "invalid_request",
        f"method {method} is not allowed on the token endpoint, use POST",
        [(b"allow", b"POST")],
    )


def _parse_form(body: bytes) -> dict[str, str]:
    """Decode a form body into the values of the token request's parameters.

    Other parameters are ignored, as RFC 6749 (section 3.2) requires of a token endpoint.

    :raises _TokenRequestError: when the body is not UTF-8 form data, or repeats one of
        the token request's parameters.
    """
    not_a_form = _TokenRequestError(
        400, "invalid_request", f"the request body is not valid {FORM_CONTENT_TYPE} data"
    )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise not_a_form from None

    form: dict[str, str] = {}
    for field in text.split("&"):
        if not field:
            continue
        encoded_name, separator, encoded_value = field.partition("=")
        if not separator or not encoded_name:
            raise not_a_form
        try:
            name = unquote_plus(encoded_name, errors="strict")
            value = unquote_plus(encoded_value, errors="strict")
        except UnicodeDecodeError:
            raise not_a_form from None
        if name not in _PARAMETERS:
            continue
        if name in form:
            raise _TokenRequestError(400, "invalid_request", f"repeated {name} parameter")
        form[name] = value
    return form


def _same(sent: str, expected: str) -> bool:
    """Compare secrets in constant time, so that response times reveal nothing of them."""
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))
