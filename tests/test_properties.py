"""Property-based tests: whatever a server sends or a caller passes, only aep_jobs errors leave.

Hypothesis generates response bodies, create requests, list arguments, job ids, timestamps,
Retry-After headers and chains of pages. Every client sends through an in-process
``httpx.MockTransport`` on a loopback service root, so no request leaves the process.
"""

from __future__ import annotations

import calendar
import copy
import dataclasses
import datetime as dt
import json
import math
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import msgspec
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from aep_jobs import (
    AepJobsError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    CancelResult,
    DecodeError,
    ExportJob,
    ExportJobRequest,
    ExportJobsClient,
    JobPage,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    RetryPolicy,
    ServerError,
    parse_export_request,
)
from aep_jobs.models import encode_request
from aep_jobs.retry import RETRYABLE_STATUSES, SAFE_CREATE_STATUSES, parse_retry_after
from conftest import (
    GUIDE_CANCEL_RESPONSE,
    GUIDE_CREATE_REQUEST,
    GUIDE_CREATE_RESPONSE,
    GUIDE_LIST_PAGE,
    GUIDE_SEGMENT_PER_BATCH_JOB,
)

# A loopback service root. The mock transport responds to every request inside the process.
BASE_URL = "http://127.0.0.1:8080/data/core/ups"
SERVICE_HOST = "127.0.0.1"
SERVICE_PORT = 8080
SERVICE_PATH = "/data/core/ups"

JOB_ID = 722
# The offset, in Adobe's form, of the second page that the "iterate" operation reads.
NEXT_OFFSET = "1538573416687_722"
FIRST_PAGE = msgspec.json.encode(
    {
        "records": [{"id": 1, "status": "SUCCEEDED"}],
        "link": {"next": f"/export/jobs/?limit=2&offset={NEXT_OFFSET}"},
    }
)
EMPTY_PAGE = b'{"records": []}'
MAX_PAGES = 50
# Seconds that one generated example may take before anyio cancels it.
EXAMPLE_TIMEOUT = 10

# The operations that decode a success body, and the name each gives its errors.
OPERATION_NAMES = {
    "get": f"get export job {JOB_ID}",
    "list": "list export jobs",
    "cancel": f"cancel export job {JOB_ID}",
    "create": "create export job",
    "iterate": f"list export jobs (page 2, offset {NEXT_OFFSET})",
}
OPERATIONS = tuple(OPERATION_NAMES)

GATEWAY_ERROR: dict[str, Any] = {"error_code": "401013", "message": "Oauth token is not valid"}
PROBLEM_ERROR: dict[str, Any] = {
    "type": "http://ns.adobe.com/aep/errors/UPS-1001-404",
    "title": "NotFoundError",
    "status": 404,
    "detail": "Export job 722 not found",
    "requestId": "d995479c-8a08-4240-903b-af469c67be1f",
    "errors": {"404": [{"code": "UPS-1001-404", "message": "Export job not found"}]},
}

# The body that each operation receives on success, as decoded JSON.
SUCCESS_BODIES: dict[str, list[Any]] = {
    "get": [
        json.loads(GUIDE_CREATE_RESPONSE),
        json.loads(GUIDE_SEGMENT_PER_BATCH_JOB),
        json.loads(GUIDE_LIST_PAGE)["records"][1],
    ],
    "list": [json.loads(GUIDE_LIST_PAGE)],
    "cancel": [json.loads(GUIDE_CANCEL_RESPONSE)],
    "create": [json.loads(GUIDE_CREATE_RESPONSE)],
    "iterate": [json.loads(GUIDE_LIST_PAGE)],
}

# JSON number literals that real or broken servers send where integers are expected.
NUMBER_LITERALS = (
    b"1e400",
    b"-1e400",
    b"1.23456789E+11",
    b"100.0",
    b"100.5",
    b"-0",
    b"1" + b"0" * 30,
    b"9007199254740993",
    b"-9223372036854775809",
    b"18446744073709551616",
)
_NUMBER_TOKEN = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

SEGMENT_STATUS_TEXTS = ("realized", "existing", "exited", "REALIZED", "Realized", "", " ")

EXPECTED_ERROR_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

# The explain phase replays a failing example hundreds of times to list the lines it ran.
# It is left out so that a failing run stays short.
PROPERTY_SETTINGS = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)

JsonPath = tuple[str | int, ...]
Respond = Callable[[httpx.Request], httpx.Response]


# ---------------------------------------------------------------------------------------------
# Strategies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=10), children, max_size=5),
    ),
    max_leaves=20,
)

# Text decoded from bytes with errors="surrogateescape" (command-line arguments, file names)
# contains lone surrogates, so callers can pass them.
user_texts = st.text(
    alphabet=st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr)), max_size=20
)

# Header values must be ASCII for httpx.
header_texts = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


# Strings of 1 to 24 digits, each length equally likely.
digit_strings = st.integers(1, 24).flatmap(
    lambda length: st.text("0123456789", min_size=length, max_size=length)
)


@st.composite
def http_dates(draw: st.DrawFn) -> str:
    """Generate HTTP dates of RFC 9110 and near misses, with any numeric zone offset."""
    weekday = draw(st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"]))
    day = draw(st.integers(0, 99))
    month = draw(st.sampled_from([*calendar.month_abbr[1:], "Foo"]))
    year = draw(st.integers(0, 99999))
    hour, minute, second = (draw(st.integers(0, 99)) for _ in range(3))
    zone = draw(
        st.one_of(
            st.sampled_from(["GMT", "UTC", "EST", "", "-0000", "+2400"]),
            st.builds("{}{}".format, st.sampled_from("+-"), digit_strings),
        )
    )
    return f"{weekday}, {day:02d} {month} {year} {hour:02d}:{minute:02d}:{second:02d} {zone}"


retry_after_headers = st.one_of(
    header_texts,
    http_dates(),
    st.from_regex(r"[ ]?-?[0-9]{1,400}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,4})?[ ]?", fullmatch=True),
    st.sampled_from(["inf", "-inf", "nan", "1e999", "0", "-1", "120"]),
)


def json_paths(document: Any) -> list[JsonPath]:
    """List the path of every value in a JSON document, the root's included."""
    paths: list[JsonPath] = []
    pending: list[tuple[JsonPath, Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        paths.append(path)
        if isinstance(value, dict):
            pending.extend(((*path, key), child) for key, child in value.items())
        elif isinstance(value, list):
            pending.extend(((*path, index), child) for index, child in enumerate(value))
    return paths


def value_at(document: Any, path: JsonPath) -> Any:
    for part in path:
        document = document[part]
    return document


def with_value(document: Any, path: JsonPath, value: Any) -> Any:
    """Return the document with the value at ``path`` replaced, where ``()`` is the root."""
    if not path:
        return value
    value_at(document, path[:-1])[path[-1]] = value
    return document


def without_value(document: Any, path: JsonPath) -> Any:
    """Return the document without the value at ``path``, unless the path is the root."""
    if path:
        del value_at(document, path[:-1])[path[-1]]
    return document


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_variants(value: Any) -> st.SearchStrategy[Any]:
    """Generate what a broken server sends in place of a number."""
    variants: list[st.SearchStrategy[Any]] = [
        st.integers(min_value=2**63 - 2, max_value=2**70),
        st.integers(min_value=-(2**70), max_value=-(2**63) + 1),
        st.floats(),
        st.integers().map(str),
    ]
    if is_number(value):
        variants += [
            st.just(float(value)),
            st.just(str(value)),
            st.just(-value),
            st.just(value + 0.5),
            st.integers(1, 30).map(lambda power: value * 10**power),
        ]
    return st.one_of(variants)


def swapped_container(value: Any) -> st.SearchStrategy[Any]:
    """Generate a list in place of an object, an object in place of a list, and so on."""
    if isinstance(value, list):
        return st.sampled_from([{str(index): item for index, item in enumerate(value)}, {}])
    if isinstance(value, dict):
        return st.sampled_from([[value], list(value.values())])
    return st.sampled_from([[value], {"value": value}])


PLAIN_TEXTS = st.text(max_size=20)
MUTATIONS = ("delete", "retype", "swap", "unknown_key", "number", "text")


@st.composite
def mutated_documents(
    draw: st.DrawFn, document: Any, texts: st.SearchStrategy[str] = PLAIN_TEXTS
) -> Any:
    """Apply one to four random changes to a copy of a JSON document.

    The root stays an object so that the changes reach the fields. Other roots have tests of
    their own.
    """
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(MUTATIONS))
        paths = json_paths(document)
        if kind == "unknown_key":
            paths = [path for path in paths if isinstance(value_at(document, path), dict)]
        else:
            paths = [path for path in paths if path]
        if kind == "number":
            numbers = [path for path in paths if is_number(value_at(document, path))]
            paths = numbers or paths
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        target = value_at(document, path)

        if kind == "delete":
            document = without_value(document, path)
        elif kind == "retype":
            document = with_value(document, path, draw(json_values))
        elif kind == "swap":
            document = with_value(document, path, draw(swapped_container(target)))
        elif kind == "unknown_key":
            target[draw(st.text(max_size=12))] = draw(json_values)
        elif kind == "number":
            document = with_value(document, path, draw(number_variants(target)))
        else:
            document = with_value(document, path, draw(texts))
    return document


def nested(depth: int, kind: str) -> bytes:
    """Return a JSON array or object nested ``depth`` levels deep."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"0" + b"}" * depth


@st.composite
def mutated_bodies(draw: st.DrawFn, document: Any) -> bytes:
    """Encode a JSON document, then maybe cut it, splice bytes, swap a number or nest deeply."""
    body = msgspec.json.encode(document)
    kind = draw(st.sampled_from(["none", "truncate", "splice", "number", "nesting"]))
    if kind == "truncate":
        return body[: draw(st.integers(0, len(body)))]
    if kind == "splice":
        position = draw(st.integers(0, len(body)))
        return body[:position] + draw(st.binary(min_size=1, max_size=8)) + body[position:]
    if kind == "number":
        tokens = list(_NUMBER_TOKEN.finditer(body))
        if not tokens:
            return body
        token = draw(st.sampled_from(tokens))
        literal = draw(st.sampled_from(NUMBER_LITERALS))
        return body[: token.start()] + literal + body[token.end() :]
    if kind == "nesting":
        # Far below the recursion limit, because deeper bodies have a test of their own.
        deep = nested(draw(st.integers(1, 200)), draw(st.sampled_from(["array", "object"])))
        if body == b"{}":
            return b'{"nested":' + deep + b"}"
        if body.startswith(b"{"):
            return b'{"nested":' + deep + b"," + body[1:]
        return deep
    return body


@st.composite
def rfc3339_timestamps(draw: st.DrawFn) -> tuple[dt.datetime, str]:
    """Generate an RFC 3339 timestamp and the UTC instant it names (as a naive datetime)."""
    moment = draw(
        st.datetimes(
            min_value=dt.datetime(2, 1, 1),
            max_value=dt.datetime(9998, 12, 31),
            timezones=st.timezones(),
        )
    )
    offset = moment.utcoffset()
    assert offset is not None
    # Historical zone offsets can have seconds, which RFC 3339 offsets cannot carry.
    if offset % dt.timedelta(minutes=1):
        moment = moment.astimezone(dt.timezone.utc)
        offset = dt.timedelta(0)
    return moment.replace(tzinfo=None) - offset, draw(formatted_rfc3339(moment, offset))


@st.composite
def formatted_rfc3339(draw: st.DrawFn, moment: dt.datetime, offset: dt.timedelta) -> str:
    """Format a wall time and its offset with any separator, zone spelling and fraction."""
    separator = draw(st.sampled_from(["T", "t", " "]))
    if offset:
        sign = "-" if offset < dt.timedelta(0) else "+"
        hours, minutes = divmod(abs(offset) // dt.timedelta(minutes=1), 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    else:
        zone = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00"]))
    if moment.microsecond:
        digits = f"{moment.microsecond:06d}"
        fraction = "." + draw(st.sampled_from([digits, digits.rstrip("0"), digits + "000"]))
    else:
        fraction = draw(st.sampled_from(["", ".0", ".000000000"]))
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}{separator}"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}{fraction}{zone}"
    )


TIMESTAMP_CORRUPTIONS = (
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "offset_hour",
    "offset_minute",
    "zone",
    "separator",
    "date_separator",
    "time_separator",
    "fraction",
    "year_digits",
    "short_field",
    "whitespace",
    "non_ascii_digit",
    "date_only",
)


@st.composite
def near_miss_timestamps(draw: st.DrawFn) -> str:
    """Generate a string that is one change away from an RFC 3339 timestamp."""
    moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 1)))
    parts = {
        "year": f"{moment.year:04d}",
        "month": f"{moment.month:02d}",
        "day": f"{moment.day:02d}",
        "hour": f"{moment.hour:02d}",
        "minute": f"{moment.minute:02d}",
        "second": f"{moment.second:02d}",
        "date_separator": "-",
        "time_separator": ":",
        "separator": "T",
        "fraction": "",
        "zone": "Z",
    }
    corruption = draw(st.sampled_from(TIMESTAMP_CORRUPTIONS))
    two_digits = "{:02d}".format

    if corruption == "month":
        parts["month"] = two_digits(draw(st.sampled_from([0, *range(13, 100)])))
    elif corruption == "day":
        last_day = calendar.monthrange(moment.year, moment.month)[1]
        parts["day"] = two_digits(draw(st.sampled_from([0, *range(last_day + 1, 100)])))
    elif corruption == "hour":
        parts["hour"] = two_digits(draw(st.integers(24, 99)))
    elif corruption == "minute":
        parts["minute"] = two_digits(draw(st.integers(60, 99)))
    elif corruption == "second":
        # 60 is a leap second, which RFC 3339 allows.
        parts["second"] = two_digits(draw(st.integers(61, 99)))
    elif corruption == "offset_hour":
        parts["zone"] = f"+{draw(st.integers(24, 99)):02d}:00"
    elif corruption == "offset_minute":
        parts["zone"] = f"-00:{draw(st.integers(60, 99)):02d}"
    elif corruption == "zone":
        parts["zone"] = draw(
            st.sampled_from(["", "+0100", "+01", "+01:00:00", "+1:00", "UTC", "GMT", " Z", "ZZ"])
        )
    elif corruption == "separator":
        parts["separator"] = draw(st.sampled_from(["", "_", "x", "\t", "TT", "  ", "T "]))
    elif corruption == "date_separator":
        parts["date_separator"] = draw(st.sampled_from(["/", ".", "", "_"]))
    elif corruption == "time_separator":
        parts["time_separator"] = draw(st.sampled_from([".", "-", ""]))
    elif corruption == "fraction":
        parts["fraction"] = draw(st.sampled_from([".", ",5", ".5.", ". 5", ".x"]))
    elif corruption == "year_digits":
        parts["year"] = draw(st.sampled_from([f"{moment.year % 100:02d}", "10000", "99999"]))
    elif corruption == "short_field":
        field = draw(st.sampled_from(["month", "day", "hour", "minute", "second"]))
        parts[field] = str(draw(st.integers(0, 9)))
    elif corruption == "non_ascii_digit":
        field = draw(st.sampled_from(["year", "month", "day", "hour", "minute", "second"]))
        zero = draw(st.sampled_from([0xFF10, 0x0660, 0x0966]))
        text = parts[field]
        parts[field] = text[:-1] + chr(zero + int(text[-1]))

    timestamp = (
        f"{parts['year']}{parts['date_separator']}{parts['month']}{parts['date_separator']}"
        f"{parts['day']}{parts['separator']}{parts['hour']}{parts['time_separator']}"
        f"{parts['minute']}{parts['time_separator']}{parts['second']}"
        f"{parts['fraction']}{parts['zone']}"
    )
    if corruption == "whitespace":
        return draw(st.sampled_from([f" {timestamp}", f"{timestamp} ", f"{timestamp}\n"]))
    if corruption == "date_only":
        return timestamp[:10]
    return timestamp


# Create requests carry text, timestamps and segment statuses in their strings.
create_texts = st.one_of(
    user_texts,
    rfc3339_timestamps().map(lambda pair: pair[1]),
    near_miss_timestamps(),
    st.sampled_from(SEGMENT_STATUS_TEXTS),
)


# ---------------------------------------------------------------------------------------------
# The mock server and the client


@dataclasses.dataclass
class MockServer:
    """A mock transport's handler that records every request it receives."""

    respond: Respond
    requests: list[httpx.Request] = dataclasses.field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == SERVICE_HOST
        assert request.url.port == SERVICE_PORT
        self.requests.append(request)
        return self.respond(request)


def make_client(server: MockServer) -> ExportJobsClient:
    return ExportJobsClient(
        org_id="1BD6382559DF0C130A49422D@AdobeOrg",
        api_key="key",
        sandbox="prod",
        token="token-123",
        base_url=BASE_URL,
        transport=httpx.MockTransport(server),
        # One response per call: 5xx and 429 raise at once instead of being retried.
        retry=RetryPolicy.disabled(),
    )


def serve(
    operation: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> MockServer:
    """Serve ``body`` to an operation; "iterate" receives it as its second page."""

    def respond(request: httpx.Request) -> httpx.Response:
        if operation == "iterate":
            offset = request.url.params.get("offset")
            if offset is None:
                return httpx.Response(200, content=FIRST_PAGE)
            if offset != NEXT_OFFSET:
                return httpx.Response(200, content=EMPTY_PAGE)
        return httpx.Response(status, content=body, headers=headers)

    return MockServer(respond)


async def perform(operation: str, server: MockServer) -> object:
    """Run one client operation against the server and return its result."""
    with anyio.fail_after(EXAMPLE_TIMEOUT):
        async with make_client(server) as client:
            if operation == "get":
                return await client.get(JOB_ID)
            if operation == "list":
                return await client.list_page(limit=2)
            if operation == "cancel":
                return await client.cancel(JOB_ID)
            if operation == "create":
                return await client.create(GUIDE_CREATE_REQUEST)
            return [job async for job in client.iter_jobs(page_size=2, max_pages=3)]


def outcome_of(operation: str, server: MockServer, backend: str = "asyncio") -> object:
    """Return the operation's result or the aep_jobs error it raised. Others propagate."""
    try:
        return anyio.run(perform, operation, server, backend=backend)
    except AepJobsError as error:
        return error


# ---------------------------------------------------------------------------------------------
# Checks


def check_job(job: object) -> None:
    assert isinstance(job, ExportJob)
    assert type(job.id) is int
    assert isinstance(job.status, str)
    assert isinstance(job.is_finished, bool)
    assert isinstance(job.errors, tuple)
    for moment in (job.created_at, job.updated_at):
        assert moment is None or moment.tzinfo is not None
    if job.destination is not None:
        assert job.destination.dataset_id is None or isinstance(job.destination.dataset_id, str)
        for batch in job.destination.batches:
            assert isinstance(batch.status, tuple)
    if job.filter is not None:
        for segment in job.filter.segments:
            assert isinstance(segment.status, tuple)


def check_success(operation: str, result: object) -> None:
    if operation in ("get", "create"):
        check_job(result)
    elif operation == "list":
        assert isinstance(result, JobPage)
        for job in result.records:
            check_job(job)
        assert result.next_link is None or isinstance(result.next_link, str)
        assert result.next_link != ""
    elif operation == "cancel":
        assert isinstance(result, CancelResult)
        assert isinstance(result.status, bool)
        assert result.message is None or isinstance(result.message, str)
    else:
        assert isinstance(result, list)
        assert result[0].id == 1
        for job in result:
            check_job(job)


def check_decode_outcome(operation: str, outcome: object) -> None:
    """Check that a 200 response gave a typed result or a DecodeError naming the request."""
    if not isinstance(outcome, AepJobsError):
        check_success(operation, outcome)
        return
    if operation == "iterate" and isinstance(outcome, PaginationError):
        return
    assert isinstance(outcome, DecodeError)
    assert outcome.status_code == 200
    assert len(outcome.body_prefix) <= 203
    assert outcome.operation == OPERATION_NAMES[operation]
    assert OPERATION_NAMES[operation] in str(outcome)
    assert "(HTTP 200)" in str(outcome)


def parse_outcome(source: Any) -> ExportJobRequest | RequestValidationError:
    try:
        return parse_export_request(source)
    except RequestValidationError as error:
        return error


def check_parse_outcome(outcome: ExportJobRequest | RequestValidationError) -> None:
    """Check that a parsed request round-trips, or that its error names the field."""
    if isinstance(outcome, ExportJobRequest):
        encoded = encode_request(outcome)
        assert msgspec.json.decode(encoded, type=ExportJobRequest) == outcome
        return
    assert isinstance(outcome.field, str)
    assert outcome.field
    assert str(outcome).startswith(("Invalid ", "Missing "))


async def attempt(call: Awaitable[object]) -> object:
    """Return the call's result, or the aep_jobs error it raised."""
    try:
        return await call
    except AepJobsError as error:
        return error


async def create(server: MockServer, request: Any) -> object:
    with anyio.fail_after(EXAMPLE_TIMEOUT):
        async with make_client(server) as client:
            return await attempt(client.create(request))


def check_create_outcome(request: Any, expected: ExportJobRequest | None) -> None:
    """Create through the client: a valid request is sent as encoded, an invalid one never.

    :param expected: the parsed request, or ``None`` when the request is invalid
    """
    server = MockServer(lambda _: httpx.Response(200, content=GUIDE_CREATE_RESPONSE))

    outcome = anyio.run(create, server, request)

    if expected is not None:
        check_job(outcome)
        assert len(server.requests) == 1
        assert server.requests[0].content == encode_request(expected)
    else:
        assert isinstance(outcome, RequestValidationError)
        assert server.requests == []


def valid_or_none(outcome: ExportJobRequest | RequestValidationError) -> ExportJobRequest | None:
    return outcome if isinstance(outcome, ExportJobRequest) else None


# ---------------------------------------------------------------------------------------------
# Decoding success bodies


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(operation=st.sampled_from(OPERATIONS), body=st.binary(max_size=300))
def test_random_bytes_decode_or_fail_cleanly(operation: str, body: bytes) -> None:
    check_decode_outcome(operation, outcome_of(operation, serve(operation, body)))


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(operation=st.sampled_from(OPERATIONS), document=json_values)
def test_random_json_decodes_or_fails_cleanly(operation: str, document: Any) -> None:
    body = msgspec.json.encode(document)

    check_decode_outcome(operation, outcome_of(operation, serve(operation, body)))


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(data=st.data(), operation=st.sampled_from(OPERATIONS))
def test_mutated_guide_bodies_decode_or_fail(data: st.DataObject, operation: str) -> None:
    document = data.draw(st.sampled_from(SUCCESS_BODIES[operation]))
    body = data.draw(mutated_bodies(data.draw(mutated_documents(document))))

    check_decode_outcome(operation, outcome_of(operation, serve(operation, body)))


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(
    operation=st.sampled_from(OPERATIONS),
    extra_depth=st.integers(0, 2000),
    kind=st.sampled_from(["array", "object"]),
)
def test_deep_nesting_decodes_or_fails_cleanly(operation: str, extra_depth: int, kind: str) -> None:
    # Hypothesis raises the recursion limit while a test runs, so the depth follows the limit
    # in force. The nesting sits in a field that every response type ignores.
    depth = sys.getrecursionlimit() + extra_depth
    body = b'{"id": 1, "records": [], "nested": ' + nested(depth, kind) + b"}"

    check_decode_outcome(operation, outcome_of(operation, serve(operation, body)))


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(creation_time=st.integers(), update_time=st.integers())
def test_any_epoch_millis_convert_or_fail(creation_time: int, update_time: int) -> None:
    body = msgspec.json.encode(
        {"id": JOB_ID, "creationTime": creation_time, "updateTime": update_time}
    )

    check_decode_outcome("get", outcome_of("get", serve("get", body)))


# ---------------------------------------------------------------------------------------------
# Error statuses

error_bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    json_values.map(msgspec.json.encode),
    st.sampled_from([GATEWAY_ERROR, PROBLEM_ERROR])
    .flatmap(mutated_documents)
    .map(msgspec.json.encode),
)


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(
    operation=st.sampled_from(OPERATIONS),
    status=st.integers(400, 599),
    body=error_bodies,
    retry_after=st.none() | retry_after_headers,
)
def test_error_status_raises_matching_api_error(
    operation: str, status: int, body: bytes, retry_after: str | None
) -> None:
    headers = {} if retry_after is None else {"retry-after": retry_after}

    error = outcome_of(operation, serve(operation, body, status, headers))

    unknown = status in RETRYABLE_STATUSES and status not in SAFE_CREATE_STATUSES
    if operation == "create" and unknown:
        # The server may have created the job before failing.
        assert isinstance(error, OutcomeUnknownError)
        error = error.__cause__
    assert isinstance(error, ApiError)
    expected = ServerError if status >= 500 else EXPECTED_ERROR_CLASSES.get(status, ApiError)
    assert type(error) is expected
    assert error.status_code == status
    assert error.message
    assert f"HTTP {status}" in str(error)
    assert error.retry_after is None or (
        math.isfinite(error.retry_after) and error.retry_after >= 0
    )
    if operation == "iterate":
        assert error.cursor == NEXT_OFFSET


# ---------------------------------------------------------------------------------------------
# Validating create requests, list arguments and job ids


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(document=json_values)
def test_random_create_body_validated_before_sending(document: Any) -> None:
    source = document if isinstance(document, dict) else msgspec.json.encode(document)

    parsed = parse_outcome(source)

    check_parse_outcome(parsed)
    check_create_outcome(document, valid_or_none(parsed) if isinstance(document, dict) else None)


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(document=mutated_documents(GUIDE_CREATE_REQUEST, create_texts))
def test_create_mutations_round_trip_or_fail(document: Any) -> None:
    parsed = parse_outcome(document)

    check_parse_outcome(parsed)
    check_create_outcome(document, valid_or_none(parsed))


@settings(PROPERTY_SETTINGS, max_examples=30)
@given(
    path=st.sampled_from(
        [
            ("destination",),
            ("schema",),
            ("filter", "segments", 0),
            ("filter", "segmentQualificationTime"),
            ("additionalFields", "eventList", "filter"),
        ]
    ),
    extra_depth=st.integers(0, 2000),
    key=st.sampled_from(["unknownField", "datasetId", "name", "segmentId", "startTime"]),
)
def test_deeply_nested_create_field_is_rejected(path: JsonPath, extra_depth: int, key: str) -> None:
    # Nested deeper than the recursion limit in force, which Hypothesis raises during a test.
    deep: Any = "x"
    for _ in range(sys.getrecursionlimit() + extra_depth):
        deep = {"a": deep}
    document = copy.deepcopy(GUIDE_CREATE_REQUEST)
    value_at(document, path)[key] = deep

    parsed = parse_outcome(document)

    assert isinstance(parsed, RequestValidationError)
    assert parsed.field.startswith(".".join(str(part) for part in path if isinstance(part, str)))


@settings(PROPERTY_SETTINGS, max_examples=100)
@given(source=json_values.filter(lambda value: not isinstance(value, (dict, str))))
def test_non_mapping_create_source_is_rejected(source: Any) -> None:
    parsed = parse_outcome(source)

    assert isinstance(parsed, RequestValidationError)
    check_parse_outcome(parsed)


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(
    path=st.sampled_from(
        [
            ("destination", "datasetId"),
            ("schema", "name"),
            ("fields",),
            ("mergePolicy", "id"),
            ("filter", "segments", 0, "segmentId"),
            ("filter", "segments", 0, "segmentNs"),
        ]
    ),
    text=user_texts,
)
def test_create_text_fields_encode_or_fail(path: JsonPath, text: str) -> None:
    document = with_value(copy.deepcopy(GUIDE_CREATE_REQUEST), path, text)

    parsed = parse_outcome(document)

    check_parse_outcome(parsed)
    check_parse_outcome(parse_outcome(json.dumps(document, ensure_ascii=False)))
    check_create_outcome(document, valid_or_none(parsed))


list_limits = st.one_of(
    st.none(), st.integers(), st.booleans(), st.floats(), st.text(max_size=5), st.just("10")
)
list_offsets = st.one_of(st.none(), user_texts, st.integers(), st.binary(max_size=5))
list_statuses = st.one_of(
    st.none(),
    st.sampled_from(["NEW", "SUCCEEDED", "FAILED", "PROCESSING", "new", "", " NEW"]),
    st.text(max_size=10),
    st.integers(),
)


async def list_page(server: MockServer, limit: Any, offset: Any, status: Any) -> object:
    with anyio.fail_after(EXAMPLE_TIMEOUT):
        async with make_client(server) as client:
            return await attempt(client.list_page(limit=limit, offset=offset, status=status))


def is_utf8(text: str) -> bool:
    """Check whether text can be encoded as UTF-8 (it has no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(limit=list_limits, offset=list_offsets, status=list_statuses)
def test_list_arguments_validated_before_sending(limit: Any, offset: Any, status: Any) -> None:
    server = MockServer(lambda _: httpx.Response(200, content=EMPTY_PAGE))
    valid = (
        (limit is None or (type(limit) is int and limit >= 1))
        and (offset is None or (isinstance(offset, str) and offset != "" and is_utf8(offset)))
        and status in (None, "NEW", "SUCCEEDED", "FAILED")
    )

    outcome = anyio.run(list_page, server, limit, offset, status)

    if not valid:
        assert isinstance(outcome, RequestValidationError)
        assert outcome.field in ("limit", "offset", "status")
        assert server.requests == []
        return
    assert isinstance(outcome, JobPage)
    assert len(server.requests) == 1
    params = server.requests[0].url.params
    assert params.get("limit") == (None if limit is None else str(limit))
    assert params.get("offset") == offset
    assert params.get("status") == status


job_ids = st.one_of(
    st.integers(),
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
    st.text(max_size=8),
    # Arabic-Indic digits, a trailing space, a sign, an underscore and hexadecimal.
    st.sampled_from(["٧٢٢", "722 ", "-1", "7_22", "0x2d2", ""]),
    st.booleans(),
    st.floats(),
    st.none(),
)


async def get_and_cancel(server: MockServer, job_id: Any) -> tuple[object, object]:
    with anyio.fail_after(EXAMPLE_TIMEOUT):
        async with make_client(server) as client:
            return await attempt(client.get(job_id)), await attempt(client.cancel(job_id))


def respond_to_job_request(request: httpx.Request) -> httpx.Response:
    if request.method == "DELETE":
        return httpx.Response(200, content=GUIDE_CANCEL_RESPONSE)
    return httpx.Response(200, content=GUIDE_CREATE_RESPONSE)


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(job_id=job_ids)
def test_job_ids_validated_before_sending(job_id: Any) -> None:
    server = MockServer(respond_to_job_request)
    # Job ids are 64-bit integers: larger ones are rejected before sending.
    valid = (type(job_id) is int and 0 <= job_id < 2**63) or (
        isinstance(job_id, str)
        and re.fullmatch(r"[0-9]+", job_id, flags=re.ASCII) is not None
        and int(job_id) < 2**63
    )

    got, cancelled = anyio.run(get_and_cancel, server, job_id)

    if not valid:
        assert isinstance(got, RequestValidationError)
        assert isinstance(cancelled, RequestValidationError)
        assert got.field == "job_id"
        assert server.requests == []
        return
    assert isinstance(got, ExportJob)
    assert isinstance(cancelled, CancelResult)
    path = f"{SERVICE_PATH}/export/jobs/{job_id}"
    assert [(request.method, request.url.path) for request in server.requests] == [
        ("GET", path),
        ("DELETE", path),
    ]


# ---------------------------------------------------------------------------------------------
# Timestamps


def request_with_filters(
    *,
    from_ingest: str | None = None,
    window: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Return a minimal valid create request with the given timestamps."""
    export_filter: dict[str, Any] = {}
    if from_ingest is not None:
        export_filter["fromIngestTimestamp"] = from_ingest
    if window is not None:
        export_filter["segmentQualificationTime"] = {"startTime": window[0], "endTime": window[1]}
    return {
        "destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
        "schema": {"name": "_xdm.context.profile"},
        "filter": export_filter,
        "additionalFields": {
            "eventList": {"filter": {"fromIngestTimestamp": from_ingest}},
        },
    }


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(timestamp=rfc3339_timestamps())
def test_rfc3339_timestamps_are_accepted(timestamp: tuple[dt.datetime, str]) -> None:
    text = timestamp[1]

    parsed = parse_outcome(request_with_filters(from_ingest=text))

    assert isinstance(parsed, ExportJobRequest)
    assert parsed.filter is not None
    assert parsed.filter.from_ingest_timestamp == text


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(
    start=rfc3339_timestamps(),
    shift=st.one_of(
        st.integers(-999_999, 999_999).map(lambda micros: dt.timedelta(microseconds=micros)),
        st.timedeltas(min_value=dt.timedelta(seconds=-2), max_value=dt.timedelta(seconds=2)),
        st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=3)),
    ),
    zone=st.sampled_from(
        [
            dt.timezone.utc,
            dt.timezone(dt.timedelta(hours=5, minutes=30)),
            dt.timezone(-dt.timedelta(hours=8)),
        ]
    ),
    data=st.data(),
)
def test_qualification_window_requires_order(
    start: tuple[dt.datetime, str], shift: dt.timedelta, zone: dt.timezone, data: st.DataObject
) -> None:
    start_instant, start_text = start
    end_instant = start_instant + shift
    offset = zone.utcoffset(None)
    end_wall = (end_instant + offset).replace(tzinfo=zone)
    end_text = data.draw(formatted_rfc3339(end_wall, offset))

    parsed = parse_outcome(request_with_filters(window=(start_text, end_text)))

    if start_instant <= end_instant:
        assert isinstance(parsed, ExportJobRequest)
    else:
        assert isinstance(parsed, RequestValidationError)
        assert parsed.field == "filter.segmentQualificationTime"


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(text=near_miss_timestamps())
def test_near_miss_timestamps_are_rejected(text: str) -> None:
    parsed = parse_outcome(request_with_filters(from_ingest=text))

    assert isinstance(parsed, RequestValidationError)
    assert parsed.field == "filter.fromIngestTimestamp"
    assert str(parsed).startswith("Invalid filter.fromIngestTimestamp ")


# ---------------------------------------------------------------------------------------------
# Retry-After


@settings(PROPERTY_SETTINGS, max_examples=500)
@given(value=st.one_of(st.text(max_size=40), retry_after_headers))
def test_retry_after_parses_any_text(value: str) -> None:
    seconds = parse_retry_after(value)

    assert seconds is None or type(seconds) is float
    assert seconds is None or math.isfinite(seconds)
    assert seconds is None or seconds >= 0


# ---------------------------------------------------------------------------------------------
# Pagination

END_LINKS = ("empty", "null", "no_next", "no_link", "null_link")
FOLLOW_LINKS = ("relative", "no_leading_slash", "service_path", "absolute")


@dataclasses.dataclass
class ChainPage:
    """A page of a generated listing, and where its next link points."""

    ids: list[int]
    link_style: str
    target: int


def offset_of(index: int) -> str:
    """Return the cursor of page ``index``, in Adobe's form."""
    return f"{1538573416687 - index}_{index}"


def next_link(style: str, offset: str) -> str:
    if style == "relative":
        return f"/export/jobs/?limit=2&offset={offset}"
    if style == "no_leading_slash":
        return f"export/jobs?offset={offset}"
    if style == "service_path":
        return f"{SERVICE_PATH}/export/jobs?offset={offset}&limit=2"
    return f"{BASE_URL}/export/jobs/?offset={offset}"


def chain_page_body(page: ChainPage) -> bytes:
    body: dict[str, Any] = {"records": [{"id": job_id, "status": "NEW"} for job_id in page.ids]}
    if page.link_style in FOLLOW_LINKS:
        body["link"] = {"next": next_link(page.link_style, offset_of(page.target))}
    elif page.link_style == "empty":
        body["link"] = {"next": ""}
    elif page.link_style == "null":
        body["link"] = {"next": None}
    elif page.link_style == "no_next":
        body["link"] = {}
    elif page.link_style == "null_link":
        body["link"] = None
    return msgspec.json.encode(body)


@st.composite
def page_chains(draw: st.DrawFn) -> list[ChainPage]:
    count = draw(st.integers(1, 8))
    pages = []
    for index in range(count):
        ids = draw(st.lists(st.integers(0, 40), max_size=5))
        style = draw(st.sampled_from(END_LINKS + FOLLOW_LINKS))
        target = draw(st.one_of(st.just(min(index + 1, count - 1)), st.integers(0, count - 1)))
        pages.append(ChainPage(ids, style, target))
    return pages


def expected_listing(pages: list[ChainPage]) -> tuple[list[int], bool]:
    """Return the ids a listing of the chain yields, and whether it ends in PaginationError."""
    seen: set[str] = set()
    ids: list[int] = []
    index = 0
    for _ in range(MAX_PAGES):
        page = pages[index]
        ids.extend(page.ids)
        if not page.ids or page.link_style in END_LINKS:
            return ids, False
        offset = offset_of(page.target)
        if offset in seen:
            return ids, True
        seen.add(offset)
        index = page.target
    return ids, False


def serve_chain(pages: list[ChainPage], status: str | None) -> MockServer:
    bodies = {offset_of(index): chain_page_body(page) for index, page in enumerate(pages)}

    def respond(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert request.url.path in (f"{SERVICE_PATH}/export/jobs", f"{SERVICE_PATH}/export/jobs/")
        assert "limit" in params
        assert params.get("status") == status
        offset = params.get("offset")
        return httpx.Response(200, content=bodies[offset_of(0) if offset is None else offset])

    return MockServer(respond)


async def list_ids(server: MockServer, status: str | None) -> tuple[list[int], AepJobsError | None]:
    """List every job and return the ids received, and the error that ended the listing."""
    ids: list[int] = []
    with anyio.fail_after(EXAMPLE_TIMEOUT):
        async with make_client(server) as client:
            jobs = client.iter_jobs(page_size=2, status=status, max_pages=MAX_PAGES)
            try:
                async for job in jobs:
                    ids.append(job.id)
            except AepJobsError as error:
                return ids, error
    return ids, None


def check_page_chain(pages: list[ChainPage], status: str | None, backend: str) -> None:
    server = serve_chain(pages, status)
    expected_ids, expect_pagination_error = expected_listing(pages)

    ids, error = anyio.run(list_ids, server, status, backend=backend)

    assert ids == expected_ids
    if expect_pagination_error:
        assert isinstance(error, PaginationError)
    else:
        assert error is None
    assert len(server.requests) <= MAX_PAGES


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(pages=page_chains(), status=st.sampled_from([None, "NEW", "FAILED"]))
def test_page_chain_yields_each_sent_job(pages: list[ChainPage], status: str | None) -> None:
    check_page_chain(pages, status, "asyncio")


@settings(PROPERTY_SETTINGS, max_examples=25)
@given(pages=page_chains(), status=st.sampled_from([None, "NEW", "FAILED"]))
def test_page_chain_iterates_on_trio(pages: list[ChainPage], status: str | None) -> None:
    check_page_chain(pages, status, "trio")


def has_authority(text: str) -> bool:
    return "//" in text or "\\" in text


@st.composite
def loopback_links(draw: st.DrawFn) -> str:
    """Generate absolute next links whose hosts are all loopback names, some malformed."""
    scheme = draw(st.sampled_from(["http:", "https:", "HTTP:", "ftp:", ""]))
    host = draw(
        st.one_of(
            st.sampled_from(["127.0.0.1", "localhost", "[::1]", "[::1", "127.0.0.1."]),
            st.from_regex(r"(xn--)?[a-z0-9-]{0,6}", fullmatch=True).map(
                lambda label: f"{label}.localhost"
            ),
        )
    )
    port = draw(st.sampled_from(["", ":8080", ":80", ":443", ":0", ":99999", ":x", ":"]))
    path = draw(st.sampled_from(["", "/", "/export/jobs", "/export/jobs/", SERVICE_PATH]))
    query = draw(st.sampled_from(["", "?offset=", "?offset=x_2", "?limit=0&offset=y"]))
    tail = draw(st.text(max_size=10).filter(lambda text: not has_authority(text)))
    return f"{scheme}//{host}{port}{path}{query}{tail}"


next_links = st.one_of(
    st.text(max_size=40).filter(lambda text: not has_authority(text)),
    loopback_links(),
)


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(link=next_links)
def test_any_next_link_followed_or_rejected(link: str) -> None:
    pages = [
        msgspec.json.encode({"records": [{"id": 1}], "link": {"next": link}}),
        msgspec.json.encode({"records": [{"id": 2}], "link": {"next": ""}}),
    ]

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=pages.pop(0) if len(pages) > 1 else pages[0])

    server = MockServer(respond)

    ids, error = anyio.run(list_ids, server, None)

    assert ids in ([1], [1, 2])
    assert len(server.requests) == len(ids)
    if ids == [1, 2]:
        assert error is None
