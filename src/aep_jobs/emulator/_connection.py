"""The exception by which the emulator's app makes its server or transport drop a connection.

ASGI has no message for "close the connection without a response", so the app raises
``ConnectionDropped``. The emulator's loopback server closes the socket, and its in-process
transport raises the httpx exception that a client sees for such a connection. Any other
ASGI server treats it as an application error, and responds 500 or closes the connection.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ConnectionDropped", "DropMode"]

DropMode = Literal["close", "reset"]
"""``close`` ends the connection with a FIN, ``reset`` with a TCP RST."""


class ConnectionDropped(Exception):
    """Raised by the app to end the connection instead of completing the response.

    When the app already sent the response head and part of the body, ``status``,
    ``headers`` and ``sent_body`` repeat them, so that an in-process transport can build
    the same partial response that a client reads from a socket.

    :param mode: how the connection ends.
    :param refused: whether the connection stands for one that was never established.
        In-process transports raise a connect error for it.
    """

    def __init__(
        self,
        mode: DropMode,
        *,
        refused: bool = False,
        status: int | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        sent_body: bytes = b"",
    ) -> None:
        super().__init__(f"The emulator dropped the connection ({mode})")
        self.mode: DropMode = mode
        self.refused = refused
        self.status = status
        self.headers = headers if headers is not None else []
        self.sent_body = sent_body
