"""Token providers: the source of the bearer token.

The client asks its :class:`TokenProvider` for a token before every request, so a provider
can cache, renew or fetch tokens as it likes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["StaticToken", "TokenProvider", "is_header_safe"]


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


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that returns a currently valid access token."""

    async def get_token(self) -> str:
        """Return the access token to send as ``Authorization: Bearer <token>``."""
        ...


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
