"""Validation of export job create requests, with errors that name the field and value."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ._lifecycle import Document

__all__ = ["SEGMENT_STATUSES", "InvalidRequestError", "validate_create_request"]

SEGMENT_STATUSES = ("realized", "existing", "exited")

# NOTE: Adobe's spec gives ["realized", "existing"] as the default segment status filter,
# and its newest guide gives ["realized"]. The emulator fills in the spec's default.
_DEFAULT_SEGMENT_STATUS = ["realized", "existing"]
_DEFAULT_SEGMENT_NAMESPACE = "ups"

# RFC 3339 section 5.6, with the space separator that its note allows and Adobe's spec uses.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
    r"(?:[Zz]|[+-](\d{2}):(\d{2}))"
)


class InvalidRequestError(Exception):
    """A create request that the service rejects with 400. The message is the problem detail."""


def validate_create_request(body: object) -> Document:
    """Check a decoded create request and return it with the service's defaults filled in.

    :raises InvalidRequestError: on the first invalid or missing field, naming it.
    """
    if not isinstance(body, dict):
        raise InvalidRequestError(f"The request body must be a JSON object, got {_json_type(body)}")

    destination = _object(body, "destination", "destination", required=True)
    _string(destination, "datasetId", "destination.datasetId", required=True)
    _boolean(destination, "segmentPerBatch", "destination.segmentPerBatch")

    schema = _object(body, "schema", "schema", required=True)
    _string(schema, "name", "schema.name", required=True)

    _string(body, "fields", "fields")
    merge_policy = _object(body, "mergePolicy", "mergePolicy")
    if merge_policy is not None:
        _string(merge_policy, "id", "mergePolicy.id")
        _merge_policy_version(merge_policy)

    request_filter = _object(body, "filter", "filter")
    if request_filter is not None:
        _validate_filter(request_filter)

    additional_fields = _object(body, "additionalFields", "additionalFields")
    if additional_fields is not None:
        _validate_additional_fields(additional_fields)

    evaluation_info = _object(body, "evaluationInfo", "evaluationInfo")
    if evaluation_info is not None:
        _boolean(evaluation_info, "segmentation", "evaluationInfo.segmentation")
    return body


def _validate_filter(request_filter: Document) -> None:
    segments = request_filter.get("segments")
    if segments is not None:
        if not isinstance(segments, list):
            raise InvalidRequestError(
                f"filter.segments must be an array, got {_json_type(segments)}"
            )
        for index, segment in enumerate(segments):
            _validate_segment(segment, f"filter.segments[{index}]")

    qualification_time = _object(
        request_filter, "segmentQualificationTime", "filter.segmentQualificationTime"
    )
    if qualification_time is not None:
        for name in ("startTime", "endTime"):
            _timestamp(qualification_time, name, f"filter.segmentQualificationTime.{name}")

    _timestamp(request_filter, "fromIngestTimestamp", "filter.fromIngestTimestamp")
    _boolean(request_filter, "emptyProfiles", "filter.emptyProfiles")


def _validate_segment(segment: object, path: str) -> None:
    if not isinstance(segment, dict):
        raise InvalidRequestError(f"{path} must be an object, got {_json_type(segment)}")
    _string(segment, "segmentId", f"{path}.segmentId", required=True)
    _string(segment, "segmentNs", f"{path}.segmentNs")
    segment.setdefault("segmentNs", _DEFAULT_SEGMENT_NAMESPACE)

    statuses = segment.get("status")
    if statuses is None:
        segment["status"] = list(_DEFAULT_SEGMENT_STATUS)
        return
    if not isinstance(statuses, list):
        raise InvalidRequestError(
            f"{path}.status must be an array of strings, got {_json_type(statuses)}"
        )
    for status in statuses:
        if status not in SEGMENT_STATUSES:
            raise InvalidRequestError(
                f"{path}.status contains the invalid value {status!r}. "
                "Allowed values are 'realized', 'existing' and 'exited'."
            )


def _validate_additional_fields(additional_fields: Document) -> None:
    event_list = _object(additional_fields, "eventList", "additionalFields.eventList")
    if event_list is None:
        return
    _string(event_list, "fields", "additionalFields.eventList.fields")
    event_filter = _object(event_list, "filter", "additionalFields.eventList.filter")
    if event_filter is not None:
        for name in ("fromIngestTimestamp", "toIngestTimestamp"):
            _timestamp(event_filter, name, f"additionalFields.eventList.filter.{name}")


def _merge_policy_version(merge_policy: Document) -> None:
    version = merge_policy.get("version")
    # Adobe's spec documents a number and calls the default "Latest", so both are accepted.
    if version is None or isinstance(version, str):
        return
    if isinstance(version, bool) or not isinstance(version, (int, float)):
        raise InvalidRequestError(
            f"mergePolicy.version must be a number, got {_json_type(version)}"
        )


def _object(parent: Document, name: str, path: str, *, required: bool = False) -> Any:
    value = parent.get(name)
    if value is None:
        if required:
            raise InvalidRequestError(f"{path} is required")
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{path} must be an object, got {_json_type(value)}")
    return value


def _string(parent: Document, name: str, path: str, *, required: bool = False) -> None:
    value = parent.get(name)
    if value is None:
        if required:
            raise InvalidRequestError(f"{path} is required")
        return
    if not isinstance(value, str):
        raise InvalidRequestError(f"{path} must be a string, got {_json_type(value)}")
    if required and not value:
        raise InvalidRequestError(f"{path} is required and must not be empty")


def _boolean(parent: Document, name: str, path: str) -> None:
    value = parent.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequestError(f"{path} must be a boolean, got {_json_type(value)}")


def _timestamp(parent: Document, name: str, path: str) -> None:
    value = parent.get(name)
    if value is None:
        return
    if not isinstance(value, str) or not _is_rfc3339(value):
        raise InvalidRequestError(
            f"{path} must be an RFC 3339 timestamp such as '2018-01-01T00:00:00Z', got {value!r}"
        )


def _is_rfc3339(text: str) -> bool:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    offset_hours, offset_minutes = match.group(7, 8)
    if offset_hours is not None and (int(offset_hours) > 23 or int(offset_minutes) > 59):
        return False
    try:
        # RFC 3339 allows a leap second (:60), which datetime cannot hold.
        datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    return second <= 60


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
