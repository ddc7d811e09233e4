"""Creating export jobs: the 200 response, echoed fields, defaults, and every rejection."""

from __future__ import annotations

from typing import Any

import pytest

from aep_jobs.emulator import DEFAULT_ORG_ID, Emulator

from .helpers import CREATE_BODY, FakeClock, api_client, create_body

pytestmark = pytest.mark.anyio


async def test_create_returns_200_with_new_job(emulator: Emulator, clock: FakeClock) -> None:
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=create_body())

    job = response.json()
    assert response.status_code == 200
    assert job["id"] == 1
    assert job["status"] == "NEW"
    assert job["jobType"] == "BATCH"
    assert job["creationTime"] == clock.now_ms
    assert job["updateTime"] == clock.now_ms


async def test_create_sets_x_location(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=create_body())

    assert response.headers["x-location"] == "http://127.0.0.1/data/core/ups/export/jobs/1"


async def test_create_echoes_request_fields(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        job = (await client.post("/export/jobs", json=create_body())).json()

    for name in ("fields", "mergePolicy", "filter", "additionalFields", "schema"):
        assert job[name] == CREATE_BODY[name], name
    assert job["evaluationInfo"] == {"segmentation": True}
    assert job["destination"]["datasetId"] == "5b7c86968f7b6501e21ba9df"
    assert job["destination"]["segmentPerBatch"] is False


async def test_create_adds_service_fields(emulator: Emulator) -> None:
    headers = {"x-request-id": "req-create", "x-profile-instance-id": "test_profile_instance"}
    async with api_client(emulator) as client:
        job = (await client.post("/export/jobs", json=create_body(), headers=headers)).json()

    assert job["imsOrgId"] == DEFAULT_ORG_ID
    assert job["requestId"] == "req-create"
    assert job["profileInstanceId"] == "test_profile_instance"
    assert job["computeGatewayJobId"] == {"exportJob": ""}
    assert len(job["destination"]["batchId"]) == 32


async def test_create_fills_defaults(emulator: Emulator) -> None:
    body = {
        "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
        "schema": {"name": "_xdm.context.profile"},
        "filter": {"segments": [{"segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff"}]},
    }
    async with api_client(emulator) as client:
        job = (await client.post("/export/jobs", json=body)).json()

    assert job["filter"]["segments"] == [
        {
            "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
            "segmentNs": "ups",
            "status": ["realized", "existing"],
        }
    ]
    assert job["destination"]["segmentPerBatch"] is False
    assert job["profileInstanceId"] == "ups"
    assert "fields" not in job


async def test_create_with_segment_per_batch_lists_batches(emulator: Emulator) -> None:
    body = create_body()
    body["destination"]["segmentPerBatch"] = True
    body["filter"]["segments"].append({"segmentId": "segment2", "segmentNs": "AdCloud"})
    async with api_client(emulator) as client:
        job = (await client.post("/export/jobs", json=body)).json()

    batches = job["destination"]["batches"]
    assert [batch["segmentId"] for batch in batches] == [
        "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
        "segment2",
    ]
    assert [batch["segmentNs"] for batch in batches] == ["ups", "AdCloud"]
    assert "batchId" not in job["destination"]


async def test_created_jobs_have_increasing_ids_and_times(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        jobs = [(await client.post("/export/jobs", json=create_body())).json() for _ in range(3)]

    # The clock is frozen, yet no two jobs share a creation time.
    assert [job["id"] for job in jobs] == [1, 2, 3]
    times = [job["creationTime"] for job in jobs]
    assert times == sorted(set(times))


async def test_created_job_is_listed_first(emulator: Emulator) -> None:
    emulator.seed(50)
    async with api_client(emulator) as client:
        created = (await client.post("/export/jobs", json=create_body())).json()
        listing = (await client.get("/export/jobs", params={"limit": 1})).json()

    assert listing["records"] == [created]
    assert emulator.job_ids()[0] == 51


async def test_created_count_excludes_seeded_jobs(emulator: Emulator) -> None:
    emulator.seed(10)
    async with api_client(emulator) as client:
        await client.post("/export/jobs", json=create_body())
        await client.post("/export/jobs", json=create_body())

    assert emulator.created_count == 2


async def test_content_type_with_charset_is_accepted(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.post(
            "/export/jobs",
            content=b'{"destination": {"datasetId": "d1"}, "schema": {"name": "s"}}',
            headers={"Content-Type": "Application/JSON; charset=utf-8"},
        )

    assert response.status_code == 200


@pytest.mark.parametrize(("content_type", "shown"), [(None, "none"), ("text/plain", "text/plain")])
async def test_wrong_content_type_is_400(
    emulator: Emulator, content_type: str | None, shown: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", content=b"{}", headers=headers)

    assert response.status_code == 400
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1002-400",
        "status": 400,
        "title": "BadRequestError",
        "detail": f"Content-Type must be application/json, got {shown}",
    }


async def test_body_that_is_not_json_is_400(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.post(
            "/export/jobs",
            content=b'{"destination": {"datasetId": "d1",}}',
            headers={"Content-Type": "application/json", "x-request-id": "req-json"},
        )

    problem = response.json()
    assert response.status_code == 400
    assert problem["title"] == "Invalid export job request"
    assert problem["detail"].startswith("The request body is not valid JSON: ")
    assert problem["requestId"] == "req-json"


async def test_body_that_is_not_an_object_is_400(emulator: Emulator) -> None:
    async with api_client(emulator) as client:
        response = await client.post("/export/jobs", json=[create_body()])

    assert response.status_code == 400
    assert response.json()["detail"] == "The request body must be a JSON object, got array"


def _without(path: str) -> dict[str, Any]:
    body = create_body()
    *parents, name = path.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    del target[name]
    return body


def _with(path: str, value: object) -> dict[str, Any]:
    body = create_body()
    *parents, name = path.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    target[name] = value
    return body


def _with_segment(segment: dict[str, Any]) -> dict[str, Any]:
    body = create_body()
    body["filter"]["segments"].append(segment)
    return body


VALIDATION_ERRORS = [
    pytest.param(_without("destination"), "destination is required", id="no-destination"),
    pytest.param(
        _without("destination.datasetId"),
        "destination.datasetId is required",
        id="no-dataset-id",
    ),
    pytest.param(
        _with("destination.datasetId", ""),
        "destination.datasetId is required and must not be empty",
        id="empty-dataset-id",
    ),
    pytest.param(_without("schema.name"), "schema.name is required", id="no-schema-name"),
    pytest.param(
        _with_segment({"segmentNs": "ups"}),
        "filter.segments[1].segmentId is required",
        id="segment-without-id",
    ),
    pytest.param(
        _with_segment({"segmentId": "s2", "status": ["realized", "entered"]}),
        "filter.segments[1].status contains the invalid value 'entered'. "
        "Allowed values are 'realized', 'existing' and 'exited'.",
        id="segment-status-unknown",
    ),
    pytest.param(
        _with_segment({"segmentId": "s2", "status": "exited"}),
        "filter.segments[1].status must be an array of strings, got string",
        id="segment-status-not-array",
    ),
    pytest.param(
        _with("filter.fromIngestTimestamp", "2018-01-01"),
        "filter.fromIngestTimestamp must be an RFC 3339 timestamp such as "
        "'2018-01-01T00:00:00Z', got '2018-01-01'",
        id="ingest-timestamp-date-only",
    ),
    pytest.param(
        _with("filter.segmentQualificationTime.startTime", "2018-02-30T00:00:00Z"),
        "filter.segmentQualificationTime.startTime must be an RFC 3339 timestamp such as "
        "'2018-01-01T00:00:00Z', got '2018-02-30T00:00:00Z'",
        id="qualification-start-invalid-day",
    ),
    pytest.param(
        _with("filter.segmentQualificationTime.endTime", "2018-02-01T00:00:00"),
        "filter.segmentQualificationTime.endTime must be an RFC 3339 timestamp such as "
        "'2018-01-01T00:00:00Z', got '2018-02-01T00:00:00'",
        id="qualification-end-without-offset",
    ),
    pytest.param(
        _with("additionalFields.eventList.filter.toIngestTimestamp", 1514764800),
        "additionalFields.eventList.filter.toIngestTimestamp must be an RFC 3339 timestamp "
        "such as '2018-01-01T00:00:00Z', got 1514764800",
        id="event-timestamp-number",
    ),
    pytest.param(
        _with("filter.emptyProfiles", "true"),
        "filter.emptyProfiles must be a boolean, got string",
        id="empty-profiles-string",
    ),
    pytest.param(
        _with("filter.segments", {"segmentId": "s1"}),
        "filter.segments must be an array, got object",
        id="segments-object",
    ),
    pytest.param(
        _with("mergePolicy.version", [1]),
        "mergePolicy.version must be a number, got array",
        id="merge-policy-version-array",
    ),
    pytest.param(
        _with("fields", ["identities.id"]), "fields must be a string, got array", id="fields-array"
    ),
]


@pytest.mark.parametrize(("body", "detail"), VALIDATION_ERRORS)
async def test_invalid_request_is_400(
    emulator: Emulator, body: dict[str, Any], detail: str
) -> None:
    async with api_client(emulator) as client:
        response = await client.post(
            "/export/jobs", json=body, headers={"x-request-id": "req-invalid"}
        )

    assert response.status_code == 400
    assert response.json() == {
        "type": "http://ns.adobe.com/aep/errors/UPS-1001-400",
        "title": "Invalid export job request",
        "status": 400,
        "detail": detail,
        "requestId": "req-invalid",
    }
    assert emulator.created_count == 0


@pytest.mark.parametrize(
    "timestamp",
    [
        "2018-01-01T00:00:00Z",
        "2018-01-01t00:00:00z",
        "2018-01-01 00:00:00+00:00",
        "2018-01-01T00:00:00.123456789+02:00",
        "2016-12-31T23:59:60Z",
    ],
)
async def test_rfc3339_timestamp_is_accepted(emulator: Emulator, timestamp: str) -> None:
    async with api_client(emulator) as client:
        response = await client.post(
            "/export/jobs", json=_with("filter.fromIngestTimestamp", timestamp)
        )

    assert response.status_code == 200
