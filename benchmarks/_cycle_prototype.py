"""Free each response body at once, measured by ``listing.py --variant aep_jobs-nocycle``.

httpx links a response and its stream to each other, so a response is freed only by the
cyclic garbage collector. ``Sender._attempt`` keeps the response alive while it decodes the
body; the collector's young-generation passes, which decoding triggers, then move the
response and its body (about 1.1 MB for 1,000 jobs) to older generations, where they wait
for a full collection. Replacing the stream once the body is read breaks the cycle. This is
a proposal for ``aep_jobs._http``, kept here so that its effect can be measured.
"""

from __future__ import annotations

from typing import Any

import httpx

_request = httpx.AsyncClient.request


async def _request_without_cycle(
    self: httpx.AsyncClient, *args: Any, **kwargs: Any
) -> httpx.Response:
    response = await _request(self, *args, **kwargs)
    # The body is read and the response closed: the stream is no longer needed.
    response.stream = httpx.ByteStream(b"")
    return response


def install() -> None:
    """Break the cycle of every response that ``httpx.AsyncClient.request`` returns."""
    httpx.AsyncClient.request = _request_without_cycle  # type: ignore[method-assign]
