"""The one private HTTP layer of the provider: what to send (:mod:`.messages`), when to retry
(:mod:`.retry`), how long and how much an attempt may take (:mod:`.bounds`), how fast a gateway may be called (:mod:`.ratelimit`, :mod:`.pacing`), and the sync and async
transports that apply all of it (:mod:`.transport`)."""

from airflow_provider_wfcancel._http.messages import (
    ApiRequest,
    ApiResponse,
    Authenticator,
    ResponseClassifier,
)
from airflow_provider_wfcancel._http.retry import (
    RetryPolicy,
    is_retryable,
    parse_retry_after,
)
from airflow_provider_wfcancel._http.settings import DEFAULT_MAX_RESPONSE_BYTES, HttpSettings
from airflow_provider_wfcancel._http.transport import (
    MAX_CONCURRENT_ASYNC_REQUESTS,
    MAX_CONCURRENT_SYNC_REQUESTS,
    USER_AGENT,
    AsyncTransport,
    SyncTransport,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_CONCURRENT_ASYNC_REQUESTS",
    "MAX_CONCURRENT_SYNC_REQUESTS",
    "USER_AGENT",
    "ApiRequest",
    "ApiResponse",
    "AsyncTransport",
    "Authenticator",
    "HttpSettings",
    "ResponseClassifier",
    "RetryPolicy",
    "SyncTransport",
    "is_retryable",
    "parse_retry_after",
]
