"""One error hierarchy for both services.

Every error that comes from an HTTP exchange carries the method, the URL (never with secrets: the
provider puts none in URLs), the HTTP status, the service's own error code and message, the request
id when the service sent one, and a short, redacted excerpt of the body; its text passes through
Airflow's secrets masker. ``error_for_response`` maps HTTP statuses to classes; a service adapter
passes ``error_class`` for its own error codes (EnOS' HTTP-200 errors) and the HTTP layer raises
:class:`CertificateVerificationError` or :class:`TransientError` for transport failures.
"""

from __future__ import annotations

import re
from typing import Any

from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import redact  # type: ignore[attr-defined]  # public, but not in a typed __all__

_BODY_EXCERPT_CHARS = 300
# Values of JSON keys (or headers) whose names look secret are blanked in body excerpts.
_SECRET_KEY_PATTERN = re.compile(
    r'("?(?:[A-Za-z_-]*(?:token|secret|signature|password|encryption|authorization)[A-Za-z_-]*)"?\s*[:=]\s*)'
    r'("(?:[^"\\]|\\.)*"|[^,&}\s]+)',
    re.IGNORECASE,
)


def redact_body(body: str | bytes | None, limit: int = _BODY_EXCERPT_CHARS) -> str:
    """A short excerpt of a response body with secrets blanked: values of secret-looking keys, and
    every value registered with Airflow's secrets masker (a server may echo a token back)."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = _SECRET_KEY_PATTERN.sub(r'\1"***"', text)
    text = str(redact(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class WfCancelError(AirflowException):
    """Base class of every error raised by this provider."""

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        method: str | None = None,
        url: str | None = None,
        status_code: int | None = None,
        service_code: str | int | None = None,
        service_message: str | None = None,
        request_id: str | None = None,
        body: str | bytes | None = None,
    ) -> None:
        self.message = message
        self.service = service
        self.method = method
        self.url = url
        self.http_status = status_code
        self.service_code = service_code
        self.service_message = service_message
        self.request_id = request_id
        self.body_excerpt = redact_body(body)
        #: Set by the HTTP layer: an earlier attempt of the failed request may have been applied (answer lost).
        self.earlier_attempt_may_have_applied = False
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.method and self.url:
            parts.append(f"request: {self.method} {self.url}")
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.service_code is not None:
            parts.append(
                f"{self.service or 'service'} code {self.service_code}: {self.service_message or ''}".rstrip()
            )
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.body_excerpt and self.service_code is None:
            parts.append(f"body: {self.body_excerpt}")
        # The service's message (or ours, quoting an input) may echo a registered secret.
        return str(redact("; ".join(parts)))

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(redact(self.message))!r}, status_code={self.http_status!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (Airflow and ThreadPoolExecutor may copy them across boundaries).
        return (_rebuild_error, (type(self), self.message, self._fields()))

    def _fields(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "method": self.method,
            "url": self.url,
            "status_code": self.http_status,
            "service_code": self.service_code,
            "service_message": self.service_message,
            "request_id": self.request_id,
            "body": self.body_excerpt or None,
        }


def _rebuild_error(cls: type[WfCancelError], message: str, fields: dict[str, Any]) -> WfCancelError:
    return cls(message, **fields)


class InvalidInputError(WfCancelError, ValueError):
    """An argument or a connection setting is unusable; raised before any request is sent."""


class AuthenticationError(WfCancelError):
    """The credentials were rejected (HTTP 401, or an EnOS token-service failure)."""


class PermissionDeniedError(WfCancelError):
    """The credentials are valid but lack the grant or ownership needed (HTTP 403, EnOS 62103)."""


class NotFoundError(WfCancelError):
    """The instance does not exist, or is not visible to these credentials (HTTP 404)."""


class RateLimitedError(WfCancelError):
    """The service kept answering 429 until the retry budget ran out."""


class TransientError(WfCancelError):
    """A retryable failure (5xx, timeout, connection error, EnOS 62109) that outlasted the retries."""


class CertificateVerificationError(WfCancelError):
    """The server's TLS certificate was not trusted; not retried (set the connection's ``ca_bundle``)."""


class ApiError(WfCancelError):
    """The service refused the request (another 4xx, a non-zero EnOS code) or answered with something unreadable."""


class WaitTimeoutError(WfCancelError):
    """The instance did not reach a terminal status before the deadline."""


class RemoteInstanceFailedError(WfCancelError):
    """A started instance ended in a status other than success (failed, cancelled, timed out)."""


class AlreadyFinishedError(WfCancelError):
    """The instance had already finished; raised only when the caller asked for it."""


_CLASS_FOR_STATUS: dict[int, type[WfCancelError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_for_response(
    *,
    service: str,
    method: str,
    url: str,
    status_code: int | None,
    body: str | bytes | None = None,
    request_id: str | None = None,
    service_code: str | int | None = None,
    service_message: str | None = None,
    error_class: type[WfCancelError] | None = None,
    message: str | None = None,
) -> WfCancelError:
    """Build the error for a failed exchange; the single mapping from responses to classes.

    ``error_class`` lets a service adapter choose the class for its own error codes (for example
    EnOS's HTTP 200 with a non-zero ``code``); otherwise the HTTP status decides.
    """
    cls = error_class
    if cls is None:
        if status_code in _CLASS_FOR_STATUS:
            cls = _CLASS_FOR_STATUS[status_code]
        elif status_code is not None and status_code >= 500:
            cls = TransientError
        else:
            cls = ApiError
    default_messages: dict[type[WfCancelError], str] = {
        AuthenticationError: f"{service} rejected the credentials",
        PermissionDeniedError: f"{service} denied the request: the credentials lack the needed permission",
        NotFoundError: f"{service} has no such resource (or it is not visible to these credentials)",
        RateLimitedError: f"{service} kept rate-limiting the request",
        TransientError: f"{service} kept failing with a transient error",
    }
    return cls(
        message or default_messages.get(cls, f"{service} request failed"),
        service=service,
        method=method,
        url=url,
        status_code=status_code,
        body=body,
        request_id=request_id,
        service_code=service_code,
        service_message=service_message,
    )
