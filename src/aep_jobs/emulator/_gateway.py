"""Header checks of Adobe's API gateway, applied in the gateway's order before the service runs."""

from __future__ import annotations

from collections.abc import Mapping

from ._config import EmulatorConfig
from ._responses import Response, gateway_error

__all__ = ["check_gateway_headers"]


def check_gateway_headers(headers: Mapping[str, str], config: EmulatorConfig) -> Response | None:
    """Return the gateway's error response for the first missing or rejected header, if any.

    ``headers`` maps lower-case header names to values.
    """
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return gateway_error(403, "403010", "Oauth token is missing.")
    if config.access_tokens is not None and token not in config.access_tokens:
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
