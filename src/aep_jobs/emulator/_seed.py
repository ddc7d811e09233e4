"""Seeded jobs shaped like Adobe's examples, and the unusual spellings real responses contain.

Most seeded jobs are SUCCEEDED or FAILED. The newest few are NEW or PROCESSING and move on
through their lifecycle like created jobs. A share of the finished jobs is rendered with
one or more of the variants in ``_VARIANTS``: the spellings that Adobe's examples and real
responses show and that clients must decode.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from ._config import EmulatorConfig
from ._lifecycle import (
    FAILED,
    SUCCEEDED,
    Document,
    JobPlan,
    new_job_document,
    plan_stages,
)
from ._random_values import dataset_id, hex_id, pick, random_int, rfc3339, uuid4

__all__ = ["JobSeeder"]

# Mean time between two seeded jobs, so 50,000 jobs cover about 52 days.
_MEAN_GAP_MS = 90_000
# Share of the newest seeded jobs that are still NEW or PROCESSING.
_IN_FLIGHT_SHARE = 0.002

# Repeated entries weight the draw toward the most common request shapes.
_FIELD_LISTS = (
    "identities.id,personalEmail.address",
    "identities.id,personalEmail.address",
    "identities.id,person.name.lastName",
    "_id,identityMap,mobilePhone.number",
)
_SEGMENT_STATUS_FILTERS = (
    ["realized"],
    ["realized"],
    ["realized", "existing"],
    ["exited"],
)
_EVENT_FIELDS = "_id,timestamp,eventType,commerce.order.priceTotal"
_PROFILE_SCHEMA = "_xdm.context.profile"
_VARIANT_NAMESPACES = ("UPS", "AAM", "AdCloud")


class JobSeeder:
    """Builder of realistic jobs.

    The same config, clock readings and sequence of ``seed()`` calls give the same jobs.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._dataset_ids = [dataset_id(self._rng) for _ in range(12)]
        self._segment_ids = [uuid4(self._rng) for _ in range(150)]
        self._merge_policy_ids = ["timestampOrdered-none-mp"] + [uuid4(self._rng) for _ in range(4)]

    def seed(
        self, first_id: int, count: int, now_ms: int, is_taken: Callable[[int], bool]
    ) -> Iterator[JobPlan]:
        """Build ``count`` jobs with ids from ``first_id``, oldest first, all created before now.

        ``is_taken`` reports creation times already used by other jobs, which this batch
        avoids so that no two jobs share a creation time. It is called before this method
        returns. The jobs are built one at a time as the caller iterates, so that the
        caller can encode each one and let its dicts go.
        """
        creation_times = self._creation_times(count, now_ms, is_taken)
        return self._build(first_id, creation_times, now_ms)

    def _build(self, first_id: int, creation_times: list[int], now_ms: int) -> Iterator[JobPlan]:
        count = len(creation_times)
        in_flight = min(count, max(1, round(count * _IN_FLIGHT_SHARE))) if count else 0
        new_jobs = math.ceil(in_flight / 2)

        for position, creation_ms in enumerate(creation_times):
            job_id = first_id + position
            newest_rank = count - 1 - position
            if newest_rank < new_jobs:
                yield self._in_flight_job(job_id, creation_ms, now_ms, processing=False)
            elif newest_rank < in_flight:
                yield self._in_flight_job(job_id, creation_ms, now_ms, processing=True)
            else:
                yield self._finished_job(job_id, creation_ms, now_ms)

    def _creation_times(
        self, count: int, now_ms: int, is_taken: Callable[[int], bool]
    ) -> list[int]:
        times: list[int] = []
        creation_ms = now_ms
        for _ in range(count):
            creation_ms -= 1 + int(self._rng.expovariate(1 / _MEAN_GAP_MS))
            while is_taken(creation_ms):
                creation_ms -= 1
            times.append(creation_ms)
        times.reverse()
        return times

    def _in_flight_job(
        self, job_id: int, creation_ms: int, now_ms: int, *, processing: bool
    ) -> JobPlan:
        # NEW jobs start processing and all in-flight jobs finish as long after seeding as
        # created jobs do after creation.
        config = self._config
        finished_ms = now_ms + round(config.finish_after * 1000)
        if processing:
            processing_ms = creation_ms + min(30_000, (now_ms - creation_ms) // 2)
        else:
            processing_ms = now_ms + round(config.processing_after * 1000)

        document = self._new_document(job_id, creation_ms)
        stages = plan_stages(
            document,
            processing_ms=processing_ms,
            finished_ms=finished_ms,
            fails=self._rng.random() < config.failure_share,
            rng=self._rng,
        )
        if processing:
            document = stages.pop(0).document
        return JobPlan(job_id, creation_ms, document, stages)

    def _finished_job(self, job_id: int, creation_ms: int, now_ms: int) -> JobPlan:
        rng = self._rng
        finished_ms = min(now_ms, creation_ms + random_int(rng, 30_000, 900_000))
        processing_ms = min(finished_ms, creation_ms + random_int(rng, 2_000, 120_000))
        stages = plan_stages(
            self._new_document(job_id, creation_ms),
            processing_ms=processing_ms,
            finished_ms=finished_ms,
            fails=rng.random() < self._config.failure_share,
            rng=rng,
        )
        document = stages[-1].document
        if rng.random() < self._config.variant_share:
            document = self._apply_variants(document)
        return JobPlan(job_id, creation_ms, document, [])

    def _new_document(self, job_id: int, creation_ms: int) -> Document:
        return new_job_document(
            job_id=job_id,
            request=self._request(creation_ms),
            creation_ms=creation_ms,
            org_id=self._config.org_id,
            request_id=self._request_id(),
            profile_instance_id="ups",
            rng=self._rng,
        )

    def _request(self, creation_ms: int) -> Document:
        """Build a create request body like the ones users send, with defaults filled in."""
        rng = self._rng
        segment_count = 1 if rng.random() < 0.85 else 2
        # Consecutive ids of the pool, so the segments of one job are distinct.
        first_segment = int(rng.random() * (len(self._segment_ids) - 1))
        segments = [
            {
                "segmentId": segment_id,
                "segmentNs": "ups",
                "status": list(pick(rng, _SEGMENT_STATUS_FILTERS)),
            }
            for segment_id in self._segment_ids[first_segment : first_segment + segment_count]
        ]
        request_filter: Document = {"segments": segments}
        if rng.random() < 0.1:
            request_filter["segmentQualificationTime"] = {
                "startTime": rfc3339(creation_ms - 30 * 86_400_000),
                "endTime": rfc3339(creation_ms),
            }
        if rng.random() < 0.2:
            request_filter["fromIngestTimestamp"] = rfc3339(creation_ms - 7 * 86_400_000)
        if rng.random() < 0.3:
            request_filter["emptyProfiles"] = rng.random() < 0.5

        request: Document = {}
        if rng.random() < 0.85:
            request["fields"] = pick(rng, _FIELD_LISTS)
        request["mergePolicy"] = {"id": pick(rng, self._merge_policy_ids), "version": 1}
        request["filter"] = request_filter
        if rng.random() < 0.1:
            request["additionalFields"] = {
                "eventList": {
                    "fields": _EVENT_FIELDS,
                    "filter": {"fromIngestTimestamp": rfc3339(creation_ms - 86_400_000)},
                }
            }
        request["destination"] = {
            "datasetId": pick(rng, self._dataset_ids),
            "segmentPerBatch": rng.random() < 0.08,
        }
        request["schema"] = {"name": _PROFILE_SCHEMA}
        if rng.random() < 0.1:
            request["evaluationInfo"] = {"segmentation": rng.random() < 0.5}
        return request

    def _request_id(self) -> str:
        # Adobe's examples show both UUIDs and 32 random letters and digits.
        if self._rng.random() < 0.5:
            return uuid4(self._rng)
        # Base64 of 24 random bytes is 32 characters; "A" and "a" stand in for "+" and "/".
        return base64.b64encode(self._rng.randbytes(24), altchars=b"Aa").decode("ascii")

    def _apply_variants(self, document: Document) -> Document:
        """Rewrite a finished job with a random, non-empty set of the variant spellings."""
        rng = self._rng
        applicable = [variant for variant in _VARIANTS if variant.applies_to(document)]
        chosen = [variant for variant in applicable if rng.random() < variant.probability]
        if not chosen:
            chosen = [pick(rng, applicable)]
        for variant in chosen:
            # An earlier rewrite can make a later one inapplicable: batches as a list
            # removes the batchId that an empty batch id would blank.
            if variant.applies_to(document):
                variant.apply(document, rng)
        return document


# The variant rewrites below change the document in place. Seeded documents are built
# fresh for each job, so no other object references their nested objects.


def _rename_dataset_id(document: Document, rng: random.Random) -> None:
    destination = document["destination"]
    document["destination"] = {
        ("dataSetId" if key == "datasetId" else key): value for key, value in destination.items()
    }


def _batches_as_list(document: Document, rng: random.Random) -> None:
    destination = document["destination"]
    destination.pop("batchId", None)
    destination["segmentPerBatch"] = True
    batches = []
    for segment in document["filter"]["segments"]:
        statuses = segment["status"]
        # Adobe's example shows "status": "exited", a plain string where a list is documented.
        status: object = statuses[0] if len(statuses) == 1 or rng.random() < 0.5 else statuses
        batches.append(
            {
                "segmentId": segment["segmentId"],
                "segmentNs": segment["segmentNs"],
                "status": status,
                "batchId": hex_id(rng, 32),
            }
        )
    if all(not isinstance(batch["status"], str) for batch in batches):
        batches[0]["status"] = "exited"
    destination["batches"] = batches


def _batches_as_object(document: Document, rng: random.Random) -> None:
    # Adobe's spec declares destination.batches as one object, its guide shows a list.
    destination = document["destination"]
    segment = document["filter"]["segments"][0]
    destination["segmentPerBatch"] = True
    destination["batches"] = {
        "segmentId": segment["segmentId"],
        "segmentNs": segment["segmentNs"],
        "status": segment["status"],
        "batchId": destination.pop("batchId", None) or hex_id(rng, 32),
    }


def _numbers_as_floats(document: Document, rng: random.Random) -> None:
    metrics = document["metrics"]
    for name, value in list(metrics.items()):
        if isinstance(value, dict) and "startTimeInMs" in value:
            metrics[name] = {
                key: _exponent_literal(number) if number >= 1_000_000_000 else float(number)
                for key, number in value.items()
            }
    if "totalExportedProfileCounter" in metrics:
        metrics["totalExportedProfileCounter"] = float(metrics["totalExportedProfileCounter"])
    if "mergePolicy" in document:
        document["mergePolicy"]["version"] = 1.0


def _exponent_literal(number: int) -> msgspec.Raw:
    """Return a JSON number literal in exponent form: ``1.23456789E+11`` for 123456789000."""
    digits = str(number)
    fraction = digits[1:].rstrip("0") or "0"
    return msgspec.Raw(f"{digits[0]}.{fraction}E+{len(digits) - 1}".encode())


def _id_as_float(document: Document, rng: random.Random) -> None:
    document["id"] = float(document["id"])


def _errors_on_success(document: Document, rng: random.Random) -> None:
    # Adobe's first listing example is a SUCCEEDED job that carries an error.
    document["errors"] = [
        {
            "code": "0100000003",
            "msg": "Error in Export Job",
            "callStack": "com.adobe.aep.unifiedprofile.common.logging.Logger",
        }
    ]


def _unknown_error_code(document: Document, rng: random.Random) -> None:
    document["errors"].append(
        {
            "code": "unknown",
            "msg": "Job aborted.",
            "callStack": "org.apache.spark.SparkException: Job aborted.",
        }
    )


def _empty_batch_id(document: Document, rng: random.Random) -> None:
    document["destination"]["batchId"] = ""


def _empty_gateway_job_id(document: Document, rng: random.Random) -> None:
    document["computeGatewayJobId"] = {}


def _other_namespaces(document: Document, rng: random.Random) -> None:
    for segment in document["filter"]["segments"]:
        segment["segmentNs"] = pick(rng, _VARIANT_NAMESPACES)


def _undocumented_fields(document: Document, rng: random.Random) -> None:
    document["sandbox"] = {
        "sandboxId": uuid4(rng),
        "sandboxName": "prod",
        "type": "production",
        "default": True,
    }
    document["destination"]["exportFormat"] = "parquet"


@dataclass(frozen=True)
class _Variant:
    name: str
    probability: float
    apply: Callable[[Document, random.Random], None]
    status: str | None = None
    needs_batch_id: bool = False

    def applies_to(self, document: Document) -> bool:
        if self.status is not None and document["status"] != self.status:
            return False
        return not self.needs_batch_id or "batchId" in document["destination"]


# The variants that go with a segment list run after _other_namespaces, so the batches
# repeat the segments' namespaces.
_VARIANTS = (
    _Variant("other namespaces", 0.3, _other_namespaces),
    _Variant("dataSetId", 0.3, _rename_dataset_id),
    _Variant("batches as a list", 0.2, _batches_as_list, needs_batch_id=True),
    _Variant("batches as one object", 0.2, _batches_as_object, needs_batch_id=True),
    _Variant("numbers as floats", 0.3, _numbers_as_floats),
    _Variant("id as a float", 0.05, _id_as_float),
    _Variant("errors on a succeeded job", 0.3, _errors_on_success, status=SUCCEEDED),
    _Variant("error code unknown", 0.4, _unknown_error_code, status=FAILED),
    _Variant("empty batch id", 0.4, _empty_batch_id, status=FAILED, needs_batch_id=True),
    _Variant("empty compute gateway job id", 0.3, _empty_gateway_job_id),
    _Variant("undocumented fields", 0.3, _undocumented_fields),
)
