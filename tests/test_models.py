"""Decoding of export job responses: every variant that real responses and Adobe's examples
contain, decoded with the client's own decoders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
import pytest

from aep_jobs import ExportJob, JobPage, JobStatus, decoder_for
from aep_jobs.models import (
    CancelResult,
    ComputeGatewayJobId,
    Destination,
    ErrorBody,
    ExportJobRequest,
    JobDestination,
    JobMetrics,
    SchemaRef,
    SegmentBatch,
    encode_request,
)


def decode_job(body: bytes) -> ExportJob:
    job: ExportJob = decoder_for(ExportJob).decode(body)
    return job


def decode_page(body: bytes) -> JobPage[ExportJob]:
    page: JobPage[ExportJob] = decoder_for(JobPage[ExportJob]).decode(body)
    return page


def destination_of(job: ExportJob) -> JobDestination:
    assert job.destination is not None
    return job.destination


def metrics_of(job: ExportJob) -> JobMetrics:
    assert job.metrics is not None
    return job.metrics


# ---------------------------------------------------------------------------------------------
# Destination: dataset id spellings and batches


def test_dataset_id_spelled_datasetid() -> None:
    job = decode_job(b'{"id": 1, "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}}')

    assert destination_of(job).dataset_id == "5b7c86968f7b6501e21ba9df"


def test_dataset_id_spelled_datasetid_capital_s() -> None:
    job = decode_job(b'{"id": 1, "destination": {"dataSetId": "5bb4c46757920712f924a3eb"}}')

    assert destination_of(job).dataset_id == "5bb4c46757920712f924a3eb"


def test_dataset_id_prefers_lower_case_spelling() -> None:
    job = decode_job(b'{"id": 1, "destination": {"dataSetId": "capital", "datasetId": "lower"}}')

    assert destination_of(job).dataset_id == "lower"


def test_dataset_id_none_when_absent() -> None:
    job = decode_job(b'{"id": 1, "destination": {"segmentPerBatch": false}}')

    assert destination_of(job).dataset_id is None


def test_guide_segment_per_batch_destination(guide_segment_per_batch_job: bytes) -> None:
    destination = destination_of(decode_job(guide_segment_per_batch_job))

    assert destination.dataset_id == "{DATASET_ID}"
    assert destination.segment_per_batch is True
    assert destination.batches == (
        SegmentBatch(
            segment_id="segment1",
            segment_ns="ups",
            batch_id="da5cfb4de32c4b93a09f7e37fa53ad52",
            raw_status=("realized",),
        ),
        SegmentBatch(
            segment_id="segment2",
            segment_ns="AdCloud",
            batch_id="df4gssdfb93a09f7e37fa53ad52",
            raw_status="exited",
        ),
    )


def test_batches_single_object_becomes_tuple() -> None:
    job = decode_job(
        b'{"id": 1, "destination": {"segmentPerBatch": true, "batches": '
        b'{"segmentId": "segment1", "segmentNs": "ups", "status": ["realized"], '
        b'"batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"}}}'
    )

    batches = destination_of(job).batches
    assert len(batches) == 1
    assert batches[0].segment_id == "segment1"
    assert batches[0].batch_id == "da5cfb4de32c4b93a09f7e37fa53ad52"


def test_batches_absent_is_empty() -> None:
    job = decode_job(b'{"id": 1, "destination": {"batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"}}')

    assert destination_of(job).batches == ()


def test_batch_status_array_kept() -> None:
    job = decode_job(
        b'{"id": 1, "destination": {"batches": [{"segmentId": "s", '
        b'"status": ["realized", "existing"]}]}}'
    )

    assert destination_of(job).batches[0].status == ("realized", "existing")


def test_batch_status_string_becomes_tuple() -> None:
    job = decode_job(
        b'{"id": 1, "destination": {"batches": [{"segmentId": "s", "status": "exited"}]}}'
    )

    assert destination_of(job).batches[0].status == ("exited",)


def test_batch_status_absent_is_empty() -> None:
    job = decode_job(b'{"id": 1, "destination": {"batches": [{"segmentId": "s"}]}}')

    assert destination_of(job).batches[0].status == ()


def test_segment_filter_status_string_becomes_tuple() -> None:
    job = decode_job(b'{"id": 1, "filter": {"segments": [{"segmentId": "s", "status": "exited"}]}}')

    assert job.filter is not None
    assert job.filter.segments[0].status == ("exited",)


def test_empty_batch_id_kept() -> None:
    job = decode_job(b'{"id": 722, "status": "FAILED", "destination": {"batchId": ""}}')

    assert destination_of(job).batch_id == ""


# ---------------------------------------------------------------------------------------------
# Numbers: floats where integers are expected


def test_float_job_id_becomes_int() -> None:
    job = decode_job(b'{"id": 100.0}')

    assert job.id == 100
    assert type(job.id) is int


def test_fractional_job_id_rejected() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int`, got `float` - at `\$.id`"):
        decode_job(b'{"id": 100.5}')


def test_exponent_counter_becomes_int() -> None:
    job = decode_job(b'{"id": 1, "metrics": {"totalExportedProfileCounter": 1.23456789E+11}}')

    assert metrics_of(job).total_exported_profile_counter == 123456789000


def test_float_namespace_counters_become_int() -> None:
    job = decode_job(
        b'{"id": 1, "metrics": {"exportedProfileByNamespaceCounter": '
        b'{"namespace1": 10.0, "namespace2": 5.0}}}'
    )

    assert metrics_of(job).exported_profile_by_namespace_counter == {
        "namespace1": 10,
        "namespace2": 5,
    }


def test_exponent_timing_decodes() -> None:
    job = decode_job(
        b'{"id": 1, "metrics": {"aCPDatasetWriteTime": {"startTimeInMs": 1.23456789E+11, '
        b'"endTimeInMs": 123456799000.0, "totalTimeInMs": 10000.0}}}'
    )

    timing = metrics_of(job).acp_dataset_write_time
    assert timing is not None
    assert timing.start_time_in_ms == 123456789000.0
    assert timing.end_time_in_ms == 123456799000.0
    assert timing.total_time_in_ms == 10000.0


def test_float_merge_policy_version_decodes() -> None:
    job = decode_job(
        b'{"id": 1, "mergePolicy": {"id": "timestampOrdered-none-mp", "version": 1.0}}'
    )

    assert job.merge_policy is not None
    assert job.merge_policy.version == 1.0


def test_string_merge_policy_version_kept() -> None:
    job = decode_job(
        b'{"id": 1, "mergePolicy": {"id": "timestampOrdered-none-mp", "version": "2"}}'
    )

    assert job.merge_policy is not None
    assert job.merge_policy.version == "2"


def test_float_creation_time_becomes_int() -> None:
    job = decode_job(
        b'{"id": 1, "creationTime": 1538615973895.0, "updateTime": 1.538616233239E+12}'
    )

    assert job.creation_time == 1538615973895
    assert job.update_time == 1538616233239


# ---------------------------------------------------------------------------------------------
# Unknown and odd values


def test_empty_compute_gateway_job_id() -> None:
    job = decode_job(b'{"id": 1, "computeGatewayJobId": {}}')

    assert job.compute_gateway_job_id == ComputeGatewayJobId(export_job=None, push_job=None)


def test_compute_gateway_push_job_decodes() -> None:
    job = decode_job(
        b'{"id": 1, "computeGatewayJobId": {"exportJob": "f3058161-7349-4ca9-807d-212cee2c2e94",'
        b' "pushJob": "feaeca05-d137-4605-aa4e-21d19d801fc6"}}'
    )

    assert job.compute_gateway_job_id == ComputeGatewayJobId(
        export_job="f3058161-7349-4ca9-807d-212cee2c2e94",
        push_job="feaeca05-d137-4605-aa4e-21d19d801fc6",
    )


def test_unknown_fields_ignored_at_every_level() -> None:
    body = b"""{
        "records": [{
            "id": 7,
            "status": "SUCCEEDED",
            "newJobField": {"nested": [1, 2]},
            "destination": {
                "datasetId": "ds",
                "newDestinationField": true,
                "batches": [{"segmentId": "s", "batchId": "b", "newBatchField": 1}]
            },
            "schema": {"name": "_xdm.context.profile", "newSchemaField": "x"},
            "filter": {
                "segments": [{"segmentId": "s", "status": ["realized"], "newSegmentField": 2}],
                "segmentQualificationTime": {"startTime": "2018-01-01T00:00:00Z", "zone": "UTC"},
                "newFilterField": null
            },
            "additionalFields": {"eventList": {"fields": "_id", "newEventField": 3,
                "filter": {"fromIngestTimestamp": "2018-01-01T00:00:00Z", "newEventFilter": 4}}},
            "mergePolicy": {"id": "mp", "version": 1, "newPolicyField": 5},
            "errors": [{"code": "0100000003", "msg": "m", "callStack": "c", "newErrorField": 6}],
            "metrics": {
                "totalTime": {"startTimeInMs": 1, "totalTimeInMs": 1, "unit": "ms"},
                "newMetric": {"startTimeInMs": 1}
            },
            "computeGatewayJobId": {"exportJob": "e", "newGatewayField": "g"}
        }],
        "page": {"sortField": "createdTime", "pageSize": 1, "newPageField": 8},
        "link": {"next": "", "prev": "/export/jobs/?offset=x"},
        "newTopLevelField": [9]
    }"""

    page = decode_page(body)

    job = page.records[0]
    assert job.id == 7
    assert destination_of(job).dataset_id == "ds"
    assert destination_of(job).batches[0].batch_id == "b"
    assert job.schema is not None
    assert job.schema.name == "_xdm.context.profile"
    assert job.filter is not None
    assert job.filter.segments[0].status == ("realized",)
    assert job.additional_fields is not None
    assert job.additional_fields.event_list is not None
    assert job.additional_fields.event_list.fields == "_id"
    assert job.errors[0].code == "0100000003"
    assert metrics_of(job).total_time is not None
    assert job.compute_gateway_job_id == ComputeGatewayJobId(export_job="e")
    assert page.page is not None
    assert page.page.page_size == 1
    assert page.next_link is None


@pytest.mark.parametrize("status", ["CANCELLED", "CANCELLING", "WEIRD", "succeeded"])
def test_unknown_job_status_kept(status: str) -> None:
    job = decode_job(f'{{"id": 1, "status": "{status}"}}'.encode())

    assert job.status == status


def test_job_without_status_has_empty_status() -> None:
    job = decode_job(b'{"id": 1}')

    assert job.status == ""


def test_job_without_id_rejected() -> None:
    with pytest.raises(msgspec.ValidationError, match="Object missing required field `id`"):
        decode_job(b'{"status": "NEW"}')


def test_errors_on_succeeded_job_kept() -> None:
    job = decode_job(
        b'{"id": 100, "status": "SUCCEEDED", "errors": [{"code": "0100000003", '
        b'"msg": "Error in Export Job", '
        b'"callStack": "com.adobe.aep.unifiedprofile.common.logging.Logger"}]}'
    )

    assert job.status == "SUCCEEDED"
    assert job.is_finished is True
    assert len(job.errors) == 1
    assert job.errors[0].code == "0100000003"
    assert job.errors[0].msg == "Error in Export Job"
    assert job.errors[0].call_stack == "com.adobe.aep.unifiedprofile.common.logging.Logger"


def test_error_code_unknown_kept() -> None:
    job = decode_job(
        b'{"id": 722, "status": "FAILED", "errors": [{"code": "unknown", "msg": "Job aborted.",'
        b' "callStack": "org.apache.spark.SparkException: Job aborted."}]}'
    )

    assert job.errors[0].code == "unknown"
    assert job.errors[0].msg == "Job aborted."


def test_errors_absent_is_empty() -> None:
    job = decode_job(b'{"id": 1, "status": "NEW"}')

    assert job.errors == ()


@pytest.mark.parametrize("namespace", ["ups", "UPS", "AAM", "AdCloud"])
def test_segment_namespace_kept_as_sent(namespace: str) -> None:
    body = (
        f'{{"id": 1, "filter": {{"segments": [{{"segmentId": "s", "segmentNs": "{namespace}"}}]}},'
        f' "destination": {{"batches": [{{"segmentId": "s", "segmentNs": "{namespace}"}}]}}}}'
    ).encode()

    job = decode_job(body)

    assert job.filter is not None
    assert job.filter.segments[0].segment_ns == namespace
    assert destination_of(job).batches[0].segment_ns == namespace


# ---------------------------------------------------------------------------------------------
# Adobe's guide examples


def test_guide_list_page_records(guide_list_page: bytes) -> None:
    page = decode_page(guide_list_page)

    assert [job.id for job in page.records] == [100, 722]
    assert [job.status for job in page.records] == ["SUCCEEDED", "FAILED"]


def test_guide_list_page_first_job(guide_list_page: bytes) -> None:
    job = decode_page(guide_list_page).records[0]

    assert job.job_type == "BATCH"
    assert destination_of(job).dataset_id == "5b7c86968f7b6501e21ba9df"
    assert destination_of(job).segment_per_batch is False
    assert destination_of(job).batch_id == "da5cfb4de32c4b93a09f7e37fa53ad52"
    assert job.fields == "identities.id,personalEmail.address"
    assert job.schema is not None
    assert job.schema.name == "_xdm.context.profile"
    assert job.ims_org_id == "1BD6382559DF0C130A49422D@AdobeOrg"
    assert job.filter is not None
    assert job.filter.segments[0].segment_id == "52c26d0d-45f2-47a2-ab30-ed06abc981ff"
    assert job.filter.segments[0].segment_ns == "ups"
    assert job.filter.segments[0].status == ("realized",)
    assert job.merge_policy is not None
    assert job.merge_policy.id == "timestampOrdered-none-mp"
    assert job.merge_policy.version == 1
    assert job.profile_instance_id == "ups"
    assert [error.code for error in job.errors] == ["0100000003"]
    assert job.creation_time == 1538615973895
    assert job.update_time == 1538616233239
    assert job.request_id == "d995479c-8a08-4240-903b-af469c67be1f"


def test_guide_list_page_first_job_metrics(guide_list_page: bytes) -> None:
    metrics = metrics_of(decode_page(guide_list_page).records[0])

    assert metrics.total_time is not None
    assert metrics.total_time.start_time_in_ms == 123456789000
    assert metrics.total_time.end_time_in_ms == 123456799000
    assert metrics.total_time.total_time_in_ms == 10000
    assert metrics.profile_export_time is not None
    assert metrics.profile_export_time.total_time_in_ms == 10000
    assert metrics.acp_dataset_write_time is None
    assert metrics.total_exported_profile_counter == 20
    assert metrics.exported_profile_by_namespace_counter == {"namespace1": 10, "namespace2": 5}


def test_guide_list_page_failed_job(guide_list_page: bytes) -> None:
    job = decode_page(guide_list_page).records[1]

    assert job.id == 722
    assert job.status == "FAILED"
    assert job.profile_instance_id == "test_xdm_latest_profile_20_e2e_1538573005395"
    assert [error.code for error in job.errors] == ["0090000009", "unknown"]
    assert job.errors[1].call_stack == "org.apache.spark.SparkException: Job aborted."
    assert job.filter is not None
    assert job.filter.segments[0].segment_ns == "AAM"
    assert job.filter.segments[0].status == ("realized", "existing")
    assert destination_of(job).batch_id == "IWEQ6920712f9475762D"
    assert job.compute_gateway_job_id == ComputeGatewayJobId(
        export_job="15971e0f-317c-4390-9038-1a0498eb356f"
    )
    assert job.request_id == "KbOAsV7HXmdg262lc4yZZhoml27UWXPZ"
    assert job.creation_time == 1538573416687


def test_guide_list_page_paging(guide_list_page: bytes) -> None:
    page = decode_page(guide_list_page)

    assert page.page is not None
    assert page.page.sort_field == "createdTime"
    assert page.page.sort == "desc"
    assert page.page.page_offset == "1540974701302_96"
    assert page.page.page_size == 2
    assert page.next_link == "/export/jobs/?limit=2&offset=1538573416687_722"


def test_guide_create_response_decodes(guide_create_response: bytes) -> None:
    job = decode_job(guide_create_response)

    assert job.id == 100
    assert job.status == "NEW"
    assert job.is_finished is False
    assert job.ims_org_id == "{IMS_ORG}"
    assert job.filter is not None
    assert job.filter.segment_qualification_time is not None
    assert job.filter.segment_qualification_time.start_time == "2018-01-01T00:00:00Z"
    assert job.filter.segment_qualification_time.end_time == "2018-02-01T00:00:00Z"
    assert job.filter.from_ingest_timestamp == "2018-01-01T00:00:00Z"
    assert job.filter.empty_profiles is True
    assert job.additional_fields is not None
    assert job.additional_fields.event_list is not None
    assert job.additional_fields.event_list.fields == "_id, _experience"
    assert job.additional_fields.event_list.filter is not None
    assert job.additional_fields.event_list.filter.from_ingest_timestamp == "2018-01-01T00:00:00Z"
    assert job.additional_fields.event_list.filter.to_ingest_timestamp is None
    assert job.compute_gateway_job_id == ComputeGatewayJobId(export_job="")
    total_time = metrics_of(job).total_time
    assert total_time is not None
    assert total_time.start_time_in_ms == 123456789000


def test_guide_create_response_invalid_json(guide_create_response_invalid: bytes) -> None:
    with pytest.raises(msgspec.DecodeError, match="trailing comma"):
        decode_job(guide_create_response_invalid)


def test_guide_cancel_response_decodes(guide_cancel_response: bytes) -> None:
    result = decoder_for(CancelResult).decode(guide_cancel_response)

    assert result == CancelResult(status=True, message="Export job has been marked for cancelling")


# ---------------------------------------------------------------------------------------------
# Derived properties


def test_created_at_is_utc_datetime() -> None:
    job = decode_job(b'{"id": 1, "creationTime": 1538615973895, "updateTime": 1538616233239}')

    assert job.created_at == dt.datetime(2018, 10, 4, 1, 19, 33, 895000, tzinfo=dt.timezone.utc)


def test_updated_at_is_utc_datetime() -> None:
    job = decode_job(b'{"id": 1, "creationTime": 1538615973895, "updateTime": 1538616233239}')

    assert job.updated_at == dt.datetime(2018, 10, 4, 1, 23, 53, 239000, tzinfo=dt.timezone.utc)


def test_created_at_none_without_creation_time() -> None:
    job = decode_job(b'{"id": 1}')

    assert job.created_at is None
    assert job.updated_at is None


@pytest.mark.parametrize(
    ("status", "finished"),
    [
        ("NEW", False),
        ("PROCESSING", False),
        ("SUCCEEDED", True),
        ("FAILED", True),
        ("CANCELLING", False),
        ("CANCELLED", True),
        ("WEIRD", False),
        ("", False),
    ],
)
def test_is_finished_by_status(status: str, finished: bool) -> None:
    job = decode_job(f'{{"id": 1, "status": "{status}"}}'.encode())

    assert job.is_finished is finished


def test_job_status_members_equal_strings() -> None:
    job = decode_job(b'{"id": 1, "status": "SUCCEEDED"}')

    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("body", "next_link"),
    [
        (
            b'{"records": [{"id": 1}], "link": {"next": "/export/jobs/?offset=1_1"}}',
            "/export/jobs/?offset=1_1",
        ),
        (b'{"records": [{"id": 1}], "link": {"next": ""}}', None),
        (b'{"records": [{"id": 1}], "link": {"next": null}}', None),
        (b'{"records": [{"id": 1}], "link": {}}', None),
        (b'{"records": [{"id": 1}], "link": null}', None),
        (b'{"records": [{"id": 1}]}', None),
    ],
    ids=["link", "empty", "null", "missing-next", "null-link", "missing-link"],
)
def test_page_next_link(body: bytes, next_link: str | None) -> None:
    assert decode_page(body).next_link == next_link


def test_empty_records_decode_to_empty_list() -> None:
    page = decode_page(b'{"records": [], "link": {"next": "/export/jobs/?offset=1_1"}}')

    assert page.records == []


# ---------------------------------------------------------------------------------------------
# Error bodies


def test_gateway_error_body_code() -> None:
    body = decoder_for(ErrorBody).decode(
        b'{"error_code": "401013", "message": "Oauth token is not valid"}'
    )

    assert body.code == "401013"
    assert body.explanation == "Oauth token is not valid"


def test_problem_body_code_from_errors() -> None:
    body = decoder_for(ErrorBody).decode(
        b'{"type": "about:blank", "title": "Not Found", "status": 404, '
        b'"detail": "Export job 722 not found", "requestId": "rq-1", '
        b'"errors": {"404": [{"code": "EXPORT-404", "message": "no such job"}]}}'
    )

    assert body.code == "EXPORT-404"
    assert body.explanation == "Export job 722 not found"
    assert body.request_id == "rq-1"


def test_problem_body_without_errors_has_no_code() -> None:
    body = decoder_for(ErrorBody).decode(b'{"title": "BadRequestError", "status": 400}')

    assert body.code is None
    assert body.explanation == "BadRequestError"


# ---------------------------------------------------------------------------------------------
# The create request on the wire


def test_request_encodes_compact_camel_case() -> None:
    request = ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df", segment_per_batch=False),
        schema=SchemaRef(name="_xdm.context.profile"),
    )

    assert encode_request(request) == (
        b'{"destination":{"datasetId":"5b7c86968f7b6501e21ba9df","segmentPerBatch":false},'
        b'"schema":{"name":"_xdm.context.profile"}}'
    )


# ---------------------------------------------------------------------------------------------
# The OpenAPI excerpt, read as data


def test_job_statuses_match_openapi(openapi_enum: Callable[..., list[str]]) -> None:
    statuses = openapi_enum("ExportJobResponse:", "imsOrgId:", "status:")

    # The spec lists the first four; the cancel statuses come from other AEP jobs.
    assert statuses == [member.value for member in JobStatus][:4]
    assert [member.value for member in JobStatus][4:] == ["CANCELLING", "CANCELLED"]
