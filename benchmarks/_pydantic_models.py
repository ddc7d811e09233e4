"""Pydantic models of a page of export jobs, as a user without aep_jobs would write them.

They cover the same fields as ``aep_jobs.ExportJob``, ignore unknown fields, and accept the
spelling variants that the emulator seeds (floats for integers, batches as one object).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PydanticSegmentBatch(_Model):
    segment_id: str | None = Field(default=None, alias="segmentId")
    segment_ns: str | None = Field(default=None, alias="segmentNs")
    batch_id: str | None = Field(default=None, alias="batchId")
    status: list[str] | str | None = None


class PydanticDestination(_Model):
    dataset_id: str | None = Field(default=None, alias="datasetId")
    data_set_id: str | None = Field(default=None, alias="dataSetId")
    segment_per_batch: bool | None = Field(default=None, alias="segmentPerBatch")
    batch_id: str | None = Field(default=None, alias="batchId")
    batches: list[PydanticSegmentBatch] | PydanticSegmentBatch | None = None


class PydanticSegment(_Model):
    segment_id: str | None = Field(default=None, alias="segmentId")
    segment_ns: str | None = Field(default=None, alias="segmentNs")
    status: list[str] | str | None = None


class PydanticFilter(_Model):
    segments: list[PydanticSegment] = []
    segment_qualification_time: dict[str, Any] | None = Field(
        default=None, alias="segmentQualificationTime"
    )
    from_ingest_timestamp: str | None = Field(default=None, alias="fromIngestTimestamp")
    empty_profiles: bool | None = Field(default=None, alias="emptyProfiles")


class PydanticTiming(_Model):
    start_time_in_ms: float | None = Field(default=None, alias="startTimeInMs")
    end_time_in_ms: float | None = Field(default=None, alias="endTimeInMs")
    total_time_in_ms: float | None = Field(default=None, alias="totalTimeInMs")


class PydanticMetrics(_Model):
    total_time: PydanticTiming | None = Field(default=None, alias="totalTime")
    profile_export_time: PydanticTiming | None = Field(default=None, alias="profileExportTime")
    acp_dataset_write_time: PydanticTiming | None = Field(default=None, alias="aCPDatasetWriteTime")
    total_exported_profile_counter: int | None = Field(
        default=None, alias="totalExportedProfileCounter"
    )
    exported_profile_by_namespace_counter: dict[str, int] = Field(
        default={}, alias="exportedProfileByNamespaceCounter"
    )


class PydanticError(_Model):
    code: str | None = None
    msg: str | None = None
    call_stack: str | None = Field(default=None, alias="callStack")


class PydanticJob(_Model):
    id: int
    status: str = ""
    job_type: str | None = Field(default=None, alias="jobType")
    destination: PydanticDestination | None = None
    fields: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    ims_org_id: str | None = Field(default=None, alias="imsOrgId")
    filter: PydanticFilter | None = None
    additional_fields: dict[str, Any] | None = Field(default=None, alias="additionalFields")
    merge_policy: dict[str, Any] | None = Field(default=None, alias="mergePolicy")
    profile_instance_id: str | None = Field(default=None, alias="profileInstanceId")
    errors: list[PydanticError] = []
    metrics: PydanticMetrics | None = None
    compute_gateway_job_id: dict[str, Any] | None = Field(default=None, alias="computeGatewayJobId")
    creation_time: int | None = Field(default=None, alias="creationTime")
    update_time: int | None = Field(default=None, alias="updateTime")
    request_id: str | None = Field(default=None, alias="requestId")


class PydanticLinks(_Model):
    next: str | None = None


class PydanticJobPage(_Model):
    records: list[PydanticJob]
    link: PydanticLinks | None = None
