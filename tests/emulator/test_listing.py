"""Listing jobs: order, cursor pagination, link.next, the status filter, parameter checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig

from .helpers import FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def seeded(clock: FakeClock) -> Emulator:
    """2,500 seeded jobs with variants, on a frozen clock."""
    emulator = Emulator(EmulatorConfig(clock=clock, seed=3, failure_share=0.2))
    emulator.seed(2_500)
    return emulator


async def _walk(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow link.next from a first request to the end; return every page and record."""
    pages: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    response = await client.get("/export/jobs", params=params)
    # 2,500 jobs in pages of 100 take 25 pages; the bound stops a walk that never ends.
    for _ in range(100):
        assert response.status_code == 200
        page = response.json()
        pages.append(page)
        records.extend(page["records"])
        next_link = page["link"]["next"]
        if not next_link:
            break
        response = await client.get(next_link)
    return pages, records


def _cursor(record: dict[str, Any]) -> str:
    return f"{record['creationTime']}_{int(record['id'])}"


async def test_walk_yields_every_job_once_newest_first(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        pages, records = await _walk(client, {"limit": 100})

    ids = [int(record["id"]) for record in records]
    assert len(pages) == 25
    assert ids == seeded.job_ids()
    assert len(set(ids)) == 2_500


async def test_walk_orders_by_creation_time_descending(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        _, records = await _walk(client, {"limit": 100})

    keys = [(record["creationTime"], int(record["id"])) for record in records]
    assert keys == sorted(keys, reverse=True)


async def test_next_link_is_relative_with_cursor(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        pages, _ = await _walk(client, {"limit": 100})

    for page in pages[:-1]:
        last_record = page["records"][-1]
        assert page["link"]["next"] == f"/export/jobs/?limit=100&offset={_cursor(last_record)}"


async def test_next_link_is_empty_on_last_page(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        pages, _ = await _walk(client, {"limit": 100})

    assert pages[-1]["link"] == {"next": ""}
    assert pages[-1]["page"]["pageSize"] == 100


async def test_page_metadata(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        pages, records = await _walk(client, {"limit": 100})

    assert pages[0]["page"] == {
        "sortField": "createdTime",
        "sort": "desc",
        "pageOffset": _cursor(records[0]),
        "pageSize": 100,
    }
    # A later page names the offset it was requested with, not its last record.
    assert pages[1]["page"]["pageOffset"] == _cursor(records[99])


async def test_walk_with_status_filter(seeded: Emulator) -> None:
    failed_ids = seeded.job_ids("FAILED")
    async with api_client(seeded) as client:
        pages, records = await _walk(client, {"limit": 100, "status": "FAILED"})

    assert 300 < len(failed_ids) < 700
    assert [int(record["id"]) for record in records] == failed_ids
    assert {record["status"] for record in records} == {"FAILED"}
    assert len(pages) == -(-len(failed_ids) // 100)
    assert pages[-1]["link"] == {"next": ""}


async def test_next_link_keeps_status_filter(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs", params={"limit": 10, "status": "SUCCEEDED"})

    page = response.json()
    cursor = _cursor(page["records"][-1])
    assert page["link"]["next"] == f"/export/jobs/?limit=10&offset={cursor}&status=SUCCEEDED"


async def test_status_filter_new_lists_in_flight_jobs(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs", params={"status": "NEW"})

    records = response.json()["records"]
    assert [int(record["id"]) for record in records] == seeded.job_ids("NEW")
    assert {record["status"] for record in records} == {"NEW"}


async def test_unknown_status_lists_nothing(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs", params={"status": "succeeded"})

    assert response.status_code == 200
    assert response.json()["records"] == []
    assert response.json()["link"] == {"next": ""}


async def test_no_limit_lists_all_jobs(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs")

    page = response.json()
    assert len(page["records"]) == 2_500
    assert page["page"]["pageSize"] == 2_500
    assert page["link"] == {"next": ""}


async def test_max_page_size_caps_missing_limit(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, max_page_size=40))
    emulator.seed(100)
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    page = response.json()
    cursor = _cursor(page["records"][-1])
    assert len(page["records"]) == 40
    assert page["link"]["next"] == f"/export/jobs/?limit=40&offset={cursor}"


async def test_max_page_size_caps_larger_limit(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, max_page_size=40))
    emulator.seed(100)
    async with api_client(emulator) as client:
        pages, records = await _walk(client, {"limit": 1000})

    assert [page["page"]["pageSize"] for page in pages] == [40, 40, 20]
    assert [int(record["id"]) for record in records] == emulator.job_ids()


async def test_limit_equal_to_remaining_jobs_ends_walk(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock))
    emulator.seed(20)
    async with api_client(emulator) as client:
        pages, _ = await _walk(client, {"limit": 10})

    assert [page["page"]["pageSize"] for page in pages] == [10, 10]
    assert pages[-1]["link"] == {"next": ""}


async def test_offset_of_absent_job_starts_after_it(seeded: Emulator) -> None:
    third = seeded.get_job(seeded.job_ids()[2])
    assert third is not None
    # One millisecond after the third job: the page starts at the third job.
    offset = f"{third['creationTime'] + 1}_0"
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs", params={"limit": 2, "offset": offset})

    ids = [int(record["id"]) for record in response.json()["records"]]
    assert ids == seeded.job_ids()[2:4]


async def test_offset_past_oldest_job_lists_nothing(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        response = await client.get("/export/jobs", params={"limit": 10, "offset": "1_1"})

    page = response.json()
    assert page["records"] == []
    assert page["page"] == {
        "sortField": "createdTime",
        "sort": "desc",
        "pageOffset": "1_1",
        "pageSize": 0,
    }
    assert page["link"] == {"next": ""}


async def test_empty_store_lists_nothing(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs", params={"limit": 10})

    assert response.json() == {
        "records": [],
        "page": {"sortField": "createdTime", "sort": "desc", "pageOffset": "", "pageSize": 0},
        "link": {"next": ""},
    }


async def test_start_page_and_sort_are_ignored(seeded: Emulator) -> None:
    async with api_client(seeded) as client:
        plain = await client.get("/export/jobs", params={"limit": 5})
        decorated = await client.get(
            "/export/jobs", params={"limit": 5, "start": 3, "page": 2, "sort": "asc"}
        )

    assert decorated.json() == plain.json()


async def test_created_job_does_not_shift_later_pages(seeded: Emulator, clock: FakeClock) -> None:
    async with api_client(seeded) as client:
        first = (await client.get("/export/jobs", params={"limit": 100})).json()
        clock.advance(1)
        created = await client.post("/export/jobs", json=create_body())
        second = (await client.get(first["link"]["next"])).json()

    assert created.status_code == 200
    ids = [int(record["id"]) for record in first["records"] + second["records"]]
    assert ids == seeded.job_ids()[1:201]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "", "1e3", "\u0661\u0660"])
async def test_invalid_limit_is_400(emulator: Emulator, limit: str) -> None:
    async with api_client(emulator) as client:
        response = await client.get(
            "/export/jobs", params={"limit": limit}, headers={"x-request-id": "req-limit"}
        )

    assert response.status_code == 400
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1001-400",
        "title": "Bad Request",
        "status": 400,
        "detail": f"limit must be a positive integer, got {limit!r}",
        "requestId": "req-limit",
    }


@pytest.mark.parametrize("offset", ["abc", "1538573416687", "1538573416687_", "_722", "1_2_3"])
async def test_malformed_offset_is_400(emulator: Emulator, offset: str) -> None:
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs", params={"limit": 10, "offset": offset})

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "offset must be a cursor of the form {creationTimeMs}_{id}, such as "
        f"'1538573416687_722', got {offset!r}"
    )
