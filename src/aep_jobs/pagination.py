"""Async iteration over job pages and jobs, following the server's next links.

A page is requested only when the caller asks for it, and only the current page is held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from .errors import AepJobsError, PaginationError
from .models import ExportJob, JobPage

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["JobIterator", "PageIterator"]

# Fetches one page: (url, operation name) -> page.
FetchPage = Callable[[httpx.URL, str], Awaitable[JobPage]]


class PageIterator:
    """Iterates over the pages of a listing, newest jobs first.

    The iteration ends at a page with no records or with an empty, null or missing next link.

    :ivar cursor: the offset of the next page to read: after an error, pass it as ``offset``
        to a new listing to resume without skipping or repeating a job. ``None`` when the
        listing started without an offset and no page has arrived yet, and at the end.
    :ivar page_offset: the offset with which the last page received was requested (``None``
        for the first page of a listing started without one)
    :ivar pages_read: how many pages have been received
    """

    def __init__(
        self,
        fetch: FetchPage,
        first_url: httpx.URL,
        *,
        base_url: httpx.URL,
        status: str | None,
        page_size: int,
        max_pages: int | None,
    ) -> None:
        self._fetch = fetch
        self._next_url: httpx.URL | None = first_url
        self._pending_link: str | None = None
        self._base_url = base_url
        self._status = status
        self._page_size = page_size
        self._max_pages = max_pages
        self._seen_cursors: set[str] = set()
        self.cursor: str | None = first_url.params.get("offset")
        if self.cursor is not None:
            self._seen_cursors.add(self.cursor)
        self.page_offset: str | None = None
        self.pages_read = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> JobPage:
        if self._max_pages is not None and self.pages_read >= self._max_pages:
            self._next_url = self._pending_link = None
            raise StopAsyncIteration
        if self._pending_link is not None:
            self._next_url = self._follow(self._pending_link)
            self._pending_link = None
        if self._next_url is None:
            raise StopAsyncIteration

        operation = f"list export jobs (page {self.pages_read + 1}"
        operation += f", offset {self.cursor})" if self.cursor else ")"
        try:
            page = await self._fetch(self._next_url, operation)
        except AepJobsError as error:
            error.cursor = self.cursor
            raise
        self.pages_read += 1
        self.page_offset = self.cursor
        self._next_url = None

        if not page.records or page.next_link is None:
            self.cursor = None
            if not page.records:
                raise StopAsyncIteration
        else:
            # Followed on the next call, so that the caller gets this page even when the link
            # turns out to be unsafe.
            self._pending_link = page.next_link
            self.cursor = _offset_in(page.next_link)
        return page

    def _follow(self, link: str) -> httpx.URL:
        """Resolve a next link against the service root and check that it is safe to follow."""
        try:
            target = httpx.URL(link)
            host = target.host
        except (httpx.InvalidURL, ValueError, IndexError) as error:
            # A malformed internationalised host name fails in idna with a ValueError.
            raise PaginationError(
                f"The next link {link!r} is not a valid URL ({error})", cursor=self.cursor
            ) from None

        base = self._base_url
        if host:
            scheme = target.scheme or base.scheme
            if (scheme, host, target.port) != (base.scheme, base.host, base.port):
                raise PaginationError(
                    f"The next link {link!r} leads to another origin than "
                    f"{base.scheme}://{base.netloc.decode()}; it was not followed, so that the "
                    "credentials stay with the configured service",
                    cursor=self.cursor,
                )
            path = target.raw_path
        else:
            # Adobe's next links are relative to the service root ("/export/jobs/?limit=...").
            base_path = base.raw_path.rstrip(b"/")
            path = target.raw_path
            if not path.startswith(b"/"):
                path = b"/" + path
            if not path.startswith(base_path + b"/"):
                path = base_path + path
        url = base.copy_with(raw_path=path)

        # The link is followed as given, but it must not drop the caller's filter or page size.
        params = url.params
        if self._status is not None and "status" not in params:
            params = params.set("status", self._status)
        if "limit" not in params:
            params = params.set("limit", str(self._page_size))
        url = url.copy_with(params=params)

        cursor = params.get("offset") or str(url)
        if cursor in self._seen_cursors:
            raise PaginationError(
                f"The server sent the cursor {cursor!r} a second time; the listing stopped "
                f"after {self.pages_read} pages instead of looping",
                cursor=self.cursor,
            )
        self._seen_cursors.add(cursor)
        return url


class JobIterator:
    """Iterates over the jobs of a listing, page after page.

    To resume a listing where this one stopped, after an error, a ``break`` or ``max_items``,
    start a new one with ``offset=iterator.cursor, skip=iterator.skip``: it yields exactly the
    jobs that this one has not yielded yet.

    :ivar pages: the underlying :class:`PageIterator`
    :ivar jobs_read: how many jobs have been yielded
    """

    def __init__(self, pages: PageIterator, *, max_items: int | None, skip: int = 0) -> None:
        self.pages = pages
        self._max_items = max_items
        self._records: list[ExportJob] = []
        self._index = 0
        self._skip_first = skip
        self.jobs_read = 0

    @property
    def cursor(self) -> str | None:
        """The offset of the page to resume from (``None``: the start of the listing)."""
        if self._index < len(self._records):
            return self.pages.page_offset
        return self.pages.cursor

    @property
    def skip(self) -> int:
        """How many jobs of the page at ``cursor`` were already yielded.

        NOTE: when ``cursor`` is ``None`` the page is the newest one, and jobs created since
        it was read push older jobs down it, so resuming may then yield a job twice.
        """
        if self._index < len(self._records):
            return self._index
        return 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ExportJob:
        if self._max_items is not None and self.jobs_read >= self._max_items:
            raise StopAsyncIteration
        while self._index >= len(self._records):
            # Drop the finished page before fetching the next, so one page at most is held.
            self._records = []
            self._index = 0
            page = await self.pages.__anext__()
            self._records = page.records
            if self._skip_first:
                self._index = min(self._skip_first, len(self._records))
                self._skip_first = 0
        job = self._records[self._index]
        self._index += 1
        self.jobs_read += 1
        return job


def _offset_in(link: str) -> str | None:
    try:
        offset: str | None = httpx.URL(link).params.get("offset")
    except (httpx.InvalidURL, ValueError, IndexError):
        return None
    return offset
