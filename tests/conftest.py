"""Shared fixtures: the async backends, a respx router on the service root, a client, and
response bodies copied from Adobe's export jobs guide."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from aep_jobs import ExportJobsClient, RetryPolicy

BASE_URL = "https://platform.adobe.io/data/core/ups"

# The OpenAPI excerpt of the export jobs endpoints lives beside the project root, not in it.
OPENAPI_SPEC = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "reference"
    / "segmentation-export-jobs.openapi.yaml"
)


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every async test on asyncio and on Trio."""
    backend: str = request.param
    return backend


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """A respx router on the production service root. A request that no route matches fails.

    Routes given as paths are relative to the service root. Routes given as absolute URLs
    (another host, scheme or port) are matched as they are.
    """
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as mock_router:
        yield mock_router


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[ExportJobsClient]:
    """A client on the production service root whose requests go to ``router``.

    The router is also the client's transport, which spares building an SSL context for each
    test. ``router`` still intercepts any request that takes another path.
    """
    async with ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token-123",
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        # These tests check what one response turns into; retries have tests of their own.
        retry=RetryPolicy.disabled(),
    ) as export_client:
        yield export_client


@pytest.fixture
def openapi_spec_text() -> str:
    """The OpenAPI excerpt of the export jobs endpoints, as text."""
    if not OPENAPI_SPEC.is_file():
        pytest.skip(f"the OpenAPI excerpt {OPENAPI_SPEC.name} is not beside the project root")
    return OPENAPI_SPEC.read_text(encoding="utf-8")


@pytest.fixture
def openapi_enum(openapi_spec_text: str) -> Callable[..., list[str]]:
    """A function that returns the values of the first ``enum:`` found after each of its
    anchors in turn, e.g. ``openapi_enum("operationId: listExportJobs", "- name: status")``."""

    def enum_after(*anchors: str) -> list[str]:
        position = 0
        for anchor in (*anchors, "enum:"):
            position = openapi_spec_text.index(anchor, position) + len(anchor)
        values = []
        for line in openapi_spec_text[position:].splitlines()[1:]:
            item = re.fullmatch(r"\s*- (\w+)", line)
            if item is None:
                break
            values.append(item.group(1))
        return values

    return enum_after


# ---------------------------------------------------------------------------------------------
# Bodies from Adobe's export jobs guide. The guide's JSON is not always valid: where a body is
# marked "fixed", only its trailing commas were removed. Trailing spaces after values were
# removed from every body.

# The list response, fixed: a SUCCEEDED job with errors, and a FAILED job with the error code
# "unknown". Its page.pageOffset differs from the offset inside link.next.
GUIDE_LIST_PAGE = b"""{
    "records": [
        {
            "id": 100,
            "jobType": "BATCH",
            "destination": {
                "datasetId": "5b7c86968f7b6501e21ba9df",
                "segmentPerBatch": false,
                "batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"
            },
            "fields": "identities.id,personalEmail.address",
            "schema": {
                "name": "_xdm.context.profile"
            },
            "imsOrgId": "1BD6382559DF0C130A49422D@AdobeOrg",
            "status": "SUCCEEDED",
            "filter": {
                "segments": [
                    {
                        "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                        "segmentNs": "ups",
                        "status": [
                            "realized"
                        ]
                    }
                ]
            },
            "mergePolicy": {
                "id": "timestampOrdered-none-mp",
                "version": 1
            },
            "profileInstanceId": "ups",
            "errors": [
                {
                    "code": "0100000003",
                    "msg": "Error in Export Job",
                    "callStack": "com.adobe.aep.unifiedprofile.common.logging.Logger"
                }
            ],
            "metrics": {
                "totalTime": {
                    "startTimeInMs": 123456789000,
                    "endTimeInMs": 123456799000,
                    "totalTimeInMs": 10000
                },
                "profileExportTime": {
                    "startTimeInMs": 123456789000,
                    "endTimeInMs": 123456799000,
                    "totalTimeInMs": 10000
                },
                "totalExportedProfileCounter": 20,
                "exportedProfileByNamespaceCounter": {
                    "namespace1": 10,
                    "namespace2": 5
                }
            },
            "computeGatewayJobId": {
                "exportJob": "f3058161-7349-4ca9-807d-212cee2c2e94"
            },
            "creationTime": 1538615973895,
            "updateTime": 1538616233239,
            "requestId": "d995479c-8a08-4240-903b-af469c67be1f"
        },
        {
            "profileInstanceId": "test_xdm_latest_profile_20_e2e_1538573005395",
            "errors": [
                {
                    "code": "0090000009",
                    "msg": "Error writing profiles to output path 'adl://va7devprofilesnapshot.azuredatalakestore.net/snapshot/722'",
                    "callStack": "com.adobe.aep.unifiedprofile.common.logging.Logger"
                },
                {
                    "code": "unknown",
                    "msg": "Job aborted.",
                    "callStack": "org.apache.spark.SparkException: Job aborted."
                }
            ],
            "jobType": "BATCH",
            "filter": {
                "segments": [
                    {
                        "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                        "segmentNs": "AAM",
                        "status": ["realized", "existing"]
                    }
                ]
            },
            "id": 722,
            "schema": {
                "name": "_xdm.context.profile"
            },
            "mergePolicy": {
                "id": "7972e3d6-96ea-4ece-9627-cbfd62709c5d",
                "version": 1
            },
            "status": "FAILED",
            "requestId": "KbOAsV7HXmdg262lc4yZZhoml27UWXPZ",
            "computeGatewayJobId": {
                "exportJob": "15971e0f-317c-4390-9038-1a0498eb356f"
            },
            "metrics": {
                "totalTime": {
                    "startTimeInMs": 1538573416687,
                    "endTimeInMs": 1538573922551,
                    "totalTimeInMs": 505864
                },
                "profileExportTime": {
                    "startTimeInMs": 1538573872211,
                    "endTimeInMs": 1538573918809,
                    "totalTimeInMs": 46598
                }
            },
            "destination": {
                "datasetId": "5bb4c46757920712f924a3eb",
                "segmentPerBatch": false,
                "batchId": "IWEQ6920712f9475762D"
            },
            "updateTime": 1538573922551,
            "imsOrgId": "1BD6382559DF0C130A49422D@AdobeOrg",
            "creationTime": 1538573416687
        }
    ],
    "page":{
        "sortField": "createdTime",
        "sort": "desc",
        "pageOffset": "1540974701302_96",
        "pageSize": 2
    },
    "link":{
        "next": "/export/jobs/?limit=2&offset=1538573416687_722"
    }
}"""

# The create request, valid as published.
GUIDE_CREATE_REQUEST: dict[str, Any] = {
    "fields": "identities.id,personalEmail.address",
    "mergePolicy": {"id": "timestampOrdered-none-mp", "version": 1},
    "filter": {
        "segments": [
            {
                "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                "segmentNs": "ups",
                "status": ["realized"],
            }
        ],
        "segmentQualificationTime": {
            "startTime": "2018-01-01T00:00:00Z",
            "endTime": "2018-02-01T00:00:00Z",
        },
        "fromIngestTimestamp": "2018-01-01T00:00:00Z",
        "emptyProfiles": True,
    },
    "additionalFields": {
        "eventList": {
            "fields": "string",
            "filter": {
                "fromIngestTimestamp": "2018-01-01T00:00:00Z",
                "toIngestTimestamp": "2020-01-01T00:00:00Z",
            },
        }
    },
    "destination": {"datasetId": "5b7c86968f7b6501e21ba9df", "segmentPerBatch": False},
    "schema": {"name": "_xdm.context.profile"},
    "evaluationInfo": {"segmentation": True},
}

# The create response as published: a trailing comma after "startTimeInMs" makes it invalid.
GUIDE_CREATE_RESPONSE_INVALID = b"""{
    "id": 100,
    "jobType": "BATCH",
    "destination": {
        "datasetId": "5b7c86968f7b6501e21ba9df",
        "segmentPerBatch": false,
        "batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"
    },
    "fields": "identities.id,personalEmail.address",
    "schema": {
        "name": "_xdm.context.profile"
    },
    "imsOrgId": "{IMS_ORG}",
    "status": "NEW",
    "filter": {
        "segments": [
            {
                "segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                "segmentNs": "ups",
                "status": [
                    "realized"
                ]
            }
        ],
        "segmentQualificationTime": {
            "startTime": "2018-01-01T00:00:00Z",
            "endTime": "2018-02-01T00:00:00Z"
        },
        "fromIngestTimestamp": "2018-01-01T00:00:00Z",
        "emptyProfiles": true
    },
    "additionalFields": {
        "eventList": {
            "fields": "_id, _experience",
            "filter": {
                "fromIngestTimestamp": "2018-01-01T00:00:00Z"
            }
        }
    },
    "mergePolicy": {
        "id": "timestampOrdered-none-mp",
        "version": 1
    },
    "profileInstanceId": "ups",
    "metrics": {
        "totalTime": {
            "startTimeInMs": 123456789000,
        }
    },
    "computeGatewayJobId": {
        "exportJob": ""
    },
    "creationTime": 1538615973895,
    "updateTime": 1538616233239,
    "requestId": "d995479c-8a08-4240-903b-af469c67be1f"
}"""

# The create response, fixed.
GUIDE_CREATE_RESPONSE = GUIDE_CREATE_RESPONSE_INVALID.replace(
    b'"startTimeInMs": 123456789000,', b'"startTimeInMs": 123456789000'
)

# The destination of a job created with segmentPerBatch true, wrapped in a job: it spells
# "dataSetId" with a capital S and has one batch whose status is a plain string.
GUIDE_SEGMENT_PER_BATCH_JOB = b"""{
    "id": 101,
    "status": "SUCCEEDED",
    "destination": {
        "dataSetId" : "{DATASET_ID}",
        "segmentPerBatch": true,
        "batches" : [
            {
                "segmentId": "segment1",
                "segmentNs": "ups",
                "status": ["realized"],
                "batchId": "da5cfb4de32c4b93a09f7e37fa53ad52"
            },
            {
                "segmentId": "segment2",
                "segmentNs": "AdCloud",
                "status": "exited",
                "batchId": "df4gssdfb93a09f7e37fa53ad52"
            }
        ]
    }
}"""

# The cancel response.
GUIDE_CANCEL_RESPONSE = b"""{
  "status": true,
  "message": "Export job has been marked for cancelling"
}"""


@pytest.fixture
def guide_list_page() -> bytes:
    """The guide's list response (fixed)."""
    return GUIDE_LIST_PAGE


@pytest.fixture
def guide_create_request() -> dict[str, Any]:
    """The guide's create request body as a mapping of wire names, copied for each test."""
    return copy.deepcopy(GUIDE_CREATE_REQUEST)


@pytest.fixture
def guide_create_response() -> bytes:
    """The guide's create response (fixed)."""
    return GUIDE_CREATE_RESPONSE


@pytest.fixture
def guide_create_response_invalid() -> bytes:
    """The guide's create response as published, with a trailing comma."""
    return GUIDE_CREATE_RESPONSE_INVALID


@pytest.fixture
def guide_segment_per_batch_job() -> bytes:
    """A job with the guide's segment-per-batch destination."""
    return GUIDE_SEGMENT_PER_BATCH_JOB


@pytest.fixture
def guide_cancel_response() -> bytes:
    """The guide's cancel response."""
    return GUIDE_CANCEL_RESPONSE
