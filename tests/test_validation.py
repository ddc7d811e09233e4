"""Checks on create requests, list filters and job ids, which run before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import respx

from aep_jobs import (
    Destination,
    ExportFilter,
    ExportJobRequest,
    ExportJobsClient,
    QualificationTime,
    RequestValidationError,
    SchemaRef,
    parse_export_request,
)
from aep_jobs._validation import LIST_STATUS_FILTERS

pytestmark = pytest.mark.anyio

TIMESTAMP_PROBLEM = "expected an RFC 3339 timestamp such as '2018-01-01T00:00:00Z'"


@pytest.fixture
def catch_all(router: respx.MockRouter) -> respx.Route:
    """A route that matches every request to the service root and responds with success, so
    that a request sent by mistake fails the test at the missing error."""
    return router.route().respond(200, content=b'{"id": 100, "records": []}')


def request_body(**changes: Any) -> dict[str, Any]:
    """Return a valid create request as wire names, with top-level fields replaced."""
    body: dict[str, Any] = {
        "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
        "schema": {"name": "_xdm.context.profile"},
    }
    body.update(changes)
    return body


async def create_error(
    client: ExportJobsClient, catch_all: respx.Route, request: Any
) -> RequestValidationError:
    with pytest.raises(RequestValidationError) as caught:
        await client.create(request)
    assert catch_all.called is False
    return caught.value


# ---------------------------------------------------------------------------------------------
# Create requests given as mappings of wire names


@pytest.mark.parametrize(
    ("body", "field", "value", "message"),
    [
        pytest.param(
            request_body(destination={}),
            "destination.datasetId",
            None,
            "Missing destination.datasetId: the field is required",
            id="missing-dataset-id",
        ),
        pytest.param(
            request_body(schema={}),
            "schema.name",
            None,
            "Missing schema.name: the field is required",
            id="missing-schema-name",
        ),
        pytest.param(
            request_body(destination={"datasetId": ""}),
            "destination.datasetId",
            "",
            "Invalid destination.datasetId '': must not be empty",
            id="empty-dataset-id",
        ),
        pytest.param(
            request_body(schema={"name": "  "}),
            "schema.name",
            "  ",
            "Invalid schema.name '  ': must not be empty",
            id="blank-schema-name",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentNs": "ups", "status": ["realized"]}]}),
            "filter.segments[0].segmentId",
            None,
            "Missing filter.segments[0].segmentId: the field is required",
            id="segment-without-id",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentId": "s1"}, {"segmentNs": "AAM"}]}),
            "filter.segments[1].segmentId",
            None,
            "Missing filter.segments[1].segmentId: the field is required",
            id="second-segment-without-id",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentId": "s1", "status": ["qualified"]}]}),
            "filter.segments[0].status[0]",
            "qualified",
            "Invalid filter.segments[0].status[0] 'qualified': "
            "expected one of realized, existing, exited",
            id="unknown-segment-status",
        ),
        pytest.param(
            request_body(
                filter={"segments": [{"segmentId": "s1", "status": ["realized", "Existing"]}]}
            ),
            "filter.segments[0].status[1]",
            "Existing",
            "Invalid filter.segments[0].status[1] 'Existing': "
            "expected one of realized, existing, exited",
            id="capitalised-segment-status",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentId": "s1", "status": []}]}),
            "filter.segments[0].status",
            [],
            "Invalid filter.segments[0].status []: "
            "must not be empty; leave it out to use the server's default",
            id="empty-segment-status",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentId": "s1", "status": "realized"}]}),
            "filter.segments[0].status",
            "realized",
            "Invalid filter.segments[0].status 'realized': expected `array | null`, got `str`",
            id="segment-status-string",
        ),
        pytest.param(
            request_body(filter={"segments": [{"segmentId": "s1", "segmentNs": ""}]}),
            "filter.segments[0].segmentNs",
            "",
            "Invalid filter.segments[0].segmentNs '': must not be empty",
            id="empty-segment-namespace",
        ),
        pytest.param(
            request_body(destination={"datasetId": 5}),
            "destination.datasetId",
            5,
            "Invalid destination.datasetId 5: expected `str`, got `int`",
            id="dataset-id-number",
        ),
        pytest.param(
            request_body(
                destination={"datasetId": "5b7c86968f7b6501e21ba9df", "segmentPerBatch": "false"}
            ),
            "destination.segmentPerBatch",
            "false",
            "Invalid destination.segmentPerBatch 'false': expected `bool | null`, got `str`",
            id="segment-per-batch-string",
        ),
        pytest.param(
            request_body(filter={"emptyProfiles": "yes"}),
            "filter.emptyProfiles",
            "yes",
            "Invalid filter.emptyProfiles 'yes': expected `bool | null`, got `str`",
            id="empty-profiles-string",
        ),
        pytest.param(
            request_body(mergePolicy={"id": "timestampOrdered-none-mp", "version": "latest"}),
            "mergePolicy.version",
            "latest",
            "Invalid mergePolicy.version 'latest': expected `int | null`, got `str`",
            id="merge-policy-version-string",
        ),
        pytest.param(
            request_body(mergePolicy={"version": 1}),
            "mergePolicy.id",
            None,
            "Missing mergePolicy.id: the field is required",
            id="merge-policy-without-id",
        ),
        pytest.param(
            request_body(fields=""),
            "fields",
            "",
            "Invalid fields '': must not be empty",
            id="empty-fields",
        ),
        pytest.param(
            request_body(destination={"datasetID": "5b7c86968f7b6501e21ba9df"}),
            "destination.datasetID",
            "5b7c86968f7b6501e21ba9df",
            "Invalid destination.datasetID '5b7c86968f7b6501e21ba9df': is not a known field; "
            "did you mean 'datasetId'?",
            id="dataset-id-typo",
        ),
        pytest.param(
            request_body(destination={"dataset_id": "5b7c86968f7b6501e21ba9df"}),
            "destination.dataset_id",
            "5b7c86968f7b6501e21ba9df",
            "Invalid destination.dataset_id '5b7c86968f7b6501e21ba9df': is not a known field; "
            "did you mean 'datasetId'?",
            id="snake-case-name",
        ),
        pytest.param(
            request_body(filter={"segment": [{"segmentId": "s1"}]}),
            "filter.segment",
            [{"segmentId": "s1"}],
            "Invalid filter.segment [{'segmentId': 's1'}]: is not a known field; "
            "did you mean 'segments'?",
            id="unknown-filter-field",
        ),
    ],
)
async def test_invalid_mapping_not_sent(
    client: ExportJobsClient,
    catch_all: respx.Route,
    body: dict[str, Any],
    field: str,
    value: object,
    message: str,
) -> None:
    error = await create_error(client, catch_all, body)

    assert error.field == field
    assert error.value == value
    assert str(error) == message


async def test_missing_schema_object_names_field(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    error = await create_error(
        client, catch_all, {"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}}
    )

    assert error.field == "schema"
    assert error.value is None
    assert str(error) == "Missing schema: the field is required"


async def test_unknown_top_level_field_named(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    error = await create_error(
        client, catch_all, request_body(evaluationinfo={"segmentation": True})
    )

    assert error.field == "evaluationinfo"
    assert error.value == {"segmentation": True}
    assert str(error) == (
        "Invalid evaluationinfo {'segmentation': True}: is not a known field; "
        "did you mean 'evaluationInfo'?"
    )


# ---------------------------------------------------------------------------------------------
# Create requests given as Structs


async def test_typed_empty_dataset_id_not_sent(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    request = ExportJobRequest(
        destination=Destination(dataset_id=""), schema=SchemaRef(name="_xdm.context.profile")
    )

    error = await create_error(client, catch_all, request)

    assert error.field == "destination.datasetId"
    assert error.value == ""
    assert str(error) == "Invalid destination.datasetId '': must not be empty"


async def test_typed_wrong_type_not_sent(client: ExportJobsClient, catch_all: respx.Route) -> None:
    # Structs do not check types on construction, so the client has to check them.
    destination = Destination(dataset_id=5)  # type: ignore[arg-type]
    request = ExportJobRequest(
        destination=destination, schema=SchemaRef(name="_xdm.context.profile")
    )

    error = await create_error(client, catch_all, request)

    assert error.field == "destination.datasetId"
    assert error.value == 5
    assert str(error) == "Invalid destination.datasetId 5: expected `str`, got `int`"


async def test_dict_as_destination_converted(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    # A mapping where a nested Struct belongs, as a caller without a type checker may write.
    destination: Any = {"datasetId": "5b7c86968f7b6501e21ba9df"}
    request = ExportJobRequest(
        destination=destination, schema=SchemaRef(name="_xdm.context.profile")
    )

    await client.create(request)

    assert catch_all.call_count == 1
    assert catch_all.calls.last.request.content == (
        b'{"destination":{"datasetId":"5b7c86968f7b6501e21ba9df"},'
        b'"schema":{"name":"_xdm.context.profile"}}'
    )


async def test_dict_with_bad_field_not_sent(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    destination: Any = {"datasetId": 5}
    request = ExportJobRequest(
        destination=destination, schema=SchemaRef(name="_xdm.context.profile")
    )

    error = await create_error(client, catch_all, request)

    assert error.field == "destination.datasetId"
    assert error.value == 5


async def test_non_request_not_sent(client: ExportJobsClient, catch_all: respx.Route) -> None:
    error = await create_error(client, catch_all, ["destination"])

    assert error.field == "request"
    assert error.value == ["destination"]
    assert str(error) == (
        "Invalid request ['destination']: "
        "expected an ExportJobRequest; build one or use parse_export_request"
    )


# ---------------------------------------------------------------------------------------------
# Timestamps


@pytest.mark.parametrize(
    "timestamp",
    [
        "2018-01-01",
        "2018-01-01T00:00:00",
        "2018-01-01T00:00Z",
        "2018/01/01T00:00:00Z",
        "01/01/2018 00:00:00",
        "2018-13-01T00:00:00Z",
        "2018-02-30T00:00:00Z",
        "2018-01-01T24:00:00Z",
        "2018-01-01T00:00:00+0000",
        "2018-01-01T00:00:00+24:00",
        "2018-01-01T00:00:00.Z",
        "2018-01-01T00:00:00 Z",
        " 2018-01-01T00:00:00Z",
        "1514764800",
        "",
    ],
)
async def test_bad_timestamp_not_sent(
    client: ExportJobsClient, catch_all: respx.Route, timestamp: str
) -> None:
    error = await create_error(
        client, catch_all, request_body(filter={"fromIngestTimestamp": timestamp})
    )

    assert error.field == "filter.fromIngestTimestamp"
    assert error.value == timestamp
    assert str(error) == f"Invalid filter.fromIngestTimestamp {timestamp!r}: {TIMESTAMP_PROBLEM}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            request_body(filter={"segmentQualificationTime": {"startTime": "2018-01-01"}}),
            "filter.segmentQualificationTime.startTime",
        ),
        (
            request_body(filter={"segmentQualificationTime": {"endTime": "2018-01-01"}}),
            "filter.segmentQualificationTime.endTime",
        ),
        (
            request_body(
                additionalFields={"eventList": {"filter": {"fromIngestTimestamp": "2018-01-01"}}}
            ),
            "additionalFields.eventList.filter.fromIngestTimestamp",
        ),
        (
            request_body(
                additionalFields={"eventList": {"filter": {"toIngestTimestamp": "2018-01-01"}}}
            ),
            "additionalFields.eventList.filter.toIngestTimestamp",
        ),
    ],
    ids=["start-time", "end-time", "event-from", "event-to"],
)
async def test_every_timestamp_field_checked(
    client: ExportJobsClient, catch_all: respx.Route, body: dict[str, Any], field: str
) -> None:
    error = await create_error(client, catch_all, body)

    assert error.field == field
    assert error.value == "2018-01-01"
    assert str(error) == f"Invalid {field} '2018-01-01': {TIMESTAMP_PROBLEM}"


@pytest.mark.parametrize(
    "timestamp",
    [
        "2018-01-01T00:00:00Z",
        "2018-01-01t00:00:00z",
        "2018-01-01T00:00:00+00:00",
        "2018-01-01T02:00:00+02:00",
        "2017-12-31T18:30:00-05:30",
        "2018-01-01T00:00:00.5Z",
        "2018-01-01T00:00:00.123456789+01:00",
        "2018-01-01 00:00:00+00:00",
        "2016-12-31T23:59:60Z",
    ],
)
async def test_good_timestamp_sent_unchanged(
    client: ExportJobsClient, router: respx.MockRouter, timestamp: str
) -> None:
    route = router.post("/export/jobs").respond(200, content=b'{"id": 100, "status": "NEW"}')

    await client.create(request_body(filter={"fromIngestTimestamp": timestamp}))

    assert json.loads(route.calls.last.request.content)["filter"] == {
        "fromIngestTimestamp": timestamp
    }


async def test_offset_minutes_over_59_not_sent(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    timestamp = "2018-01-01T00:00:00+00:60"

    error = await create_error(
        client, catch_all, request_body(filter={"fromIngestTimestamp": timestamp})
    )

    assert error.field == "filter.fromIngestTimestamp"


async def test_non_ascii_digits_not_sent(client: ExportJobsClient, catch_all: respx.Route) -> None:
    # Fullwidth digits: RFC 3339 timestamps contain ASCII digits only.
    timestamp = "\uff12\uff10\uff11\uff18-01-01T00:00:00Z"

    error = await create_error(
        client, catch_all, request_body(filter={"fromIngestTimestamp": timestamp})
    )

    assert error.field == "filter.fromIngestTimestamp"


async def test_start_after_end_not_sent(client: ExportJobsClient, catch_all: respx.Route) -> None:
    window = {"startTime": "2018-02-01T00:00:00Z", "endTime": "2018-01-01T00:00:00Z"}

    error = await create_error(
        client, catch_all, request_body(filter={"segmentQualificationTime": window})
    )

    assert error.field == "filter.segmentQualificationTime"
    assert error.value == "2018-02-01T00:00:00Z .. 2018-01-01T00:00:00Z"
    assert str(error) == (
        "Invalid filter.segmentQualificationTime '2018-02-01T00:00:00Z .. 2018-01-01T00:00:00Z': "
        "startTime is after endTime; swap them"
    )


async def test_start_after_end_compared_in_utc(
    client: ExportJobsClient, catch_all: respx.Route
) -> None:
    # 09:00Z is after 10:00+02:00, which is 08:00Z.
    window = {"startTime": "2018-01-01T09:00:00Z", "endTime": "2018-01-01T10:00:00+02:00"}

    error = await create_error(
        client, catch_all, request_body(filter={"segmentQualificationTime": window})
    )

    assert error.field == "filter.segmentQualificationTime"


def test_start_before_end_in_utc_accepted() -> None:
    # 10:00+02:00 is 08:00Z, before 09:00Z.
    window = {"startTime": "2018-01-01T10:00:00+02:00", "endTime": "2018-01-01T09:00:00Z"}

    request = parse_export_request(request_body(filter={"segmentQualificationTime": window}))

    assert request.filter == ExportFilter(
        segment_qualification_time=QualificationTime(
            start_time="2018-01-01T10:00:00+02:00", end_time="2018-01-01T09:00:00Z"
        )
    )


def test_equal_start_and_end_accepted() -> None:
    window = {"startTime": "2018-01-01T00:00:00Z", "endTime": "2018-01-01T00:00:00Z"}

    request = parse_export_request(request_body(filter={"segmentQualificationTime": window}))

    assert request.filter is not None
    assert request.filter.segment_qualification_time == QualificationTime(
        start_time="2018-01-01T00:00:00Z", end_time="2018-01-01T00:00:00Z"
    )


# ---------------------------------------------------------------------------------------------
# parse_export_request with JSON text


@pytest.mark.parametrize(
    ("text", "field", "value", "message"),
    [
        pytest.param(
            b'{"destination": {}, "schema": {"name": "_xdm.context.profile"}}',
            "destination.datasetId",
            None,
            "Missing destination.datasetId: the field is required",
            id="missing-dataset-id",
        ),
        pytest.param(
            b'{"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}, "schema": {}}',
            "schema.name",
            None,
            "Missing schema.name: the field is required",
            id="missing-schema-name",
        ),
        pytest.param(
            b'{"destination": {"datasetId": 5}, "schema": {"name": "_xdm.context.profile"}}',
            "destination.datasetId",
            5,
            "Invalid destination.datasetId 5: expected `str`, got `int`",
            id="dataset-id-number",
        ),
        pytest.param(
            '{"destination": {"datasetID": "5b7c"}, "schema": {"name": "_xdm.context.profile"}}',
            "destination.datasetID",
            "5b7c",
            "Invalid destination.datasetID '5b7c': is not a known field; did you mean 'datasetId'?",
            id="dataset-id-typo-str",
        ),
        pytest.param(
            b'{"destination": {"datasetId": "5b7c"}, "schema": {"name": "_xdm.context.profile"}, '
            b'"filter": {"segments": [{"status": ["realized"]}]}}',
            "filter.segments[0].segmentId",
            None,
            "Missing filter.segments[0].segmentId: the field is required",
            id="segment-without-id",
        ),
    ],
)
def test_parse_json_error_fields(
    text: bytes | str, field: str, value: object, message: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(text)

    assert caught.value.field == field
    assert caught.value.value == value
    assert str(caught.value) == message


def test_parse_trailing_comma_json_rejected() -> None:
    text = b'{"destination": {"datasetId": "5b7c",}, "schema": {"name": "_x"}}'

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(text)

    assert caught.value.field == "body"
    assert caught.value.value == text.decode()
    assert str(caught.value) == (
        f"Invalid body {text.decode()!r}: "
        "not valid JSON (JSON is malformed: trailing comma in object (byte 37))"
    )


def test_parse_long_invalid_json_value_shortened() -> None:
    text = '{"destination": ' + " " * 200 + "}"

    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(text)

    assert caught.value.value == text[:80] + "..."


def test_parse_json_array_rejected() -> None:
    with pytest.raises(RequestValidationError) as caught:
        parse_export_request(b"[]")

    assert caught.value.field == "body"
    assert str(caught.value) == "Invalid body '[]': Expected `object`, got `array`"


def test_parse_guide_request(guide_create_request: dict[str, Any]) -> None:
    request = parse_export_request(json.dumps(guide_create_request))

    assert request.destination == Destination(
        dataset_id="5b7c86968f7b6501e21ba9df", segment_per_batch=False
    )
    assert request.schema == SchemaRef(name="_xdm.context.profile")
    assert request.fields == "identities.id,personalEmail.address"
    assert request.evaluation_info is not None
    assert request.evaluation_info.segmentation is True


# ---------------------------------------------------------------------------------------------
# List filters


@pytest.mark.parametrize("limit", [0, -1, True, "10", 2.5], ids=["0", "-1", "True", "str", "float"])
async def test_bad_limit_not_sent(
    client: ExportJobsClient, catch_all: respx.Route, limit: Any
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.list_page(limit=limit)

    assert catch_all.called is False
    assert caught.value.field == "limit"
    assert caught.value.value == limit
    assert str(caught.value) == f"Invalid limit {limit!r}: expected a positive integer such as 100"


@pytest.mark.parametrize("status", ["PROCESSING", "failed", "CANCELLED", ""])
async def test_unknown_status_filter_not_sent(
    client: ExportJobsClient, catch_all: respx.Route, status: str
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.list_page(status=status)

    assert catch_all.called is False
    assert caught.value.field == "status"
    assert caught.value.value == status
    assert str(caught.value) == f"Invalid status {status!r}: expected one of NEW, SUCCEEDED, FAILED"


@pytest.mark.parametrize("offset", ["", 1538573416687], ids=["empty", "number"])
async def test_bad_offset_not_sent(
    client: ExportJobsClient, catch_all: respx.Route, offset: Any
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.list_page(offset=offset)

    assert catch_all.called is False
    assert caught.value.field == "offset"
    assert caught.value.value == offset
    assert str(caught.value) == (
        f"Invalid offset {offset!r}: expected a non-empty cursor string such as '1538573416687_722'"
    )


async def test_iter_jobs_checks_page_size(client: ExportJobsClient, catch_all: respx.Route) -> None:
    with pytest.raises(RequestValidationError) as caught:
        client.iter_jobs(page_size=0)

    assert catch_all.called is False
    assert caught.value.field == "page_size"
    assert caught.value.value == 0


async def test_iter_jobs_checks_status(client: ExportJobsClient, catch_all: respx.Route) -> None:
    with pytest.raises(RequestValidationError) as caught:
        client.iter_jobs(status="PROCESSING")

    assert catch_all.called is False
    assert caught.value.field == "status"


@pytest.mark.parametrize("name", ["max_pages", "max_items"])
@pytest.mark.parametrize("maximum", [0, -1, True, 1.5], ids=["0", "-1", "True", "float"])
async def test_bad_maximum_rejected_on_call(
    client: ExportJobsClient, catch_all: respx.Route, name: str, maximum: Any
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        client.iter_jobs(**{name: maximum})

    assert catch_all.called is False
    assert caught.value.field == name
    assert caught.value.value == maximum
    assert str(caught.value) == f"Invalid {name} {maximum!r}: expected a positive integer or None"


# ---------------------------------------------------------------------------------------------
# Job ids


BAD_JOB_IDS = pytest.mark.parametrize(
    "job_id",
    ["abc", -1, True, None, 1.5, "", "-1", "7 22", "722/"],
    ids=["abc", "-1", "True", "None", "1.5", "empty", "minus-string", "space", "slash"],
)


@BAD_JOB_IDS
async def test_bad_job_id_not_fetched(
    client: ExportJobsClient, catch_all: respx.Route, job_id: Any
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.get(job_id)

    assert catch_all.called is False
    assert caught.value.field == "job_id"
    assert caught.value.value == job_id
    assert str(caught.value) == f"Invalid job_id {job_id!r}: expected an export job id such as 722"


@BAD_JOB_IDS
async def test_bad_job_id_not_cancelled(
    client: ExportJobsClient, catch_all: respx.Route, job_id: Any
) -> None:
    with pytest.raises(RequestValidationError) as caught:
        await client.cancel(job_id)

    assert catch_all.called is False
    assert caught.value.field == "job_id"
    assert str(caught.value) == f"Invalid job_id {job_id!r}: expected an export job id such as 722"


# ---------------------------------------------------------------------------------------------
# The OpenAPI excerpt, read as data


def test_status_filters_match_openapi(openapi_enum: Callable[..., list[str]]) -> None:
    statuses = openapi_enum("operationId: listExportJobs", "- name: status")

    assert tuple(statuses) == LIST_STATUS_FILTERS
