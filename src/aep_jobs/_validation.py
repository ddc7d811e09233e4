"""Checks on requests and arguments, run before anything is sent.

Every failure raises [`RequestValidationError`][aep_jobs.RequestValidationError] naming the
field (by its wire name), the value and what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from .errors import RequestValidationError
from .models import ExportJobRequest, JobStatus, SegmentStatus

# The statuses that the list operation accepts as a filter, per Adobe's OpenAPI spec.
LIST_STATUS_FILTERS = (JobStatus.NEW.value, JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)

_SEGMENT_STATUSES = tuple(status.value for status in SegmentStatus)

# RFC 3339 section 5.6 date-time. A space instead of "T" is allowed by the RFC's note and is
# what Adobe's spec examples use ("2018-01-01 00:00:00+00:00").
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_JSON_PATH = re.compile(r" - at `\$((?:\.[A-Za-z_][\w]*|\[\d+\])*)`$")
_DIGITS = re.compile(r"[0-9]+")
# Export job ids are 64-bit integers (int64 in Adobe's spec).
_MAX_ID = 2**63 - 1

_request_decoder = msgspec.json.Decoder(ExportJobRequest)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse_export_request(source: bytes | str | Mapping[str, Any]) -> ExportJobRequest:
    """Parse and validate a create request from JSON text or a mapping of wire names.

    :raises RequestValidationError: the JSON is invalid, a field is unknown, missing or of the
        wrong type, or a value is out of range
    """
    if not isinstance(source, (bytes, bytearray, memoryview, str, Mapping)):
        raise RequestValidationError(
            "body", source, "expected JSON text, bytes or a mapping of the API's field names"
        )
    if isinstance(source, (bytes, bytearray, memoryview, str)) and not _strip(source):
        raise RequestValidationError("body", "", "is empty; a JSON object was expected")
    try:
        if isinstance(source, Mapping):
            request = msgspec.convert(source, ExportJobRequest)
        else:
            request = _request_decoder.decode(source)
    except msgspec.ValidationError as error:
        raise _from_msgspec_error(error, source) from None
    except msgspec.DecodeError as error:
        raise RequestValidationError("body", _short(source), f"not valid JSON ({error})") from None
    except UnicodeError:
        raise _not_unicode("body", source) from None
    except RecursionError:
        raise RequestValidationError(
            "body", _short(source), "is nested too deeply to be a create request"
        ) from None
    return check_export_request(request)


def check_export_request(request: ExportJobRequest) -> ExportJobRequest:
    """Check a create request's types and values, and return it with every part typed.

    Mappings of wire names given in place of nested Structs (``destination={"datasetId":
    ...}``) are converted to those Structs.

    :raises RequestValidationError: on the first invalid field
    """
    if not isinstance(request, ExportJobRequest):
        raise RequestValidationError(
            "request",
            request,
            "expected an ExportJobRequest; build one or use parse_export_request",
        )

    # Structs built in Python are not type-checked on construction: a round trip through
    # msgspec checks every field's type against the annotations.
    try:
        builtins = msgspec.to_builtins(request)
        request = msgspec.convert(builtins, ExportJobRequest)
        # Text that is not valid Unicode, such as a lone surrogate, cannot be sent as JSON.
        msgspec.json.encode(request)
    except msgspec.ValidationError as error:
        raise _from_msgspec_error(error, builtins) from None
    except TypeError as error:
        raise RequestValidationError("request", request, f"cannot be encoded: {error}") from None
    except UnicodeError:
        raise _not_unicode("request", request) from None
    except RecursionError:
        raise RequestValidationError(
            "request", request, "is nested too deeply to be a create request"
        ) from None

    _check_text("destination.datasetId", request.destination.dataset_id)
    _check_text("schema.name", request.schema.name)
    if request.fields is not None:
        _check_text("fields", request.fields)
    if request.merge_policy is not None:
        _check_text("mergePolicy.id", request.merge_policy.id)

    export_filter = request.filter
    if export_filter is not None:
        for index, segment in enumerate(export_filter.segments or ()):
            prefix = f"filter.segments[{index}]"
            _check_text(f"{prefix}.segmentId", segment.segment_id)
            if segment.segment_ns is not None:
                _check_text(f"{prefix}.segmentNs", segment.segment_ns)
            if segment.status is not None:
                _check_segment_statuses(f"{prefix}.status", segment.status)
        window = export_filter.segment_qualification_time
        if window is not None:
            name = "filter.segmentQualificationTime"
            start = _check_timestamp(f"{name}.startTime", window.start_time)
            end = _check_timestamp(f"{name}.endTime", window.end_time)
            if start is not None and end is not None and start > end:
                raise RequestValidationError(
                    "filter.segmentQualificationTime",
                    f"{window.start_time} .. {window.end_time}",
                    "startTime is after endTime; swap them",
                )
        _check_timestamp("filter.fromIngestTimestamp", export_filter.from_ingest_timestamp)

    event_list = request.additional_fields.event_list if request.additional_fields else None
    if event_list is not None and event_list.filter is not None:
        prefix = "additionalFields.eventList.filter"
        _check_timestamp(f"{prefix}.fromIngestTimestamp", event_list.filter.from_ingest_timestamp)
        _check_timestamp(f"{prefix}.toIngestTimestamp", event_list.filter.to_ingest_timestamp)
    return request


def check_list_arguments(limit: object, offset: object, status: object) -> str | None:
    """Check the filters of a list request and return the status filter as a plain string.

    :raises RequestValidationError: ``limit`` is not a positive integer, ``offset`` is not a
        non-empty string, or ``status`` is not one of NEW, SUCCEEDED, FAILED
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise RequestValidationError("limit", limit, "expected a positive integer such as 100")
    if offset is not None and (not isinstance(offset, str) or not offset):
        raise RequestValidationError(
            "offset", offset, "expected a non-empty cursor string such as '1538573416687_722'"
        )
    if offset is not None and not _is_unicode(offset):
        raise _not_unicode("offset", offset)
    if status is not None and status not in LIST_STATUS_FILTERS:
        raise RequestValidationError(
            "status", status, f"expected one of {', '.join(LIST_STATUS_FILTERS)}"
        )
    if status is None:
        return None
    return LIST_STATUS_FILTERS[LIST_STATUS_FILTERS.index(status)]


def check_job_id(job_id: object) -> str:
    """Return a job id as the text that goes into the URL path.

    :raises RequestValidationError: the id is not a non-negative integer or a string of digits,
        or does not fit the API's 64-bit ids
    """
    if isinstance(job_id, int) and not isinstance(job_id, bool) and 0 <= job_id <= _MAX_ID:
        return str(job_id)
    if isinstance(job_id, str) and _DIGITS.fullmatch(job_id) and int(job_id) <= _MAX_ID:
        return job_id
    raise RequestValidationError("job_id", job_id, "expected an export job id such as 722")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def _not_unicode(name: str, value: object) -> RequestValidationError:
    return RequestValidationError(
        name,
        value,
        "contains text that is not valid Unicode (a lone surrogate, as from decoding bytes "
        "with errors='surrogateescape'); decode the input as UTF-8",
    )


def _strip(source: bytes | bytearray | memoryview | str) -> bytes | str:
    if isinstance(source, str):
        return source.strip()
    return bytes(source).strip()


def _check_text(name: str, value: str) -> None:
    if not value.strip():
        raise RequestValidationError(name, value, "must not be empty")


def _check_segment_statuses(name: str, statuses: list[str]) -> None:
    if not statuses:
        raise RequestValidationError(
            name, statuses, "must not be empty; leave it out to use the server's default"
        )
    for index, status in enumerate(statuses):
        if status not in _SEGMENT_STATUSES:
            raise RequestValidationError(
                f"{name}[{index}]", status, f"expected one of {', '.join(_SEGMENT_STATUSES)}"
            )


def _check_timestamp(name: str, value: str | None) -> tuple[int, Decimal] | None:
    """Check an RFC 3339 timestamp and return it as (whole UTC seconds, fraction) to compare."""
    if value is None:
        return None
    match = _RFC3339.fullmatch(value)
    problem = "expected an RFC 3339 timestamp such as '2018-01-01T00:00:00Z'"
    if match is None:
        raise RequestValidationError(name, value, problem)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction = Decimal("0" + (match.group(7) or ""))
    zone = match.group(8).upper()
    try:
        offset = dt.timedelta(0)
        if zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(f"offset {zone} out of range")
            offset = sign * dt.timedelta(hours=hours, minutes=minutes)
        # RFC 3339 allows a leap second (:60), which datetime cannot hold.
        if second > 60:
            raise ValueError(f"second {second} out of range")
        moment = dt.datetime(
            year, month, day, hour, minute, min(second, 59), tzinfo=dt.timezone(offset)
        )
    except (ValueError, OverflowError):
        raise RequestValidationError(name, value, problem) from None
    whole_seconds = (moment - _EPOCH) // dt.timedelta(seconds=1) + (second - min(second, 59))
    return whole_seconds, fraction


def _from_msgspec_error(error: msgspec.ValidationError, source: object) -> RequestValidationError:
    message = str(error)
    match = _JSON_PATH.search(message)
    # msgspec appends " - at `$.a.b`" unless the problem is at the root of the document.
    path = match.group(1) if match else ""
    problem = message[: match.start()] if match else message

    missing = re.fullmatch(r"Object missing required field `(\w+)`", problem)
    if missing:
        return RequestValidationError.missing(f"{path}.{missing.group(1)}".lstrip("."))
    unknown = re.fullmatch(r"Object contains unknown field `(\w+)`", problem)
    if unknown:
        name = f"{path}.{unknown.group(1)}".lstrip(".")
        return RequestValidationError(
            name, _lookup(source, name), _unknown_field_problem(unknown.group(1))
        )
    name = path.lstrip(".")
    if not name:
        return RequestValidationError("body", _short(source), problem)
    return RequestValidationError(name, _lookup(source, name), problem[0].lower() + problem[1:])


def _unknown_field_problem(field: str) -> str:
    """Return the problem text for an unknown field, with the closest known name if any."""
    close = difflib.get_close_matches(field, _request_field_names(), n=1, cutoff=0.6)
    if not close:
        close = [name for name in _request_field_names() if name.lower() == field.lower()]
    if close:
        return f"is not a known field; did you mean {close[0]!r}?"
    return "is not a known field of a create request; check its spelling"


@functools.cache
def _request_field_names() -> tuple[str, ...]:
    """Return the wire names of every field of a create request, at any depth."""
    names: set[str] = set()
    pending: list[Any] = [ExportJobRequest]
    seen: set[Any] = set()
    while pending:
        struct = pending.pop()
        if struct in seen:
            continue
        seen.add(struct)
        for field in msgspec.structs.fields(struct):
            names.add(field.encode_name)
            for part in typing.get_args(field.type) or (field.type,):
                for inner in typing.get_args(part) or (part,):
                    if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
                        pending.append(inner)
    return tuple(sorted(names))


def _lookup(source: object, path: str) -> object:
    """Return the value at a dotted wire path of decoded JSON, or None if it is not there."""
    if isinstance(source, (bytes, str)):
        try:
            source = msgspec.json.decode(source)
        except msgspec.DecodeError:
            return None
    value = source
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("[") and isinstance(value, list):
            index = int(part[1:-1])
            value = value[index] if index < len(value) else None
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def _short(source: object, limit: int = 80) -> object:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str) and len(source) > limit:
        return source[:limit] + "..."
    return source
