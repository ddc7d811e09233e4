"""A cheaper ``PageIterator._follow``, measured by ``listing.py --variant aep_jobs-fastfollow``.

It makes the same checks and builds the same URL as the library's version, but parses the
link once and copies the service root once, where the library's version parses and copies
URLs five times per page (about 85 µs against 30 µs per page, CPython 3.11, 2-vCPU AMD EPYC).
It is a proposal for ``aep_jobs.pagination``, kept here so that its effect can be measured.
"""

from __future__ import annotations

import httpx

from aep_jobs.errors import PaginationError
from aep_jobs.pagination import PageIterator


def follow(self: PageIterator[object], link: str) -> httpx.URL:
    """Resolve a next link against the service root and check that it is safe to follow."""
    try:
        target = httpx.URL(link)
        host = target.host
    except (httpx.InvalidURL, ValueError, IndexError) as error:
        raise PaginationError(
            f"The next link {link!r} is not a valid URL ({error})", cursor=self._reader.cursor
        ) from None

    base = self._base_url
    path = target.raw_path
    if host:
        scheme = target.scheme or base.scheme
        if (scheme, host, target.port) != (base.scheme, base.host, base.port):
            raise PaginationError(
                f"The next link {link!r} leads to another origin than "
                f"{base.scheme}://{base.netloc.decode()}; it was not followed, so that the "
                "credentials stay with the configured service",
                cursor=self._reader.cursor,
            )
    else:
        base_path = base.raw_path.rstrip(b"/")
        if not path.startswith(b"/"):
            path = b"/" + path
        if not path.startswith(base_path + b"/"):
            path = base_path + path

    # The query is read once, and written back only when a parameter must be added.
    params = target.params
    added = False
    if self._status is not None and "status" not in params:
        params = params.set("status", self._status)
        added = True
    if "limit" not in params:
        params = params.set("limit", str(self._page_size))
        added = True
    if added:
        path = path.partition(b"?")[0] + b"?" + str(params).encode("ascii")
    url = base.copy_with(raw_path=path)

    cursor = params.get("offset") or str(url)
    if cursor in self._seen_cursors:
        raise PaginationError(
            f"The server sent the cursor {cursor!r} a second time; the listing stopped "
            f"after {self._reader.pages_read} pages instead of looping",
            cursor=self._reader.cursor,
        )
    self._seen_cursors.add(cursor)
    return url


def install() -> None:
    """Replace ``PageIterator._follow`` with :func:`follow` in this process."""
    PageIterator._follow = follow  # type: ignore[method-assign, assignment]
