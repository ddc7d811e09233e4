"""Async client for the Adobe Experience Platform export jobs API.

Everything public is importable from here; submodules whose names start with an underscore
are private.
"""

import logging

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
    ClientClosedError,
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
    ComputeGatewayJobId,
    Destination,
    ErrorBody,
    EvaluationInfo,
    EventFilter,
    EventList,
    ExportFilter,
    ExportJob,
    ExportJobRequest,
    JobDestination,
    JobError,
    JobFilter,
    JobMetrics,
    JobPage,
    JobSegment,
    JobStatus,
    MergePolicy,
    PageInfo,
    PageLinks,
    QualificationTime,
    SchemaRef,
    SegmentBatch,
    SegmentFilter,
    SegmentStatus,
    TimingMetric,
    decoder_for,
)
from .pagination import JobIterator, PageIterator
from .retry import RETRYABLE_STATUSES, RetryBudget, RetryPolicy

__version__ = "0.1.0"

# A library leaves output to the application: without this, Python would print the warnings
# of a program that configured no logging to standard error.
logging.getLogger("aep_jobs").addHandler(logging.NullHandler())

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
    "ClientClosedError",
    "ComputeGatewayJobId",
    "ConfigurationError",
    "DecodeError",
    "Destination",
    "ErrorBody",
    "EvaluationInfo",
    "EventFilter",
    "EventList",
    "ExportFilter",
    "ExportJob",
    "ExportJobRequest",
    "ExportJobsClient",
    "JobDestination",
    "JobError",
    "JobFilter",
    "JobIterator",
    "JobMetrics",
    "JobPage",
    "JobSegment",
    "JobStatus",
    "MergePolicy",
    "NotFoundError",
    "OutcomeUnknownError",
    "PageInfo",
    "PageIterator",
    "PageLinks",
    "PaginationError",
    "PermissionDeniedError",
    "QualificationTime",
    "RateLimitError",
    "RequestValidationError",
    "RetryBudget",
    "RetryPolicy",
    "SchemaRef",
    "SegmentBatch",
    "SegmentFilter",
    "SegmentStatus",
    "ServerError",
    "Settings",
    "StaticToken",
    "TimingMetric",
    "TokenProvider",
    "TransportError",
    "TransportTimeoutError",
    "decoder_for",
    "parse_export_request",
]
