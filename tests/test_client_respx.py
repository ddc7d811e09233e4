"""The requests that each client operation sends, and how it reads the success responses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from aep_jobs import (
    CancelResult,
    Destination,
    ExportFilter,
    ExportJobRequest,
    ExportJobsClient,
    JobStatus,
    SchemaRef,
    SegmentFilter,
)

pytestmark = pytest.mark.anyio

BASE_URL = "https://platform.adobe.io/data/core/ups"

MINIMAL_REQUEST = ExportJobRequest(
    destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df"),
    schema=SchemaRef(name="_xdm.context.profile"),
)

NEW_JOB = b'{"id": 100, "status": "NEW"}'

Operation = Callable[[ExportJobsClient], Awaitable[object]]


def mock_every_operation(router: respx.MockRouter) -> None:
    router.get("/export/jobs").respond(200, content=b'{"records": []}')
    router.get("/export/jobs/722").respond(200, content=b'{"id": 722, "status": "NEW"}')
    router.post("/export/jobs").respond(200, content=NEW_JOB)
    router.delete("/export/jobs/722").respond(204)


async def list_jobs(client: ExportJobsClient) -> object:
    return await client.list_page(limit=2)


async def get_job(client: ExportJobsClient) -> object:
    return await client.get(722)


async def create_job(client: ExportJobsClient) -> object:
    return await client.create(MINIMAL_REQUEST)


async def cancel_job(client: ExportJobsClient) -> object:
    return await client.cancel(722)


EVERY_OPERATION = pytest.mark.parametrize(
    "operation",
    [list_jobs, get_job, create_job, cancel_job],
    ids=["list", "get", "create", "cancel"],
)


# ---------------------------------------------------------------------------------------------
# Headers on every request


@EVERY_OPERATION
async def test_identity_headers_sent(
    client: ExportJobsClient, router: respx.MockRouter, operation: Operation
) -> None:
    mock_every_operation(router)

    await operation(client)

    headers = router.calls.last.request.headers
    assert headers["authorization"] == "Bearer token-123"
    assert headers["x-api-key"] == "key"
    assert headers["x-gw-ims-org-id"] == "1BD6382559DF0C130A49422D@AdobeOrg"
    assert headers["x-sandbox-name"] == "prod"
    assert headers["accept"] == "application/json"


@EVERY_OPERATION
async def test_request_id_is_uuid(
    client: ExportJobsClient, router: respx.MockRouter, operation: Operation
) -> None:
    mock_every_operation(router)

    await operation(client)

    request_id = router.calls.last.request.headers["x-request-id"]
    assert str(uuid.UUID(request_id)) == request_id


async def test_request_id_differs_per_request(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    mock_every_operation(router)

    await client.get(722)
    await client.get(722)

    first, second = (call.request.headers["x-request-id"] for call in router.calls)
    assert first != second


@pytest.mark.parametrize(
    "operation", [list_jobs, get_job, cancel_job], ids=["list", "get", "cancel"]
)
async def test_bodyless_requests_send_no_content_type(
    client: ExportJobsClient, router: respx.MockRouter, operation: Operation
) -> None:
    mock_every_operation(router)

    await operation(client)

    assert "content-type" not in router.calls.last.request.headers


async def test_token_provider_asked_per_request(router: respx.MockRouter) -> None:
    class CountingTokens:
        def __init__(self) -> None:
            self.issued = 0

        async def get_token(self) -> str:
            self.issued += 1
            return f"token-{self.issued}"

    tokens = CountingTokens()
    router.get("/export/jobs/722").respond(200, content=b'{"id": 722}')
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token=tokens,
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
    ) as client:
        await client.get(722)
        await client.get(722)

    sent = [call.request.headers["authorization"] for call in router.calls]
    assert sent == ["Bearer token-1", "Bearer token-2"]


# ---------------------------------------------------------------------------------------------
# list_page


async def test_list_page_sends_filters(client: ExportJobsClient, router: respx.MockRouter) -> None:
    route = router.get("/export/jobs").respond(200, content=b'{"records": []}')

    await client.list_page(limit=2, offset="1538573416687_722", status="FAILED")

    assert str(route.calls.last.request.url) == (
        f"{BASE_URL}/export/jobs?limit=2&offset=1538573416687_722&status=FAILED"
    )


async def test_list_page_without_filters_sends_no_query(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs").respond(200, content=b'{"records": []}')

    await client.list_page()

    assert str(route.calls.last.request.url) == f"{BASE_URL}/export/jobs"


async def test_list_page_accepts_status_member(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs").respond(200, content=b'{"records": []}')

    await client.list_page(status=JobStatus.SUCCEEDED)

    assert route.calls.last.request.url.params["status"] == "SUCCEEDED"


async def test_list_page_offset_is_encoded(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs").respond(200, content=b'{"records": []}')

    await client.list_page(offset="1538573416687_722&status=NEW")

    request = route.calls.last.request
    assert request.url.params.get_list("offset") == ["1538573416687_722&status=NEW"]
    assert "status" not in request.url.params


async def test_list_page_decodes_guide_page(
    client: ExportJobsClient, router: respx.MockRouter, guide_list_page: bytes
) -> None:
    router.get("/export/jobs").respond(200, content=guide_list_page)

    page = await client.list_page(limit=2)

    assert [job.id for job in page.records] == [100, 722]
    assert page.next_link == "/export/jobs/?limit=2&offset=1538573416687_722"


# ---------------------------------------------------------------------------------------------
# get


async def test_get_requests_job_path(client: ExportJobsClient, router: respx.MockRouter) -> None:
    route = router.get("/export/jobs/11037").respond(200, content=b'{"id": 11037}')

    await client.get(11037)

    request = route.calls.last.request
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/export/jobs/11037"


async def test_get_accepts_digit_string(client: ExportJobsClient, router: respx.MockRouter) -> None:
    route = router.get("/export/jobs/11037").respond(200, content=b'{"id": 11037}')

    await client.get("11037")

    assert route.call_count == 1


async def test_get_decodes_job(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/11037").respond(
        200,
        content=b'{"id": 11037.0, "status": "SUCCEEDED", "jobType": "BATCH", '
        b'"destination": {"dataSetId": "5b7c86968f7b6501e21ba9df", '
        b'"batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"}, "creationTime": 1538615973895}',
    )

    job = await client.get(11037)

    assert job.id == 11037
    assert job.status == "SUCCEEDED"
    assert job.is_finished is True
    assert job.destination is not None
    assert job.destination.dataset_id == "5b7c86968f7b6501e21ba9df"
    assert job.creation_time == 1538615973895


# ---------------------------------------------------------------------------------------------
# create


async def test_create_posts_to_jobs_path(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(MINIMAL_REQUEST)

    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/export/jobs"


async def test_create_sends_json_content_type(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(MINIMAL_REQUEST)

    assert route.calls.last.request.headers["content-type"] == "application/json"


async def test_create_body_compact_without_unset(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(MINIMAL_REQUEST)

    assert route.calls.last.request.content == (
        b'{"destination":{"datasetId":"5b7c86968f7b6501e21ba9df"},'
        b'"schema":{"name":"_xdm.context.profile"}}'
    )


async def test_create_sends_camel_case_names(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)
    request = ExportJobRequest(
        destination=Destination(dataset_id="5b7c86968f7b6501e21ba9df", segment_per_batch=True),
        schema=SchemaRef(name="_xdm.context.profile"),
        filter=ExportFilter(
            segments=[
                SegmentFilter(
                    segment_id="52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                    segment_ns="ups",
                    status=["realized", "exited"],
                )
            ],
            empty_profiles=False,
        ),
    )

    await client.create(request)

    assert route.calls.last.request.content == (
        b'{"destination":{"datasetId":"5b7c86968f7b6501e21ba9df","segmentPerBatch":true},'
        b'"schema":{"name":"_xdm.context.profile"},'
        b'"filter":{"segments":[{"segmentId":"52c26d0d-45f2-47a2-ab30-ed06abc981ff",'
        b'"segmentNs":"ups","status":["realized","exited"]}],"emptyProfiles":false}}'
    )


async def test_create_sends_profile_instance_header(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(MINIMAL_REQUEST, profile_instance_id="ups")

    assert route.calls.last.request.headers["x-profile-instance-id"] == "ups"


async def test_create_omits_profile_instance_header(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(MINIMAL_REQUEST)

    assert "x-profile-instance-id" not in route.calls.last.request.headers


async def test_create_accepts_guide_mapping(
    client: ExportJobsClient, router: respx.MockRouter, guide_create_request: dict[str, Any]
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(guide_create_request)

    assert json.loads(route.calls.last.request.content) == guide_create_request


async def test_create_mapping_body_is_compact(
    client: ExportJobsClient, router: respx.MockRouter, guide_create_request: dict[str, Any]
) -> None:
    route = router.post("/export/jobs").respond(200, content=NEW_JOB)

    await client.create(guide_create_request)

    content = route.calls.last.request.content
    assert content == json.dumps(json.loads(content), separators=(",", ":")).encode()


async def test_create_decodes_guide_response(
    client: ExportJobsClient,
    router: respx.MockRouter,
    guide_create_request: dict[str, Any],
    guide_create_response: bytes,
) -> None:
    router.post("/export/jobs").respond(
        200,
        content=guide_create_response,
        headers={"X-Location": "/export/jobs/100"},
    )

    job = await client.create(guide_create_request, profile_instance_id="ups")

    assert job.id == 100
    assert job.status == "NEW"
    assert job.profile_instance_id == "ups"


async def test_create_decodes_float_job_id(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.post("/export/jobs").respond(200, content=b'{"id": 100.0, "status": "NEW"}')

    job = await client.create(MINIMAL_REQUEST)

    assert job.id == 100
    assert type(job.id) is int


# ---------------------------------------------------------------------------------------------
# cancel


async def test_cancel_deletes_job_path(client: ExportJobsClient, router: respx.MockRouter) -> None:
    route = router.delete("/export/jobs/722").respond(204)

    await client.cancel(722)

    request = route.calls.last.request
    assert request.method == "DELETE"
    assert str(request.url) == f"{BASE_URL}/export/jobs/722"


async def test_cancel_200_body_decodes(
    client: ExportJobsClient, router: respx.MockRouter, guide_cancel_response: bytes
) -> None:
    router.delete("/export/jobs/722").respond(200, content=guide_cancel_response)

    result = await client.cancel(722)

    assert result == CancelResult(status=True, message="Export job has been marked for cancelling")


@pytest.mark.parametrize("status_code", [200, 202, 204], ids=["200-empty", "202", "204"])
async def test_cancel_without_body_succeeds(
    client: ExportJobsClient, router: respx.MockRouter, status_code: int
) -> None:
    router.delete("/export/jobs/722").respond(status_code, content=b"")

    result = await client.cancel(722)

    assert result == CancelResult(status=True, message=None)


async def test_cancel_202_with_body_decodes(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.delete("/export/jobs/722").respond(
        202, content=b'{"status": true, "message": "Export job has been marked for cancelling"}'
    )

    result = await client.cancel(722)

    assert result.message == "Export job has been marked for cancelling"


async def test_cancel_false_status_kept(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.delete("/export/jobs/722").respond(
        200, content=b'{"status": false, "message": "Export job is already finished"}'
    )

    result = await client.cancel(722)

    assert result == CancelResult(status=False, message="Export job is already finished")
