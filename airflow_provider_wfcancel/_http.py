"""The HTTP policy shared by every hook: timeouts, TLS, retries, connection reuse, error mapping.

Both services go through :class:`SyncTransport` (requests) or :class:`AsyncTransport` (httpx). The two
loops are deliberately tiny; every decision (what is retryable, how long to wait, when to give up,
which error to raise) lives in :class:`RetryPolicy` and :func:`error_for_response`, so sync and async
code cannot drift apart.

Requests carry their body as bytes that are sent verbatim, so a signer (EnOS) sees exactly the bytes on
the wire; authentication headers are computed per attempt by an :class:`Authenticator`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import ssl
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from airflow_provider_wfcancel import __version__
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    CertificateVerificationError,
    RateLimitedError,
    TransientError,
    WfCancelError,
    error_for_response,
)

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-wfcancel/{__version__}"
# The waits between attempts; module attributes so tests can record them instead of sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep
RETRYABLE_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
# Statuses that say the request was not processed, so even a non-idempotent request may be resent.
NOT_PROCESSED_STATUS_CODES = frozenset({429, 503})
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``Retry-After`` wins when the server sends it."""

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_elapsed: float = 60.0
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number ``attempt`` (1-based), jittered to 50-100 %."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def next_delay(self, *, attempt: int, elapsed: float, retry_after: str | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` when the budget is spent.

        ``Retry-After`` (capped) replaces the backoff; a wait that would cross ``max_elapsed`` is not taken.
        """
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt)
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            delay = min(hinted, self.retry_after_cap)
        if elapsed + delay > self.max_elapsed:
            return None
        return delay


def is_retryable(
    *,
    status_code: int | None = None,
    transport_error: Exception | None = None,
    transient_error: bool = False,
    idempotent: bool = True,
) -> bool:
    """The one retry predicate.

    Retried: connection errors and timeouts, HTTP 429 and 500/502/503/504, and service errors a
    classifier marked transient (EnOS 62109). Never: any other status. A non-idempotent request is
    resent only when the failure proves the server did not act on it (connect errors, 429, 503).
    """
    if transport_error is not None:
        return is_retryable_transport_error(transport_error, idempotent=idempotent)
    if transient_error:
        return idempotent
    if status_code in RETRYABLE_STATUS_CODES:
        return idempotent or status_code in NOT_PROCESSED_STATUS_CODES
    return False


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now; it may be delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def is_retryable_transport_error(error: Exception, *, idempotent: bool = True) -> bool:
    """Connection failures and timeouts of either library are retryable.

    A non-idempotent request is resent only when the connection was never made, because a read
    timeout or a dropped response may hide a request the server already applied.
    """
    import requests

    if rejected_certificate(error) is not None:
        return False
    if never_reached_server(error):
        return True
    return idempotent and isinstance(
        error,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError
        | httpx.TransportError,
    )


def rejected_certificate(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate failure behind a transport error of either library, if that is what it was: a
    retry cannot fix it, only the connection's ``ca_bundle`` (or ``verify_ssl``) can."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def never_reached_server(error: BaseException) -> bool:
    import requests
    import urllib3

    if isinstance(error, requests.exceptions.ConnectTimeout | httpx.ConnectError | httpx.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.exceptions.ConnectionError) and isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class HttpSettings:
    """Transport options parsed from a connection's extras."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    verify: bool | str = True
    retry: RetryPolicy = field(default_factory=lambda: DEFAULT_RETRY_POLICY)


@dataclass
class ApiRequest:
    """One logical request. ``params`` keep their order; ``body`` is sent byte for byte."""

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    # Out of repr: a token request's body and an auth header are secrets.
    body: bytes | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    idempotent: bool = True

    @classmethod
    def with_json(cls, method: str, url: str, payload: Any, **kwargs: Any) -> ApiRequest:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json;charset=UTF-8", **kwargs.pop("headers", {})}
        return cls(method, url, body=body, headers=headers, **kwargs)

    @property
    def display_url(self) -> str:
        """The URL with its query, for logs and errors; this provider puts no secret in a URL."""
        return str(httpx.URL(self.url, params=self.params)) if self.params else self.url

    def describe(self) -> str:
        return f"{self.method} {self.display_url}"


@dataclass(frozen=True)
class ApiResponse:
    status_code: int
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)  # a token response carries the access token
    request: ApiRequest
    service: str | None = None
    #: An earlier attempt of this request may have been applied although its answer was lost (a read
    #: timeout, a dropped connection, 500/502/504): a cancel then sees the instance already cancelled.
    earlier_attempt_may_have_applied: bool = False

    @property
    def request_id(self) -> str | None:
        for name in REQUEST_ID_HEADERS:
            if value := self.headers.get(name):
                return value
        return None

    def json(self) -> Any:
        """The body as JSON, or :class:`ApiError` naming the request when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            raise self.error("the response is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or :class:`ApiError`."""
        body = self.json()
        if not isinstance(body, dict):
            raise self.error("expected a JSON object")
        return body

    def error(self, message: str) -> ApiError:
        """An :class:`ApiError` about this response (unreadable or unexpected content)."""
        return ApiError(
            message,
            service=self.service,
            method=self.request.method,
            url=self.request.display_url,
            status_code=self.status_code,
            request_id=self.request_id,
            body=self.content,
        )


# Turns a 2xx response that carries a service error (EnOS: non-zero ``code``) into that error.
ResponseClassifier = Callable[["ApiResponse"], "WfCancelError | None"]


class Authenticator(Protocol):
    """Adds credentials to each attempt; called again for every retry (signatures are per attempt)."""

    def headers(self, request: ApiRequest) -> dict[str, str]: ...

    async def aheaders(self, request: ApiRequest) -> dict[str, str]: ...


class _Attempts:
    """Bookkeeping shared by the sync and async loops: counts attempts, decides, and builds errors."""

    def __init__(self, service: str, request: ApiRequest, policy: RetryPolicy) -> None:
        self.service = service
        self.request = request
        self.policy = policy
        self.attempt = 0
        self.started = time.monotonic()
        self.earlier_attempt_may_have_applied = False

    def begin(self) -> None:
        self.attempt += 1

    def response(self, status_code: int, headers: Mapping[str, str], content: bytes) -> ApiResponse:
        """This attempt's answer, knowing whether an earlier attempt may already have been applied."""
        return ApiResponse(
            status_code, headers, content, self.request, self.service, self.earlier_attempt_may_have_applied
        )

    def after_error(self, error: Exception) -> float:
        """Delay before retrying after a transport error; raises :class:`TransientError` when done."""
        if (certificate_error := rejected_certificate(error)) is not None:
            raise CertificateVerificationError(
                f"{self.service} presented a TLS certificate this machine does not trust "
                f"({certificate_error.verify_message or certificate_error.reason}); for a private CA set the "
                "connection's ca_bundle extra to its PEM file",
                service=self.service,
                method=self.request.method,
                url=self.request.display_url,
            ) from error
        delay = self._delay(transport_error=error)
        if delay is None:
            raise TransientError(
                f"{self.service} could not be reached ({type(error).__name__}) after {self.attempt} attempt(s)",
                service=self.service,
                method=self.request.method,
                url=self.request.display_url,
            ) from error
        self._log_retry(type(error).__name__, delay)
        if not never_reached_server(error):
            self.earlier_attempt_may_have_applied = True
        return delay

    def after_response(
        self, response: ApiResponse, classify: ResponseClassifier | None = None
    ) -> float | None:
        """``None`` when the response is final and successful; a delay to retry; raises when final."""
        error: WfCancelError | None = None
        if 200 <= response.status_code < 300:
            error = classify(response) if classify is not None else None
            if error is None:
                return None
            delay = self._delay(transient_error=isinstance(error, TransientError))
        else:
            delay = self._delay(
                status_code=response.status_code, retry_after=response.headers.get("retry-after")
            )
        if delay is None:
            if error is None:
                error = error_for_response(
                    service=self.service,
                    method=self.request.method,
                    url=self.request.display_url,
                    status_code=response.status_code,
                    body=response.content,
                    request_id=response.request_id,
                )
            if isinstance(error, TransientError | RateLimitedError) and self.attempt > 1:
                error.message += f" after {self.attempt} attempts"
            error.earlier_attempt_may_have_applied = self.earlier_attempt_may_have_applied
            raise error
        reason = (
            f"HTTP {response.status_code}"
            if error is None
            else f"{error.service_code} {error.service_message}"
        )
        self._log_retry(reason, delay)
        if response.status_code >= 300 and response.status_code not in NOT_PROCESSED_STATUS_CODES:
            self.earlier_attempt_may_have_applied = True
        return delay

    def _delay(
        self,
        *,
        status_code: int | None = None,
        transport_error: Exception | None = None,
        transient_error: bool = False,
        retry_after: str | None = None,
    ) -> float | None:
        if not is_retryable(
            status_code=status_code,
            transport_error=transport_error,
            transient_error=transient_error,
            idempotent=self.request.idempotent,
        ):
            return None
        elapsed = time.monotonic() - self.started
        return self.policy.next_delay(attempt=self.attempt, elapsed=elapsed, retry_after=retry_after)

    def _log_retry(self, reason: str, delay: float) -> None:
        log.warning(
            "%s %s answered %s; retrying in %.2f s (attempt %d of at most %d)",
            self.service,
            self.request.describe(),
            reason,
            delay,
            self.attempt + 1,
            self.policy.max_attempts,
        )


def _timeout_tuple(settings: HttpSettings) -> tuple[float, float]:
    return (settings.connect_timeout, settings.read_timeout)


class SyncTransport:
    """requests-based client with pooled connections; safe to share between threads for bulk work.

    requests is imported where it is used, not at module level: it would add ~45 ms to every DAG file
    that imports an operator, and only running tasks need it (triggers use httpx).
    """

    def __init__(self, service: str, settings: HttpSettings, *, pool_size: int = 32) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.service = service
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def send(
        self,
        request: ApiRequest,
        auth: Authenticator | None = None,
        classify: ResponseClassifier | None = None,
    ) -> ApiResponse:
        import requests

        attempts = _Attempts(self.service, request, self.settings.retry)
        while True:
            attempts.begin()
            headers = dict(request.headers)
            if auth is not None:
                headers.update(auth.headers(request))
            try:
                raw = self.session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    data=request.body,
                    headers=headers,
                    timeout=_timeout_tuple(self.settings),
                    verify=self.settings.verify,
                    allow_redirects=False,
                )
                response = attempts.response(raw.status_code, raw.headers, raw.content)
            except requests.exceptions.RequestException as error:
                _sleep(attempts.after_error(error))
                continue
            delay = attempts.after_response(response, classify)
            if delay is None:
                return response
            _sleep(delay)

    def close(self) -> None:
        self.session.close()


# One httpx client per event loop and settings, so thousands of triggers share a connection pool.
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[Any, ...], httpx.AsyncClient]
] = weakref.WeakKeyDictionary()

#: HTTP exchanges in flight per event loop (per triggerer), shared by every trigger of this provider. It
#: bounds the burst a busy triggerer sends when its triggers start together, and keeps httpx's pool queue
#: short: httpcore re-scans every queued request against every connection each time one finishes, so
#: 1,000 simultaneous requests on a 100-connection pool cost seconds of CPU. A waiting request is only
#: delayed; backoff sleeps and auth run outside the slot.
MAX_CONCURRENT_ASYNC_REQUESTS = 32
_async_request_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _async_request_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _async_request_slots.get(loop)
    if slots is None:
        slots = _async_request_slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_ASYNC_REQUESTS)
    return slots


def _shared_async_client(settings: HttpSettings) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    key = (settings.connect_timeout, settings.read_timeout, settings.verify)
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            # httpx takes a CA bundle as an SSL context (a path is deprecated)
            verify=(
                ssl.create_default_context(cafile=settings.verify)
                if isinstance(settings.verify, str)
                else settings.verify
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            follow_redirects=False,
        )
        per_loop[key] = client
    return client


class AsyncTransport:
    """httpx-based twin of :class:`SyncTransport` for triggers; same policy, same errors."""

    def __init__(self, service: str, settings: HttpSettings) -> None:
        self.service = service
        self.settings = settings

    async def send(
        self,
        request: ApiRequest,
        auth: Authenticator | None = None,
        classify: ResponseClassifier | None = None,
    ) -> ApiResponse:
        client = _shared_async_client(self.settings)
        attempts = _Attempts(self.service, request, self.settings.retry)
        while True:
            attempts.begin()
            headers = dict(request.headers)
            if auth is not None:
                headers.update(await auth.aheaders(request))
            try:
                async with _async_request_slot():
                    raw = await client.request(
                        request.method,
                        request.url,
                        params=request.params or None,
                        content=request.body,
                        headers=headers,
                    )
                response = attempts.response(raw.status_code, raw.headers, raw.content)
            except httpx.TransportError as error:
                await _asleep(attempts.after_error(error))
                continue
            delay = attempts.after_response(response, classify)
            if delay is None:
                return response
            await _asleep(delay)
