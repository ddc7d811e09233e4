"""Header checks of Adobe's API gateway, applied in the gateway's order before the service runs."""

from __future__ import annotations

from collections.abc import Mapping

from ._config import EmulatorConfig
from ._responses import Response, gateway_error
from ._tokens import TokenRegistry

__all__ = ["check_gateway_headers"]


def check_gateway_headers(
    headers: Mapping[str, str], config: EmulatorConfig, tokens: TokenRegistry
) -> Response | None:
    """Return the gateway's error response for the first missing or rejected header, if any.

    ``headers`` maps lower-case header names to values. ``tokens`` contains the tokens
    that the emulator issued.
    """
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return gateway_error(403, "403010", "Oauth token is missing.")
    if not _is_token_accepted(token, config, tokens):
        return gateway_error(401, "401013", "Oauth token is not valid")

    api_key = headers.get("x-api-key", "").strip()
    if not api_key:
        return gateway_error(403, "403000", "Api Key is required")
    if config.api_keys is not None and api_key not in config.api_keys:
        return gateway_error(403, "403003", "Api Key is invalid")

    for name in ("x-gw-ims-org-id", "x-sandbox-name"):
        if not headers.get(name, "").strip():
            return gateway_error(400, "400003", f"Required header {name} is missing.")
    return None


def _is_token_accepted(token: str, config: EmulatorConfig, tokens: TokenRegistry) -> bool:
    """Accept a configured or an issued, unexpired token, or any token when neither is required."""
    static_tokens = config.access_tokens
    if static_tokens is None and not config.require_issued_tokens:
        return True
    if static_tokens is not None and token in static_tokens:
        return True
    return tokens.is_valid(token)
