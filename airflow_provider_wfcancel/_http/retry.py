"""When to retry, and how long to wait: one policy and one predicate for both services and both transports."""

from __future__ import annotations

import email.utils
import random
import ssl
import time
from dataclasses import dataclass

import httpx

RETRYABLE_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
# Statuses that say the request was not processed, so even a non-idempotent request may be resent.
NOT_PROCESSED_STATUS_CODES = frozenset({429, 503})


class AttemptDeadlineExceeded(Exception):
    """One attempt ran out of wall-clock time; treated like a read timeout (the server may have acted)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``Retry-After`` wins when the server sends it.

    ``max_elapsed`` bounds the whole request, attempts included: an attempt never runs past it.
    """

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


DEFAULT_RETRY_POLICY = RetryPolicy()


def is_retryable(
    *,
    status_code: int | None = None,
    transport_error: Exception | None = None,
    transient_error: bool = False,
    idempotent: bool = True,
) -> bool:
    """The one retry predicate.

    Retried: connection errors and timeouts (an attempt that ran out of time included), HTTP 429 and
    500/502/503/504, and service errors a classifier marked transient (EnOS 62109). Never: any other
    status. A non-idempotent request is resent only when the failure proves the server did not act on it
    (connect errors, 429, 503).
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
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no hint
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
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
        | httpx.TransportError
        | AttemptDeadlineExceeded,
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
