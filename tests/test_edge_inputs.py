"""Inputs at the edges that once escaped as exceptions from outside the library."""

from __future__ import annotations

import sys

import httpx
import pytest
import respx

from aep_jobs import (
    DecodeError,
    ExportJob,
    ExportJobsClient,
    PaginationError,
    RequestValidationError,
    decoder_for,
    parse_export_request,
)
from aep_jobs.retry import parse_retry_after

pytestmark = pytest.mark.anyio

VALID_BODY = {
    "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
    "schema": {"name": "_xdm.context.profile"},
}


@pytest.mark.parametrize("millis", [-62_135_596_800_001, 10**16, 9_223_372_036_854_775_296_000])
def test_out_of_range_time_gives_none(millis: int) -> None:
    job = decoder_for(ExportJob).decode(f'{{"id": 1, "creationTime": {millis}}}'.encode())

    assert job.created_at is None


@pytest.mark.parametrize(
    "header", ["0 JAN 0 0:0 2399999999960", "0 JAN 0:0 2200000000"], ids=["days", "year"]
)
def test_retry_after_overflow_gives_none(header: str) -> None:
    assert parse_retry_after(header) is None


async def test_deeply_nested_body_is_decode_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    depth = sys.getrecursionlimit()
    body = b'{"id": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"
    router.get("/export/jobs/1").respond(200, content=body)

    with pytest.raises(DecodeError) as caught:
        await client.get(1)

    assert caught.value.reason == "the JSON is nested too deeply"
    assert caught.value.status_code == 200


@pytest.mark.parametrize("source", [None, 5, ["destination"]], ids=["none", "int", "list"])
def test_parse_rejects_non_json_source(source: object) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(source)  # type: ignore[arg-type]

    assert caught.value.field == "body"
    assert caught.value.problem == (
        "expected JSON text, bytes or a mapping of the API's field names"
    )


@pytest.mark.parametrize("source", [b"", "  \n"], ids=["bytes", "blank"])
def test_parse_rejects_empty_body(source: bytes | str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(source)

    assert caught.value.problem == "is empty; a JSON object was expected"


def test_lone_surrogate_in_request_rejected() -> None:
    body = {**VALID_BODY, "destination": {"datasetId": "\ud800"}}

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(body)

    assert caught.value.field == "request"
    assert "not valid Unicode" in caught.value.problem


async def test_lone_surrogate_offset_not_sent(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs")

    with pytest.raises(RequestValidationError) as caught:
        await client.list_page(offset="\ud800")

    assert caught.value.field == "offset"
    assert route.called is False


def test_deeply_nested_value_message_bounded() -> None:
    nested: object = "x"
    for _ in range(sys.getrecursionlimit()):
        nested = [nested]
    body = {**VALID_BODY, "destination": {"datasetId": "d", "unknownField": nested}}

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(body)

    assert caught.value.field == "destination.unknownField"
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("second", ["61", "99"])
def test_second_past_sixty_rejected(second: str) -> None:
    body = {**VALID_BODY, "filter": {"fromIngestTimestamp": f"2000-01-01T00:00:{second}Z"}}

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(body)

    assert caught.value.field == "filter.fromIngestTimestamp"


def test_leap_second_accepted() -> None:
    body = {**VALID_BODY, "filter": {"fromIngestTimestamp": "2016-12-31T23:59:60Z"}}

    assert parse_export_request(body).filter is not None


def test_window_order_counts_fractions() -> None:
    window = {
        "startTime": "2000-01-01T00:00:00.000001+03:00",
        "endTime": "2000-01-01T02:30:00+05:30",
    }
    body = {**VALID_BODY, "filter": {"segmentQualificationTime": window}}

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(body)

    assert caught.value.field == "filter.segmentQualificationTime"
    assert caught.value.problem == "startTime is after endTime; swap them"


async def test_malformed_host_link_is_pagination_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    page = {"records": [{"id": 1}], "link": {"next": "http://xn--.localhost/export/jobs"}}
    router.get("/export/jobs").mock(return_value=httpx.Response(200, json=page))
    jobs = client.iter_jobs()

    first = await jobs.__anext__()
    with pytest.raises(PaginationError) as caught:
        await jobs.__anext__()

    assert first.id == 1
    assert str(caught.value).startswith(
        "The next link 'http://xn--.localhost/export/jobs' is not a valid URL"
    )
