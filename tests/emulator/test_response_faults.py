"""Faults that change the response: error statuses, HTML, truncated bodies, bad next links."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from aep_jobs.emulator import Emulator, EmulatorConfig, Fault, FaultRule, LostResponse

from .helpers import FakeClock, Target, api_client, create_body

pytestmark = pytest.mark.anyio


def _cursor(record: dict[str, Any]) -> str:
    return f"{record['creationTime']}_{int(record['id'])}"


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (408, {"error_code": "408000", "message": "Request timed out"}),
        (429, {"error_code": "429001", "message": "Too many requests"}),
        (502, {"error_code": "502000", "message": "Bad gateway"}),
        (504, {"error_code": "504000", "message": "Gateway timeout"}),
        (401, {"error_code": "401013", "message": "Oauth token is not valid"}),
    ],
)
async def test_status_fault_has_gateway_body(
    emulator: Emulator, code: int, body: dict[str, str]
) -> None:
    emulator.inject(FaultRule(Fault.status(code)))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == code
    assert response.json() == body
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("code", "title", "detail"),
    [
        (
            500,
            "Internal Server Error",
            "The export job service failed to process the request. Retry later.",
        ),
        (
            503,
            "Service Unavailable",
            "The export job service is temporarily unavailable. Retry later.",
        ),
        (409, "Conflict", "The export job service responded 409 Conflict."),
    ],
)
async def test_status_fault_has_problem_body(
    emulator: Emulator, code: int, title: str, detail: str
) -> None:
    emulator.inject(FaultRule(Fault.status(code)))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs", headers={"x-request-id": "req-problem"})

    assert response.status_code == code
    assert response.json() == {
        "type": f"http://ns.adobe.com/aep/errors/UPS-1007-{code}",
        "title": title,
        "status": code,
        "detail": detail,
        "requestId": "req-problem",
    }
    assert response.headers["x-request-id"] == "req-problem"


async def test_status_fault_over_both_transports(target: Target) -> None:
    target.emulator.inject(FaultRule(Fault.status(429, retry_after="2")))
    async with target.client() as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"error_code": "429001", "message": "Too many requests"}


async def test_status_fault_without_retry_after(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.status(429)))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 429
    assert "retry-after" not in response.headers


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [
        (7, "7"),
        ("Thu, 09 Oct 2025 08:53:22 GMT", "Thu, 09 Oct 2025 08:53:22 GMT"),
        (datetime(2025, 10, 9, 8, 53, 22, tzinfo=timezone.utc), "Thu, 09 Oct 2025 08:53:22 GMT"),
        (
            datetime(2025, 10, 9, 10, 53, 22, tzinfo=timezone(timedelta(hours=2))),
            "Thu, 09 Oct 2025 08:53:22 GMT",
        ),
        ("soon", "soon"),
    ],
)
async def test_status_fault_retry_after_forms(
    emulator: Emulator, retry_after: int | str | datetime, header: str
) -> None:
    emulator.inject(FaultRule(Fault.status(503, retry_after=retry_after)))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.headers["retry-after"] == header


async def test_status_fault_with_json_body(emulator: Emulator) -> None:
    body = {"error_code": "429050", "message": "Too many requests for this organization"}
    emulator.inject(FaultRule(Fault.status(429, body=body)))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.json() == body


async def test_status_fault_with_html_body(emulator: Emulator) -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    emulator.inject(FaultRule(Fault.status(502, body=page, content_type="text/html")))
    async with api_client(emulator) as client:
        response = await client.get("/export/jobs")

    assert response.status_code == 502
    assert response.text == page
    assert response.headers["content-type"] == "text/html"


async def test_status_fault_on_create_stores_nothing(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.status(503), method="POST"))
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=create_body())

    assert response.status_code == 503
    assert emulator.created_count == 0
    assert emulator.lost_responses == []


async def test_not_json_fault_sends_html(target: Target) -> None:
    rule = target.emulator.inject(FaultRule(Fault.not_json(), method="POST"))
    async with target.client() as client:
        response = await client.post("/export/jobs", json=create_body())

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!DOCTYPE html>\n<html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert target.emulator.created_count == 0
    assert rule.fired == 1
    assert target.emulator.stats.faults == {"not_json": 1}


async def test_truncated_fault_cuts_body_in_half(target: Target) -> None:
    target.emulator.seed(20)
    target.emulator.inject(FaultRule(Fault.truncated(), requests={2}))
    async with target.client() as client:
        whole = await client.get("/export/jobs", params={"limit": 10})
        cut = await client.get("/export/jobs", params={"limit": 10})

    assert cut.status_code == 200
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["content-length"] == str(len(cut.content))
    with pytest.raises(json.JSONDecodeError):
        cut.json()
    assert target.emulator.stats.faults == {"truncated": 1}


async def test_truncated_create_is_lost_response(emulator: Emulator) -> None:
    emulator.inject(FaultRule(Fault.truncated(), method="POST"))
    async with api_client(emulator) as client:
        response = await client.post(
            "/export/jobs", json=create_body(), headers={"x-request-id": "req-cut"}
        )

    assert response.status_code == 200
    assert response.content.startswith(b'{"id":1,')
    assert emulator.created_count == 1
    assert emulator.lost_responses == [
        LostResponse(
            "POST", "/data/core/ups/export/jobs", "/export/jobs", 1, "req-cut", "truncated"
        )
    ]


async def test_truncated_empty_body_stays_empty(clock: FakeClock) -> None:
    emulator = Emulator(EmulatorConfig(clock=clock, cancel_style="empty"))
    rule = emulator.inject(FaultRule(Fault.truncated(), method="DELETE"))
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        response = await client.delete("/export/jobs/1")

    assert response.status_code == 204
    assert response.content == b""
    assert rule.fired == 1


async def test_repeated_cursor_repeats_request_offset(emulator: Emulator) -> None:
    emulator.seed(10)
    async with api_client(emulator) as client:
        first = (await client.get("/export/jobs", params={"limit": 3})).json()
        rule = emulator.inject(FaultRule(Fault.repeated_cursor()))
        second = (await client.get(first["link"]["next"])).json()

    offset = _cursor(first["records"][-1])
    assert second["link"]["next"] == f"/export/jobs/?limit=3&offset={offset}"
    assert second["page"]["pageOffset"] == offset
    assert [record["id"] for record in second["records"]] == emulator.job_ids()[3:6]
    assert rule.fired == 1


async def test_repeated_cursor_without_offset_uses_first_job(emulator: Emulator) -> None:
    emulator.seed(10)
    emulator.inject(FaultRule(Fault.repeated_cursor()))
    async with api_client(emulator) as client:
        page = (await client.get("/export/jobs", params={"limit": 3, "status": "SUCCEEDED"})).json()

    cursor = _cursor(page["records"][0])
    assert page["link"]["next"] == f"/export/jobs/?limit=3&offset={cursor}&status=SUCCEEDED"


async def test_repeated_cursor_on_last_page_links_again(emulator: Emulator) -> None:
    emulator.seed(3)
    emulator.inject(FaultRule(Fault.repeated_cursor()))
    async with api_client(emulator) as client:
        page = (await client.get("/export/jobs")).json()

    assert page["link"]["next"] == f"/export/jobs/?offset={_cursor(page['records'][0])}"


async def test_repeated_cursor_on_empty_listing_keeps_link(emulator: Emulator) -> None:
    rule = emulator.inject(FaultRule(Fault.repeated_cursor()))
    async with api_client(emulator) as client:
        page = (await client.get("/export/jobs", params={"limit": 3})).json()

    assert page["link"] == {"next": ""}
    assert rule.fired == 1


async def test_foreign_next_link_is_absolute(target: Target) -> None:
    target.emulator.seed(10)
    target.emulator.inject(FaultRule(Fault.foreign_next_link()))
    async with target.client() as client:
        page = (await client.get("/export/jobs", params={"limit": 3})).json()

    cursor = _cursor(page["records"][-1])
    assert page["link"]["next"] == (
        f"https://other.example/data/core/ups/export/jobs/?limit=3&offset={cursor}"
    )
    assert target.emulator.stats.faults == {"foreign_next_link": 1}


async def test_foreign_next_link_on_last_page(emulator: Emulator) -> None:
    emulator.seed(2)
    emulator.inject(FaultRule(Fault.foreign_next_link(host="evil.example:8443")))
    async with api_client(emulator) as client:
        page = (await client.get("/export/jobs", params={"limit": 5})).json()

    cursor = _cursor(page["records"][-1])
    assert page["link"]["next"] == (
        f"https://evil.example:8443/data/core/ups/export/jobs/?limit=5&offset={cursor}"
    )


async def test_link_faults_apply_to_listings_only(emulator: Emulator) -> None:
    emulator.seed(2)
    rule = emulator.inject(FaultRule(Fault.foreign_next_link()))
    async with api_client(emulator) as client:
        job = await client.get("/export/jobs/1")
        created = await client.post("/export/jobs", json=create_body())
        page = (await client.get("/export/jobs", params={"limit": 1})).json()

    assert (job.status_code, created.status_code) == (200, 200)
    assert page["link"]["next"].startswith("https://other.example/")
    assert rule.matched == 1
    assert rule.fired == 1
