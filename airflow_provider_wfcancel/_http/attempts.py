"""What the sync and async loops share: counting attempts, deciding (with :mod:`.retry`), building errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from airflow_provider_wfcancel._http import ratelimit, retry
from airflow_provider_wfcancel._http.messages import ApiRequest, ApiResponse, ResponseClassifier
from airflow_provider_wfcancel._http.retry import NOT_PROCESSED_STATUS_CODES, AttemptDeadlineExceeded
from airflow_provider_wfcancel._http.settings import HttpSettings
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    CertificateVerificationError,
    DeadlineExceededError,
    RateLimitedError,
    ResponseTooLargeError,
    TransientError,
    UnexpectedError,
    WfCancelError,
)

log = logging.getLogger("airflow_provider_wfcancel._http.transport")
#: An attempt near the end of the retry budget still gets this long.
MIN_ATTEMPT_SECONDS = 1.0


class Attempts:
    """Bookkeeping shared by the sync and async loops: counts attempts, decides, and builds errors."""

    def __init__(self, service: str, request: ApiRequest, settings: HttpSettings) -> None:
        self.service = service
        self.request = request
        self.settings = settings
        self.policy = settings.retry
        self.attempt = 0
        self.started = time.monotonic()
        self.earlier_attempt_may_have_applied = False

    def begin(self) -> float:
        """Start the next attempt; returns how long it may take (the retry budget bounds it too)."""
        self.attempt += 1
        budget = self.policy.max_elapsed - (time.monotonic() - self.started)
        return max(MIN_ATTEMPT_SECONDS, min(self.settings.attempt_seconds, budget))

    def response(
        self, status_code: int, headers: Mapping[str, str], content: bytes, secrets: tuple[str, ...]
    ) -> ApiResponse:
        """This attempt's answer, knowing whether an earlier attempt may already have been applied."""
        return ApiResponse(
            status_code,
            headers,
            content,
            self.request,
            self.service,
            self.earlier_attempt_may_have_applied,
            secrets,
        )

    def record(self, limiter: ratelimit.GatewayLimiter | None, sent_at: float, response: ApiResponse) -> None:
        """Tell the gateway's limiter how this attempt was answered (a throttle pauses every request)."""
        if limiter is not None:
            limiter.record(
                sent_at,
                response.status_code,
                response.headers.get("retry-after"),
                self.policy.retry_after_cap,
            )
            if limiter.learned is not None and (found := limiter.take_found()) is not None:
                limiter.learned.save(found)  # a few hundred bytes, now and then: not worth a thread

    def _fields(self) -> dict[str, Any]:
        return {"service": self.service, "method": self.request.method, "url": self.request.display_url}

    def past_deadline(self) -> NoReturn:
        """The gateway's limiter would hold the next attempt past the caller's deadline (a bulk cancel's)."""
        raise RateLimitedError(
            f"{self.service} is throttling this gateway; the next attempt would start after the deadline",
            earlier_attempt_may_have_applied=self.earlier_attempt_may_have_applied,
            **self._fields(),
        )

    def too_large(self, size: int, status_code: int) -> NoReturn:
        raise ResponseTooLargeError(
            f"{self.service} answered with more than {self.settings.max_response_bytes} bytes "
            f"({size} seen; raise the connection's max_response_bytes extra if this answer is expected)",
            status_code=status_code,
            earlier_attempt_may_have_applied=self.earlier_attempt_may_have_applied,
            **self._fields(),
        )

    def undecodable(self, error: Exception) -> NoReturn:
        raise ApiError(
            f"{self.service} answered with a body that could not be decoded ({str(error)[:200] or type(error).__name__})",
            **self._fields(),
        ) from error

    def unexpected(self, error: Exception) -> NoReturn:
        text = str(error)
        raise UnexpectedError(
            f"{self.service} request failed on this machine with {type(error).__name__}"
            + (f": {text[:200]}" if text else ""),
            earlier_attempt_may_have_applied=self.earlier_attempt_may_have_applied,
            **self._fields(),
        ) from error

    def after_error(self, error: Exception, seconds: float) -> float:
        """Delay before retrying after a transport error; raises the final error when done."""
        if (certificate_error := retry.rejected_certificate(error)) is not None:
            raise CertificateVerificationError(
                f"{self.service} presented a TLS certificate this machine does not trust "
                f"({certificate_error.verify_message or certificate_error.reason}); for a private CA set the "
                "connection's ca_bundle extra to its PEM file",
                **self._fields(),
            ) from error
        delay = self._delay(transport_error=error)
        if delay is None:
            if isinstance(error, AttemptDeadlineExceeded):
                raise DeadlineExceededError(
                    f"{self.service} did not send its whole answer within {seconds:g} s "
                    f"(connect, headers and body together) after {self.attempt} attempt(s)",
                    earlier_attempt_may_have_applied=True,
                    **self._fields(),
                ) from error
            raise TransientError(
                f"{self.service} could not be reached ({type(error).__name__}) after {self.attempt} attempt(s)",
                earlier_attempt_may_have_applied=self.earlier_attempt_may_have_applied,
                **self._fields(),
            ) from error
        self._log_retry(type(error).__name__, delay)
        if not retry.never_reached_server(error):
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
                error = response.error(self._status_message(response))
            if isinstance(error, TransientError | RateLimitedError) and self.attempt > 1:
                error = error.replace(message=f"{error.message} after {self.attempt} attempts")
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

    def _status_message(self, response: ApiResponse) -> str | None:
        if 300 <= response.status_code < 400:
            location = response.headers.get("location", "")[:200]
            return (
                f"{self.service} answered with a redirect to {location!r}; redirects are not followed "
                "(is the host right, with https?)"
            )
        return None  # the status decides

    def _delay(
        self,
        *,
        status_code: int | None = None,
        transport_error: Exception | None = None,
        transient_error: bool = False,
        retry_after: str | None = None,
    ) -> float | None:
        if not retry.is_retryable(
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
