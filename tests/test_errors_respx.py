"""Error responses, undecodable bodies and transport failures, as the client reports them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import respx

from aep_jobs import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    ExportJobsClient,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    TransportTimeoutError,
)
from aep_jobs.models import ErrorBody, ProblemItem

pytestmark = pytest.mark.anyio

GATEWAY_ERROR = b'{"error_code": "401013", "message": "Oauth token is not valid"}'

PROBLEM_WITH_ERRORS = (
    b'{"type": "about:blank", "title": "Not Found", "status": 404, '
    b'"detail": "Export job 722 not found", "requestId": "body-request-id", '
    b'"errors": {"404": [{"code": "EXPORT-404", "message": "no export job has id 722"}]}}'
)

PROBLEM_WITHOUT_ERRORS = (
    b'{"type": "about:blank", "title": "Service error", "status": 500, '
    b'"detail": "Export service failed", "requestId": "body-request-id"}'
)

PROXY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    b"<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n"
)


async def get_error(client: ExportJobsClient, job_id: int = 722) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await client.get(job_id)
    return caught.value


async def get_decode_error(operation: Callable[[], Awaitable[object]]) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        await operation()
    return caught.value


# ---------------------------------------------------------------------------------------------
# Status codes and error classes


@pytest.mark.parametrize(
    ("status_code", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (418, ApiError),
        (422, ApiError),
    ],
)
async def test_status_maps_to_error_class(
    client: ExportJobsClient,
    router: respx.MockRouter,
    status_code: int,
    error_class: type[ApiError],
) -> None:
    router.get("/export/jobs/722").respond(status_code, content=PROBLEM_WITHOUT_ERRORS)

    error = await get_error(client)

    assert type(error) is error_class
    assert error.status_code == status_code


# ---------------------------------------------------------------------------------------------
# Gateway error bodies


async def test_gateway_error_fields(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(
        401, content=GATEWAY_ERROR, headers={"x-request-id": "gateway-request-id"}
    )

    error = await get_error(client)

    assert type(error) is AuthenticationError
    assert error.operation == "get export job 722"
    assert error.status_code == 401
    assert error.code == "401013"
    assert error.message == "Oauth token is not valid"
    assert error.request_id == "gateway-request-id"
    assert error.body == ErrorBody(error_code="401013", message="Oauth token is not valid")


async def test_gateway_error_message(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(
        401, content=GATEWAY_ERROR, headers={"x-request-id": "gateway-request-id"}
    )

    error = await get_error(client)

    assert str(error) == (
        "get export job 722 failed: Oauth token is not valid "
        "(HTTP 401, code 401013, request id gateway-request-id)"
    )


@pytest.mark.parametrize(
    ("status_code", "code", "message"),
    [
        (403, "403010", "token missing"),
        (403, "403000", "API key missing"),
        (403, "403003", "API key invalid"),
        (400, "400003", "header missing"),
        (403, "403025", "not entitled"),
        (403, "403027", "user region missing"),
    ],
)
async def test_gateway_error_codes_kept(
    client: ExportJobsClient,
    router: respx.MockRouter,
    status_code: int,
    code: str,
    message: str,
) -> None:
    router.get("/export/jobs/722").respond(
        status_code, json={"error_code": code, "message": message}
    )

    error = await get_error(client)

    assert error.code == code
    assert error.message == message


# ---------------------------------------------------------------------------------------------
# Problem bodies


async def test_problem_with_errors_fields(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(
        404, content=PROBLEM_WITH_ERRORS, headers={"x-request-id": "header-request-id"}
    )

    error = await get_error(client)

    assert type(error) is NotFoundError
    assert error.status_code == 404
    assert error.code == "EXPORT-404"
    assert error.message == "Export job 722 not found"
    assert error.request_id == "body-request-id"
    assert error.body == ErrorBody(
        type="about:blank",
        title="Not Found",
        status=404,
        detail="Export job 722 not found",
        request_id="body-request-id",
        errors={"404": [ProblemItem(code="EXPORT-404", message="no export job has id 722")]},
    )


async def test_problem_with_errors_message(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(404, content=PROBLEM_WITH_ERRORS)

    error = await get_error(client)

    assert str(error) == (
        "get export job 722 failed: Export job 722 not found "
        "(HTTP 404, code EXPORT-404, request id body-request-id)"
    )


async def test_problem_without_errors_has_no_code(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(500, content=PROBLEM_WITHOUT_ERRORS)

    error = await get_error(client)

    assert type(error) is ServerError
    assert error.code is None
    assert error.message == "Export service failed"
    assert error.request_id == "body-request-id"
    assert str(error) == (
        "get export job 722 failed: Export service failed (HTTP 500, request id body-request-id)"
    )


async def test_problem_title_used_without_detail(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(
        400, json={"type": "about:blank", "status": 400, "title": "BadRequestError"}
    )

    error = await get_error(client)

    assert error.message == "BadRequestError"


async def test_request_id_from_header(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(
        503, json={"title": "Service Unavailable"}, headers={"x-request-id": "header-request-id"}
    )

    error = await get_error(client)

    assert error.request_id == "header-request-id"


async def test_request_id_defaults_to_sent_id(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    route = router.get("/export/jobs/722").respond(503, json={"title": "Service Unavailable"})

    error = await get_error(client)

    assert error.request_id == route.calls.last.request.headers["x-request-id"]


# ---------------------------------------------------------------------------------------------
# Empty and non-JSON error bodies


@pytest.mark.parametrize(
    ("status_code", "message"),
    [
        (400, "Bad Request"),
        (404, "Not Found"),
        (418, "I'm a teapot"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ],
)
async def test_empty_error_body_uses_reason_phrase(
    client: ExportJobsClient, router: respx.MockRouter, status_code: int, message: str
) -> None:
    router.get("/export/jobs/722").respond(status_code, content=b"")

    error = await get_error(client)

    assert error.message == message
    assert error.code is None
    assert error.body is None


async def test_html_error_body_quoted(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(
        502, content=PROXY_HTML, headers={"content-type": "text/html", "x-request-id": "proxy-id"}
    )

    error = await get_error(client)

    assert type(error) is ServerError
    assert error.message == f"unexpected error body {PROXY_HTML.decode()!r}"
    assert error.code is None
    assert error.body is None
    assert error.request_id == "proxy-id"


async def test_html_error_message_is_one_line(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(502, content=PROXY_HTML)

    error = await get_error(client)

    assert "\n" not in str(error)
    assert "\r" not in str(error)
    assert str(error).startswith("get export job 722 failed: unexpected error body '<html>")
    assert "(HTTP 502, request id " in str(error)


async def test_json_list_error_body_not_parsed(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(500, content=b'["internal error"]')

    error = await get_error(client)

    assert error.body is None
    assert error.message == "unexpected error body '[\"internal error\"]'"


async def test_long_error_body_quote_bounded(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    body = b"<html>" + b"x" * 10_240 + b"</html>"
    router.get("/export/jobs/722").respond(502, content=body)

    error = await get_error(client)

    assert error.message == f"unexpected error body {(body[:200].decode() + '...')!r}"


# ---------------------------------------------------------------------------------------------
# Rate limits


async def test_retry_after_seconds_parsed(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(
        429,
        json={"error_code": "429050", "message": "Too many requests"},
        headers={"Retry-After": "7"},
    )

    error = await get_error(client)

    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert error.code == "429050"
    assert error.message == "Too many requests"


@pytest.mark.parametrize(
    ("header", "retry_after"),
    [
        (None, None),
        ("0", 0.0),
        ("120", 120.0),
        # An HTTP date in the past means "now".
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
    ],
)
async def test_retry_after_forms(
    client: ExportJobsClient,
    router: respx.MockRouter,
    header: str | None,
    retry_after: float | None,
) -> None:
    headers = {} if header is None else {"Retry-After": header}
    router.get("/export/jobs/722").respond(429, content=b"", headers=headers)

    error = await get_error(client)

    assert isinstance(error, RateLimitError)
    assert error.retry_after == retry_after


@pytest.mark.parametrize("header", ["nan", "inf"])
async def test_retry_after_not_finite_ignored(
    client: ExportJobsClient, router: respx.MockRouter, header: str
) -> None:
    router.get("/export/jobs/722").respond(429, content=b"", headers={"Retry-After": header})

    error = await get_error(client)

    assert isinstance(error, RateLimitError)
    assert error.retry_after is None


# ---------------------------------------------------------------------------------------------
# Errors name the operation


async def test_list_error_names_operation(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").respond(403, content=GATEWAY_ERROR)

    with pytest.raises(PermissionDeniedError) as caught:
        await client.list_page(limit=2)

    assert caught.value.operation == "list export jobs"
    assert str(caught.value).startswith(
        "list export jobs failed: Oauth token is not valid (HTTP 403"
    )


async def test_create_error_names_operation(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.post("/export/jobs").respond(
        400, json={"type": "about:blank", "status": 400, "title": "BadRequestError"}
    )

    with pytest.raises(BadRequestError) as caught:
        await client.create(
            {"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}, "schema": {"name": "_x"}}
        )

    assert caught.value.operation == "create export job"
    assert str(caught.value).startswith("create export job failed: BadRequestError (HTTP 400")


async def test_cancel_error_names_operation(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.delete("/export/jobs/722").respond(404, content=PROBLEM_WITH_ERRORS)

    with pytest.raises(NotFoundError) as caught:
        await client.cancel(722)

    assert caught.value.operation == "cancel export job 722"
    assert str(caught.value) == (
        "cancel export job 722 failed: Export job 722 not found "
        "(HTTP 404, code EXPORT-404, request id body-request-id)"
    )


# ---------------------------------------------------------------------------------------------
# Bodies that are not JSON, or JSON of another shape


async def test_guide_trailing_comma_body_raises(
    client: ExportJobsClient, router: respx.MockRouter, guide_create_response_invalid: bytes
) -> None:
    router.post("/export/jobs").respond(200, content=guide_create_response_invalid)

    error = await get_decode_error(
        lambda: client.create(
            {"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}, "schema": {"name": "_x"}}
        )
    )

    assert error.operation == "create export job"
    assert error.status_code == 200
    assert error.reason.startswith("not valid JSON: ")
    assert "trailing comma" in error.reason
    assert error.body_prefix == guide_create_response_invalid[:200].decode() + "..."


async def test_decode_error_message_names_request(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(200, content=b"<html>Gateway login</html>")

    error = await get_decode_error(lambda: client.get(722))

    assert str(error) == (
        "Could not decode the response to get export job 722 (HTTP 200): not valid JSON: "
        "JSON is malformed: invalid character (byte 0); "
        "body starts with '<html>Gateway login</html>'"
    )


async def test_truncated_page_body_raises(
    client: ExportJobsClient, router: respx.MockRouter, guide_list_page: bytes
) -> None:
    router.get("/export/jobs").respond(200, content=guide_list_page[:500])

    error = await get_decode_error(lambda: client.list_page(limit=2))

    assert error.operation == "list export jobs"
    assert error.status_code == 200
    assert error.reason == "not valid JSON: Input data was truncated"


async def test_truncated_job_body_raises(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(200, content=b'{"id": 722, "status": "SUCC')

    error = await get_decode_error(lambda: client.get(722))

    assert error.operation == "get export job 722"
    assert error.reason == "not valid JSON: Input data was truncated"
    assert error.body_prefix == '{"id": 722, "status": "SUCC'


async def test_empty_job_body_raises(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(200, content=b"")

    error = await get_decode_error(lambda: client.get(722))

    assert error.operation == "get export job 722"
    assert error.status_code == 200


async def test_empty_page_body_raises(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs").respond(200, content=b"")

    error = await get_decode_error(lambda: client.list_page())

    assert error.operation == "list export jobs"
    assert error.reason == "the body is empty, a JSON object was expected"


async def test_empty_create_body_raises(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.post("/export/jobs").respond(200, content=b"")

    error = await get_decode_error(
        lambda: client.create(
            {"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"}, "schema": {"name": "_x"}}
        )
    )

    assert error.operation == "create export job"
    assert error.reason == "the body is empty, a JSON object was expected"


async def test_decode_error_quote_bounded(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    body = b"<!DOCTYPE html>" + b"y" * 10_240
    router.get("/export/jobs/722").respond(200, content=body)

    error = await get_decode_error(lambda: client.get(722))

    assert error.body_prefix == body[:200].decode() + "..."
    assert len(error.body_prefix) == 203
    assert str(error).endswith(f"body starts with {error.body_prefix!r}")


async def test_list_body_shape_raises(client: ExportJobsClient, router: respx.MockRouter) -> None:
    router.get("/export/jobs/722").respond(200, content=b'[{"id": 722}]')

    error = await get_decode_error(lambda: client.get(722))

    assert error.operation == "get export job 722"
    assert error.reason == "unexpected shape: Expected `object`, got `array`"


async def test_records_string_shape_raises(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").respond(200, content=b'{"records": "x"}')

    error = await get_decode_error(lambda: client.list_page())

    assert error.operation == "list export jobs"
    assert error.reason == "unexpected shape: Expected `array`, got `str` - at `$.records`"


async def test_string_job_id_shape_raises(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").respond(200, content=b'{"id": "abc"}')

    error = await get_decode_error(lambda: client.get(722))

    assert error.operation == "get export job 722"
    assert error.reason == "unexpected shape: Expected `int`, got `str` - at `$.id`"


async def test_page_without_records_raises(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").respond(200, content=b'{"id": "abc"}')

    error = await get_decode_error(lambda: client.list_page())

    assert error.operation == "list export jobs"
    assert error.status_code == 200


async def test_cancel_body_not_json_raises(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.delete("/export/jobs/722").respond(200, content=b"cancelled")

    error = await get_decode_error(lambda: client.cancel(722))

    assert error.operation == "cancel export job 722"
    assert error.reason.startswith("not valid JSON: ")


# ---------------------------------------------------------------------------------------------
# Transport failures


async def test_connect_error_is_transport_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(TransportError) as caught:
        await client.get(722)

    assert type(caught.value) is TransportError
    assert caught.value.operation == "get export job 722"
    assert (
        str(caught.value)
        == "get export job 722 failed: ConnectError: connection refused (platform.adobe.io)"
    )


async def test_read_timeout_is_timeout_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs/722").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(TransportTimeoutError) as caught:
        await client.get(722)

    assert caught.value.operation == "get export job 722"
    assert str(caught.value) == (
        "get export job 722 failed: timed out (ReadTimeout); "
        "platform.adobe.io did not respond in time"
    )


async def test_connect_timeout_is_timeout_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.get("/export/jobs").mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(TransportTimeoutError) as caught:
        await client.list_page()

    assert caught.value.operation == "list export jobs"


async def test_read_error_is_transport_error(
    client: ExportJobsClient, router: respx.MockRouter
) -> None:
    router.delete("/export/jobs/722").mock(side_effect=httpx.ReadError("connection reset"))

    with pytest.raises(TransportError) as caught:
        await client.cancel(722)

    assert type(caught.value) is TransportError
    assert (
        str(caught.value)
        == "cancel export job 722 failed: ReadError: connection reset (platform.adobe.io)"
    )
