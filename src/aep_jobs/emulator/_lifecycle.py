"""Job documents at each stage of the lifecycle: NEW, PROCESSING, SUCCEEDED, FAILED, CANCELLED.

Each function returns a new top-level dict and copies the nested objects it changes, so a
later stage never changes a document returned earlier.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from ._random_values import hex_id, random_int, uuid4

__all__ = [
    "CANCELLED",
    "FAILED",
    "FINISHED_STATUSES",
    "NEW",
    "PROCESSING",
    "SUCCEEDED",
    "Document",
    "JobPlan",
    "Stage",
    "cancelled_document",
    "failed_document",
    "new_job_document",
    "plan_stages",
    "processing_document",
    "succeeded_document",
]

Document = dict[str, Any]

NEW = "NEW"
PROCESSING = "PROCESSING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
# Adobe documents no cancelled state for export jobs. Other AEP jobs use CANCELLED, and it
# is a status that clients must pass through as they received it.
CANCELLED = "CANCELLED"
FINISHED_STATUSES = frozenset({SUCCEEDED, FAILED})

_LOGGER_CLASS = "com.adobe.aep.unifiedprofile.common.logging.Logger"
_PROFILE_NAMESPACES = ("ECID", "Email", "CRMID", "Phone")

# Request fields that a created job repeats when present, in the order of Adobe's examples.
_ECHOED_FIELDS = ("fields", "schema", "filter", "additionalFields", "mergePolicy")


class Stage(NamedTuple):
    """A document that a job takes on at ``at_ms`` (epoch milliseconds)."""

    at_ms: int
    document: Document


class JobPlan(NamedTuple):
    """A job's document when it enters the store, and the stages still ahead of it."""

    job_id: int
    creation_ms: int
    document: Document
    stages: list[Stage]


def new_job_document(
    *,
    job_id: int,
    request: Document,
    creation_ms: int,
    org_id: str,
    request_id: str,
    profile_instance_id: str,
    rng: random.Random,
) -> Document:
    """Build the document of a job just created from a validated request body.

    The batch ids are assigned at creation, as in Adobe's example of a NEW job.
    """
    document: Document = {
        "id": job_id,
        "jobType": "BATCH",
        "destination": _destination(request, rng),
    }
    for name in _ECHOED_FIELDS:
        if name in request:
            document[name] = request[name]
    document["imsOrgId"] = org_id
    document["status"] = NEW
    if "evaluationInfo" in request:
        document["evaluationInfo"] = request["evaluationInfo"]

    document["profileInstanceId"] = profile_instance_id
    document["metrics"] = {"totalTime": {"startTimeInMs": creation_ms}}
    document["computeGatewayJobId"] = {"exportJob": ""}
    document["creationTime"] = creation_ms
    document["updateTime"] = creation_ms
    document["requestId"] = request_id
    return document


def _destination(request: Document, rng: random.Random) -> Document:
    requested = request["destination"]
    destination: Document = {
        "datasetId": requested["datasetId"],
        "segmentPerBatch": requested.get("segmentPerBatch", False),
    }
    segments = request.get("filter", {}).get("segments", [])
    if destination["segmentPerBatch"] and segments:
        destination["batches"] = [
            {
                "segmentId": segment["segmentId"],
                "segmentNs": segment["segmentNs"],
                "status": segment["status"],
                "batchId": hex_id(rng, 32),
            }
            for segment in segments
        ]
    else:
        destination["batchId"] = hex_id(rng, 32)
    return destination


def plan_stages(
    document: Document,
    *,
    processing_ms: int,
    finished_ms: int,
    fails: bool,
    rng: random.Random,
) -> list[Stage]:
    """Return the PROCESSING and the final stage of a job whose current document is NEW."""
    processing = processing_document(document, processing_ms, rng)
    finish = failed_document if fails else succeeded_document
    final = finish(processing, processing_ms, finished_ms, rng)
    return [Stage(processing_ms, processing), Stage(finished_ms, final)]


def processing_document(document: Document, at_ms: int, rng: random.Random) -> Document:
    """Move a NEW job to PROCESSING: the compute gateway has accepted its export job."""
    return {
        **document,
        "status": PROCESSING,
        "computeGatewayJobId": {"exportJob": uuid4(rng)},
        "updateTime": at_ms,
    }


def succeeded_document(
    document: Document, processing_ms: int, finished_ms: int, rng: random.Random
) -> Document:
    """Finish a job as SUCCEEDED, with the metrics and counters of a completed export."""
    creation_ms = document["creationTime"]
    write_start_ms = processing_ms + (finished_ms - processing_ms) * 7 // 10
    profile_count = random_int(rng, 1_000, 5_000_000)

    by_namespace: dict[str, int] = {}
    remaining = profile_count
    first_namespace = random_int(rng, 0, len(_PROFILE_NAMESPACES) - 2)
    for namespace in _PROFILE_NAMESPACES[first_namespace : first_namespace + 2]:
        share = remaining * random_int(rng, 40, 90) // 100
        by_namespace[namespace] = share
        remaining -= share

    metrics: Document = {
        "totalTime": _timing(creation_ms, finished_ms),
        "profileExportTime": _timing(processing_ms, write_start_ms),
    }
    # The spec documents the dataset write time and the push job, but Adobe's examples of
    # finished jobs show neither, so only some jobs have them.
    if rng.random() < 0.5:
        metrics["aCPDatasetWriteTime"] = _timing(write_start_ms, finished_ms)
    metrics["totalExportedProfileCounter"] = profile_count
    metrics["exportedProfileByNamespaceCounter"] = by_namespace
    gateway_job_ids = dict(document["computeGatewayJobId"])
    if rng.random() < 0.5:
        gateway_job_ids["pushJob"] = uuid4(rng)

    return {
        **document,
        "status": SUCCEEDED,
        "metrics": metrics,
        "computeGatewayJobId": gateway_job_ids,
        "updateTime": finished_ms,
    }


def failed_document(
    document: Document, processing_ms: int, finished_ms: int, rng: random.Random
) -> Document:
    """Finish a job as FAILED, with errors like those in Adobe's examples."""
    creation_ms = document["creationTime"]
    if rng.random() < 0.5:
        error = {
            "code": "0090000009",
            "msg": (
                "Error writing profiles to output path "
                f"'adl://profilesnapshot.azuredatalakestore.net/snapshot/{document['id']}'"
            ),
            "callStack": _LOGGER_CLASS,
        }
    else:
        error = {"code": "0100000003", "msg": "Error in Export Job", "callStack": _LOGGER_CLASS}

    return {
        **document,
        "status": FAILED,
        "errors": [error],
        "metrics": {
            "totalTime": _timing(creation_ms, finished_ms),
            "profileExportTime": _timing(processing_ms, finished_ms),
        },
        "updateTime": finished_ms,
    }


def cancelled_document(document: Document, at_ms: int) -> Document:
    return {**document, "status": CANCELLED, "updateTime": at_ms}


def _timing(start_ms: int, end_ms: int) -> Document:
    return {"startTimeInMs": start_ms, "endTimeInMs": end_ms, "totalTimeInMs": end_ms - start_ms}
