"""Iteration over pages and jobs: following next links safely, ending, limits and resuming."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from aep_jobs import ExportJob, ExportJobsClient, JobIterator, PaginationError, ServerError

pytestmark = pytest.mark.anyio

BASE_URL = "https://platform.adobe.io/data/core/ups"

# Offsets in Adobe's form: the creation time in milliseconds and the id of a page's last job.
OFFSET_A = "1538573416687_722"
OFFSET_B = "1538573000000_650"


def page(ids: list[int], next_link: str | None) -> httpx.Response:
    """Return a page of SUCCEEDED jobs whose ``link.next`` is ``next_link``."""
    body: dict[str, Any] = {
        "records": [{"id": job_id, "status": "SUCCEEDED"} for job_id in ids],
        "page": {"sortField": "createdTime", "sort": "desc", "pageSize": len(ids)},
        "link": {"next": next_link},
    }
    return httpx.Response(200, json=body)


def next_link(offset: str) -> str:
    """Return a next link in Adobe's form, relative to the service root."""
    return f"/export/jobs/?limit=2&offset={offset}"


def serve_three_pages(router: respx.MockRouter) -> list[respx.Route]:
    """Serve jobs 1 to 5 on pages of two, following Adobe's relative next links."""
    return [
        router.get("/export/jobs").mock(return_value=page([1, 2], next_link(OFFSET_A))),
        router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
            return_value=page([3, 4], next_link(OFFSET_B))
        ),
        router.get("/export/jobs/", params={"offset": OFFSET_B}).mock(return_value=page([5], "")),
    ]


async def collect_ids(jobs: JobIterator[ExportJob]) -> list[int]:
    return [job.id async for job in jobs]


async def append_ids(jobs: JobIterator[ExportJob], ids: list[int]) -> None:
    """Append the id of each job to ``ids`` as it arrives, so that ids survive an error."""
    async for job in jobs:
        ids.append(job.id)


# ---------------------------------------------------------------------------------------------
# Following next links


async def test_iter_jobs_yields_every_page(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    serve_three_pages(router)

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1, 2, 3, 4, 5]


async def test_next_link_resolved_against_service_root(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    serve_three_pages(router)

    await collect_ids(client.iter_jobs(page_size=2))

    assert [str(call.request.url) for call in router.calls] == [
        f"{BASE_URL}/export/jobs?limit=2",
        f"{BASE_URL}/export/jobs/?limit=2&offset={OFFSET_A}",
        f"{BASE_URL}/export/jobs/?limit=2&offset={OFFSET_B}",
    ]


async def test_each_page_requested_once(client: ExportJobsClient, router: respx.MockRouter) -> None:
    routes = serve_three_pages(router)

    await collect_ids(client.iter_jobs(page_size=2))

    assert [route.call_count for route in routes] == [1, 1, 1]


async def test_guide_page_offset_ignored_for_link(
    client: ExportJobsClient, router: respx.MockRouter, guide_list_page: bytes
) -> None:
    router.get("/export/jobs").respond(200, content=guide_list_page)
    second = router.get("/export/jobs/", params={"offset": "1538573416687_722"}).mock(
        return_value=page([650], "")
    )

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [100, 722, 650]
    assert str(second.calls.last.request.url) == (
        f"{BASE_URL}/export/jobs/?limit=2&offset=1538573416687_722"
    )


async def test_link_with_service_path_not_doubled(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(
        return_value=page([1, 2], f"/data/core/ups/export/jobs/?limit=2&offset={OFFSET_A}")
    )
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1, 2, 3]
    assert second.call_count == 1


async def test_absolute_same_origin_link_followed(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(
        return_value=page([1, 2], f"{BASE_URL}/export/jobs/?limit=2&offset={OFFSET_A}")
    )
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1, 2, 3]
    assert second.call_count == 1


async def test_link_keeps_status_filter(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], f"/export/jobs/?offset={OFFSET_A}"))
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    await collect_ids(client.iter_jobs(page_size=2, status="FAILED"))

    assert second.calls.last.request.url.params["status"] == "FAILED"


async def test_link_keeps_page_size(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], f"/export/jobs/?offset={OFFSET_A}"))
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    await collect_ids(client.iter_jobs(page_size=2, status="FAILED"))

    assert second.calls.last.request.url.params["limit"] == "2"


async def test_link_status_and_limit_not_overridden(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(
        return_value=page([1, 2], f"/export/jobs/?limit=5&status=FAILED&offset={OFFSET_A}")
    )
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    await collect_ids(client.iter_jobs(page_size=2, status="FAILED"))

    assert str(second.calls.last.request.url) == (
        f"{BASE_URL}/export/jobs/?limit=5&status=FAILED&offset={OFFSET_A}"
    )


async def test_first_request_sends_status_and_limit(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    first = router.get("/export/jobs").mock(return_value=page([1], ""))

    await collect_ids(client.iter_jobs(page_size=50, status="NEW"))

    assert str(first.calls.last.request.url) == f"{BASE_URL}/export/jobs?limit=50&status=NEW"


async def test_client_page_size_is_default(router: respx.MockRouter) -> None:
    first = router.get("/export/jobs").mock(return_value=page([1], ""))
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token-123",
        base_url=BASE_URL,
        page_size=25,
        transport=httpx.MockTransport(router.async_handler),
    ) as client:
        await collect_ids(client.iter_jobs())

    assert first.calls.last.request.url.params["limit"] == "25"


async def test_iter_pages_yields_pages(client: ExportJobsClient, router: respx.MockRouter) -> None:
    serve_three_pages(router)

    pages = [[job.id for job in listed.records] async for listed in client.iter_pages(page_size=2)]

    assert pages == [[1, 2], [3, 4], [5]]


# ---------------------------------------------------------------------------------------------
# The end of a listing


@pytest.mark.parametrize(
    "body",
    [
        {"records": [{"id": 1}], "link": {"next": ""}},
        {"records": [{"id": 1}], "link": {"next": None}},
        {"records": [{"id": 1}], "link": {}},
        {"records": [{"id": 1}], "link": None},
        {"records": [{"id": 1}]},
    ],
    ids=["empty-next", "null-next", "missing-next", "null-link", "missing-link"],
)
async def test_listing_ends_without_next(
    client: ExportJobsClient, router: respx.MockRouter, body: dict[str, Any]
) -> None:
    route = router.get("/export/jobs").respond(200, json=body)

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1]
    assert route.call_count == 1


async def test_empty_records_end_despite_next_link(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], next_link(OFFSET_A)))
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([], next_link(OFFSET_B))
    )
    third = router.get("/export/jobs/", params={"offset": OFFSET_B}).mock(
        return_value=page([3], "")
    )

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1, 2]
    assert second.call_count == 1
    assert third.called is False


async def test_empty_first_page_yields_nothing(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(return_value=page([], next_link(OFFSET_A)))

    pages = [listed async for listed in client.iter_pages(page_size=2)]

    assert pages == []


async def test_finished_iterator_stays_finished(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs").mock(return_value=page([1], ""))
    jobs = client.iter_jobs(page_size=2)
    await collect_ids(jobs)

    again = await collect_ids(jobs)

    assert again == []
    assert route.call_count == 1


# ---------------------------------------------------------------------------------------------
# Pages are requested only when needed


async def test_no_request_before_iteration(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    routes = serve_three_pages(router)

    client.iter_jobs(page_size=2)

    assert routes[0].called is False


async def test_one_job_needs_one_request(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    routes = serve_three_pages(router)

    async for _job in client.iter_jobs(page_size=2):
        break

    assert [route.call_count for route in routes] == [1, 0, 0]


async def test_third_job_needs_second_request(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    routes = serve_three_pages(router)
    jobs = client.iter_jobs(page_size=2)

    ids = [await jobs.__anext__() for _ in range(3)]

    assert [job.id for job in ids] == [1, 2, 3]
    assert [route.call_count for route in routes] == [1, 1, 0]


async def test_max_pages_stops_listing(client: ExportJobsClient, router: respx.MockRouter) -> None:
    routes = serve_three_pages(router)

    ids = await collect_ids(client.iter_jobs(page_size=2, max_pages=2))

    assert ids == [1, 2, 3, 4]
    assert [route.call_count for route in routes] == [1, 1, 0]


async def test_max_items_stops_listing(client: ExportJobsClient, router: respx.MockRouter) -> None:
    routes = serve_three_pages(router)

    ids = await collect_ids(client.iter_jobs(page_size=2, max_items=3))

    assert ids == [1, 2, 3]
    assert [route.call_count for route in routes] == [1, 1, 0]


async def test_max_items_at_page_end(client: ExportJobsClient, router: respx.MockRouter) -> None:
    routes = serve_three_pages(router)

    ids = await collect_ids(client.iter_jobs(page_size=2, max_items=2))

    assert ids == [1, 2]
    assert [route.call_count for route in routes] == [1, 0, 0]


async def test_max_pages_ends_before_unsafe_link(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(
        return_value=page([1, 2], f"https://evil.example/export/jobs/?offset={OFFSET_A}")
    )
    other_origin = router.get("https://evil.example/export/jobs/").mock(return_value=page([3], ""))

    ids = await collect_ids(client.iter_jobs(page_size=2, max_pages=1))

    assert ids == [1, 2]
    assert other_origin.called is False


# ---------------------------------------------------------------------------------------------
# Next links that must not be followed


@pytest.mark.parametrize(
    ("link", "other_origin_url"),
    [
        (
            f"https://evil.example/export/jobs/?limit=2&offset={OFFSET_A}",
            "https://evil.example/export/jobs/",
        ),
        (
            f"//evil.example/export/jobs/?limit=2&offset={OFFSET_A}",
            "https://evil.example/export/jobs/",
        ),
        (
            f"http://platform.adobe.io/data/core/ups/export/jobs/?limit=2&offset={OFFSET_A}",
            "http://platform.adobe.io/data/core/ups/export/jobs/",
        ),
        (
            f"https://platform.adobe.io:8443/data/core/ups/export/jobs/?limit=2&offset={OFFSET_A}",
            "https://platform.adobe.io:8443/data/core/ups/export/jobs/",
        ),
    ],
    ids=["other-host", "protocol-relative", "other-scheme", "other-port"],
)
async def test_other_origin_link_rejected(
    client: ExportJobsClient, router: respx.MockRouter, link: str, other_origin_url: str
) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], link))
    other_origin = router.get(other_origin_url).mock(return_value=page([3], ""))
    ids: list[int] = []

    with pytest.raises(PaginationError) as caught:
        await append_ids(client.iter_jobs(page_size=2), ids)

    assert ids == [1, 2]
    assert other_origin.called is False
    assert caught.value.cursor == OFFSET_A


async def test_other_origin_error_names_link(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    link = f"https://evil.example/export/jobs/?offset={OFFSET_A}"
    router.get("/export/jobs").mock(return_value=page([1, 2], link))

    with pytest.raises(PaginationError) as caught:
        await collect_ids(client.iter_jobs(page_size=2))

    assert str(caught.value) == (
        f"The next link {link!r} leads to another origin than https://platform.adobe.io; "
        "it was not followed, so that the credentials stay with the configured service"
    )


async def test_explicit_default_port_is_same_origin(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(
        return_value=page(
            [1, 2], f"https://platform.adobe.io:443/data/core/ups/export/jobs/?offset={OFFSET_A}"
        )
    )
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3], "")
    )

    ids = await collect_ids(client.iter_jobs(page_size=2))

    assert ids == [1, 2, 3]
    assert second.call_count == 1


async def test_repeated_cursor_rejected(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], next_link(OFFSET_A)))
    second = router.get("/export/jobs/", params={"offset": OFFSET_A}).mock(
        return_value=page([3, 4], next_link(OFFSET_B))
    )
    third = router.get("/export/jobs/", params={"offset": OFFSET_B}).mock(
        return_value=page([5, 6], next_link(OFFSET_A))
    )
    ids: list[int] = []

    with pytest.raises(PaginationError) as caught:
        await append_ids(client.iter_jobs(page_size=2), ids)

    assert ids == [1, 2, 3, 4, 5, 6]
    assert second.call_count == 1
    assert third.call_count == 1
    assert str(caught.value) == (
        f"The server sent the cursor {OFFSET_A!r} a second time; "
        "the listing stopped after 3 pages instead of looping"
    )


async def test_link_back_to_start_offset_rejected(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    first = router.get("/export/jobs", params={"offset": OFFSET_A}).mock(
        return_value=page([3, 4], next_link(OFFSET_A))
    )

    with pytest.raises(PaginationError):
        await collect_ids(client.iter_jobs(page_size=2, offset=OFFSET_A))

    assert first.call_count == 1


# ---------------------------------------------------------------------------------------------
# Cursors and resuming


async def test_cursor_follows_listing(client: ExportJobsClient, router: respx.MockRouter) -> None:
    serve_three_pages(router)
    pages = client.iter_pages(page_size=2)
    cursors = [pages.cursor]

    async for _listed in pages:
        cursors.append(pages.cursor)

    assert cursors == [None, OFFSET_A, OFFSET_B, None]


async def test_cursor_starts_at_given_offset(client: ExportJobsClient) -> None:
    pages = client.iter_pages(page_size=2, offset=OFFSET_B)

    assert pages.cursor == OFFSET_B


async def test_pages_read_counts_pages(client: ExportJobsClient, router: respx.MockRouter) -> None:
    serve_three_pages(router)
    jobs = client.iter_jobs(page_size=2)

    await collect_ids(jobs)

    assert jobs.pages.pages_read == 3
    assert jobs.jobs_read == 5


async def test_cursor_kept_after_server_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(return_value=page([1, 2], next_link(OFFSET_A)))
    router.get("/export/jobs/", params={"offset": OFFSET_A}).respond(503, content=b"")
    jobs = client.iter_jobs(page_size=2)

    with pytest.raises(ServerError):
        await collect_ids(jobs)

    assert jobs.pages.cursor == OFFSET_A


async def test_resume_yields_rest_once(client: ExportJobsClient, router: respx.MockRouter) -> None:
    # The resumed listing starts at the client-built URL ("/export/jobs", no slash). Its route
    # is registered first because the route of the first page matches any offset.
    resumed_second = router.get("/export/jobs", params={"offset": OFFSET_A}).mock(
        return_value=page([3, 4], next_link(OFFSET_B))
    )
    router.get("/export/jobs").mock(return_value=page([1, 2], next_link(OFFSET_A)))
    failed_second = router.get("/export/jobs/", params={"offset": OFFSET_A}).respond(
        500, json={"title": "Internal Server Error", "detail": "too many simultaneous calls"}
    )
    third = router.get("/export/jobs/", params={"offset": OFFSET_B}).mock(
        return_value=page([5], "")
    )
    seen: list[int] = []
    interrupted = client.iter_jobs(page_size=2)

    with pytest.raises(ServerError):
        await append_ids(interrupted, seen)
    await append_ids(client.iter_jobs(page_size=2, offset=interrupted.pages.cursor), seen)

    assert seen == [1, 2, 3, 4, 5]
    assert failed_second.call_count == 1
    assert resumed_second.call_count == 1
    assert third.call_count == 1
