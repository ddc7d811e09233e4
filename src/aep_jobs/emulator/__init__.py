"""An in-memory emulator of Adobe's export jobs API, in-process or on a loopback server.

It speaks the wire format on its own and never imports the client side of ``aep_jobs``.
It serves Adobe IMS's token endpoint too (``POST /ims/token/v3``). It can add latency,
enforce a rate limit and inject faults (see ``Fault`` and ``FaultRule``).
"""

from ._config import DEFAULT_ORG_ID, CancelStyle, EmulatorConfig
from ._emulator import IN_PROCESS_BASE_URL, IN_PROCESS_IMS_URL, Emulator
from ._faults import Fault, FaultKind, FaultRule, LostResponse
from ._rate_limit import RateLimit
from ._server import EmulatorServer, serve
from ._stats import EmulatorStats, RequestRecord

__all__ = [
    "DEFAULT_ORG_ID",
    "IN_PROCESS_BASE_URL",
    "IN_PROCESS_IMS_URL",
    "CancelStyle",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorStats",
    "Fault",
    "FaultKind",
    "FaultRule",
    "LostResponse",
    "RateLimit",
    "RequestRecord",
    "serve",
]
