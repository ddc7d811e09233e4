"""Checks that keep credentials safe: header values, and where credentials may be sent."""

from __future__ import annotations

import functools
import ipaddress
import ssl

import httpx


def is_header_safe(value: object) -> bool:
    """Check that a value can be sent as an HTTP header value as it is.

    It must be a non-empty string of printable ASCII with no whitespace at its ends.
    """
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and value != ""
        and value == value.strip()
    )


def service_url_problem(
    name: str, url_text: object, allow_insecure_http: bool, allow_name: str, example: str
) -> str | None:
    """Return why a service URL must not receive credentials, or ``None`` when it may.

    :param name: how to name the setting in the message, e.g. ``AEP_BASE_URL``
    :param allow_name: how to name the setting that allows plain http, for the message
    :param example: a valid URL to show in the message
    """
    if not isinstance(url_text, str):
        return f"{name} must be a string, not {type(url_text).__name__}"
    try:
        url = httpx.URL(url_text)
    except httpx.InvalidURL as error:
        return f"{name} {url_text!r} is not a valid URL ({error})"
    if url.userinfo:
        return f"{name} contains a user name or password; remove them from the URL"
    if url.scheme not in ("https", "http") or not url.host:
        return f"{name} {url_text!r} is not an absolute http(s) URL; use e.g. {example!r}"
    if url.query or url.fragment:
        return f"{name} {url_text!r} has a query or fragment; remove it"
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        return (
            f"{name} {url_text!r} uses plain http on a host that is not loopback, so "
            f"credentials would travel unencrypted; use https, or set {allow_name} if that "
            "is intended"
        )
    return None


def is_loopback(host: str) -> bool:
    """Check whether a host name or address is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_verification(verify: bool) -> ssl.SSLContext | bool:
    """Return what to pass httpx as ``verify``: a verifying context shared by every client.

    Building a context loads the certificate store, which took about 25 ms of the 26 ms that
    creating a client took (benchmarks/startup.py, CPython 3.11, 2-vCPU AMD EPYC); sharing
    one makes creating a client cost about 0.1 ms.
    """
    if not verify:
        return False
    return _shared_context()


@functools.cache
def _shared_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
