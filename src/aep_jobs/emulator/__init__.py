"""An in-memory emulator of Adobe's export jobs API, in-process or on a loopback server.

It speaks the wire format on its own and never imports the client side of ``aep_jobs``.
"""

from ._config import DEFAULT_ORG_ID, CancelStyle, EmulatorConfig
from ._emulator import IN_PROCESS_BASE_URL, Emulator
from ._server import EmulatorServer, serve
from ._stats import EmulatorStats, RequestRecord

__all__ = [
    "DEFAULT_ORG_ID",
    "IN_PROCESS_BASE_URL",
    "CancelStyle",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorStats",
    "RequestRecord",
    "serve",
]
