"""Async client for the Adobe Experience Platform export jobs API.

Everything public is importable from here; submodules whose names start with an underscore
are private.
"""

from ._validation import parse_export_request
from .auth import StaticToken, TokenProvider
from .client import ExportJobsClient
from .config import (
    DEFAULT_DEADLINE,
    DEFAULT_PAGE_SIZE,
    DEFAULT_TIMEOUT,
    ENVIRONMENT_VARIABLES,
    PRODUCTION_BASE_URL,
    STAGE_BASE_URL,
    Settings,
)
from .errors import (
    AepJobsError,
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DecodeError,
    NotFoundError,
    OutcomeUnknownError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
    TransportTimeoutError,
)
from .models import (
    AdditionalFields,
    CancelResult,
    Destination,
    EvaluationInfo,
    EventFilter,
    EventList,
    ExportFilter,
    ExportJob,
    ExportJobRequest,
    JobPage,
    JobStatus,
    MergePolicy,
    QualificationTime,
    SchemaRef,
    SegmentFilter,
    SegmentStatus,
    decoder_for,
)
from .pagination import JobIterator, PageIterator
from .retry import RETRYABLE_STATUSES, RetryBudget, RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENT_VARIABLES",
    "PRODUCTION_BASE_URL",
    "RETRYABLE_STATUSES",
    "STAGE_BASE_URL",
    "AdditionalFields",
    "AepJobsError",
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "CancelResult",
    "ConfigurationError",
    "DecodeError",
    "Destination",
    "EvaluationInfo",
    "EventFilter",
    "EventList",
    "ExportFilter",
    "ExportJob",
    "ExportJobRequest",
    "ExportJobsClient",
    "JobIterator",
    "JobPage",
    "JobStatus",
    "MergePolicy",
    "NotFoundError",
    "OutcomeUnknownError",
    "PageIterator",
    "PaginationError",
    "PermissionDeniedError",
    "QualificationTime",
    "RateLimitError",
    "RequestValidationError",
    "RetryBudget",
    "RetryPolicy",
    "SchemaRef",
    "SegmentFilter",
    "SegmentStatus",
    "ServerError",
    "Settings",
    "StaticToken",
    "TokenProvider",
    "TransportError",
    "TransportTimeoutError",
    "decoder_for",
    "parse_export_request",
]
