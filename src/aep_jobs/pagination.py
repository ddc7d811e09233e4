"""Async iteration over job pages and jobs, following the server's next links.

A page is requested only when the caller asks for it, and only the current page is held.
With ``prefetch``, up to that many further pages are fetched ahead in a background task.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Generic

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .errors import AepJobsError, PaginationError
from .models import JobPage, JobT

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["JobIterator", "PageIterator"]

# Fetches one page: (url, operation name) -> page.
FetchPage = Callable[[httpx.URL, str], Awaitable[JobPage[JobT]]]


@dataclasses.dataclass
class _Position:
    """The position of a listing: the values of ``cursor``, ``page_offset`` and ``pages_read``."""

    cursor: str | None
    page_offset: str | None = None
    pages_read: int = 0


@dataclasses.dataclass
class _Delivery(Generic[JobT]):
    """A page, or the error that ended the listing, with the position after it."""

    position: _Position
    page: JobPage[JobT] | None = None
    error: Exception | None = None


class PageIterator(Generic[JobT]):
    """Iterates over the pages of a listing, newest jobs first.

    The iteration ends at a page with no records or with an empty, null or missing next link.
    With ``prefetch``, use it as an async context manager, which owns the background task:

        async with client.iter_pages(prefetch=2) as pages:
            async for page in pages:
                ...

    :ivar cursor: the offset of the next page to read: after an error, pass it as ``offset``
        to a new listing to resume without skipping or repeating a job. ``None`` when the
        listing started without an offset and no page has arrived yet, and at the end.
    :ivar page_offset: the offset with which the last page received was requested (``None``
        for the first page of a listing started without one)
    :ivar pages_read: how many pages have been received
    """

    def __init__(
        self,
        fetch: FetchPage[JobT],
        first_url: httpx.URL,
        *,
        base_url: httpx.URL,
        status: str | None,
        page_size: int,
        max_pages: int | None,
        prefetch: int = 0,
    ) -> None:
        self._fetch = fetch
        self._next_url: httpx.URL | None = first_url
        self._pending_link: str | None = None
        self._base_url = base_url
        self._status = status
        self._page_size = page_size
        self._max_pages = max_pages
        self._seen_cursors: set[str] = set()
        start = first_url.params.get("offset")
        if start is not None:
            self._seen_cursors.add(start)
        # The reader's position runs ahead of the caller's when pages are fetched ahead.
        self._reader = _Position(cursor=start)
        self._apply(_Position(cursor=start))
        self._prefetch = prefetch
        self._group: TaskGroup | None = None
        self._deliveries: MemoryObjectReceiveStream[_Delivery[JobT]] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        if self._prefetch:
            send, self._deliveries = anyio.create_memory_object_stream[_Delivery[JobT]](
                self._prefetch
            )
            self._group = anyio.create_task_group()
            await self._group.__aenter__()
            self._group.start_soon(self._fetch_ahead, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        if self._group is None:
            return None
        # The caller is done: pages still being fetched ahead are not needed. The task group
        # is closed as if its body had ended normally, so that an error of the caller's, or
        # one handed over from the fetching task, propagates as it is rather than wrapped in
        # an exception group.
        self._group.cancel_scope.cancel()
        group, self._group = self._group, None
        try:
            await group.__aexit__(None, None, None)
        finally:
            if self._deliveries is not None:
                self._deliveries.close()
        return None

    async def __anext__(self) -> JobPage[JobT]:
        if not self._prefetch:
            page = await self._read()
            self._apply(dataclasses.replace(self._reader))
            return page

        if self._deliveries is None:
            raise RuntimeError(
                "A listing with prefetch fetches pages in a background task, so it must be "
                "used inside 'async with', as in 'async with client.iter_jobs(prefetch=2) as "
                "jobs:' or 'async with client.iter_pages(prefetch=2) as pages:'"
            )
        try:
            delivery = await self._deliveries.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
        self._apply(delivery.position)
        if delivery.error is not None:
            raise delivery.error
        if delivery.page is None:
            # The listing ended; the delivery only carries the final position.
            raise StopAsyncIteration
        return delivery.page

    async def _fetch_ahead(self, send: MemoryObjectSendStream[_Delivery[JobT]]) -> None:
        """Read pages in order and hand them over, until the end or the first error."""
        async with send:
            while True:
                try:
                    page = await self._read()
                except StopAsyncIteration:
                    await send.send(_Delivery(dataclasses.replace(self._reader)))
                    return
                except Exception as error:
                    # Handed to the caller, who raises it after the pages before it.
                    await send.send(_Delivery(dataclasses.replace(self._reader), error=error))
                    return
                await send.send(_Delivery(dataclasses.replace(self._reader), page=page))

    def _apply(self, position: _Position) -> None:
        self.cursor = position.cursor
        self.page_offset = position.page_offset
        self.pages_read = position.pages_read

    async def _read(self) -> JobPage[JobT]:
        """Fetch the next page and move the reader's position past it."""
        reader = self._reader
        if self._max_pages is not None and reader.pages_read >= self._max_pages:
            self._next_url = self._pending_link = None
            raise StopAsyncIteration
        if self._pending_link is not None:
            self._next_url = self._follow(self._pending_link)
            self._pending_link = None
        if self._next_url is None:
            raise StopAsyncIteration

        operation = f"list export jobs (page {reader.pages_read + 1}"
        operation += f", offset {reader.cursor})" if reader.cursor else ")"
        try:
            page = await self._fetch(self._next_url, operation)
        except AepJobsError as error:
            error.cursor = reader.cursor
            raise
        reader.pages_read += 1
        reader.page_offset = reader.cursor
        self._next_url = None

        if not page.records or page.next_link is None:
            reader.cursor = None
            if not page.records:
                raise StopAsyncIteration
        else:
            # Followed on the next call, so that the caller gets this page even when the link
            # turns out to be unsafe.
            self._pending_link = page.next_link
            reader.cursor = _offset_in(page.next_link)
        return page

    def _follow(self, link: str) -> httpx.URL:
        """Resolve a next link against the service root and check that it is safe to follow.

        The link is parsed once and the service root copied once: this runs for every page.
        """
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
            # Adobe's next links are relative to the service root ("/export/jobs/?limit=...").
            base_path = base.raw_path.rstrip(b"/")
            if not path.startswith(b"/"):
                path = b"/" + path
            if not path.startswith(base_path + b"/"):
                path = base_path + path

        # The link is followed as given, but it must not drop the caller's filter or page
        # size. The query is read once, and written back only when a parameter is added.
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


class JobIterator(Generic[JobT]):
    """Iterates over the jobs of a listing, page after page.

    To resume a listing where this one stopped, after an error, a ``break`` or ``max_items``,
    start a new one with ``offset=iterator.cursor, skip=iterator.skip``: it yields exactly the
    jobs that this one has not yielded yet. With ``prefetch``, use it as an async context
    manager, like [`PageIterator`][aep_jobs.PageIterator].

    :ivar pages: the underlying [`PageIterator`][aep_jobs.PageIterator]
    :ivar jobs_read: how many jobs have been yielded
    """

    def __init__(self, pages: PageIterator[JobT], *, max_items: int | None, skip: int = 0) -> None:
        self.pages = pages
        self._max_items = max_items
        self._records: list[JobT] = []
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

    async def __aenter__(self) -> Self:
        await self.pages.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return await self.pages.__aexit__(exc_type, exc, traceback)

    async def __anext__(self) -> JobT:
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
