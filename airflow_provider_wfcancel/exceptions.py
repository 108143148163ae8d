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
from collections.abc import Iterable
from typing import Any, Self, TypeVar

from airflow_provider_wfcancel.version_compat import AirflowException, AirflowFailException, redact

_BODY_EXCERPT_CHARS = 300
#: How much of a body redaction ever looks at: an error's excerpt is cut from this window, so a huge or
#: hostile body costs the same as a small one.
REDACTION_WINDOW_CHARS = 4 * _BODY_EXCERPT_CHARS
_SECRET_KEY_WORDS = ("token", "secret", "signature", "password", "encryption", "authorization")
# ``key: value`` / ``"key": "value"`` / ``key=value``. The key must start a word (the lookbehind), which keeps
# the scan linear: no start position inside a run of letters is tried again.
_KEY_VALUE = re.compile(
    r'(?<![A-Za-z_-])("?)([A-Za-z_-]{1,64})("?\s*[:=]\s*)("(?:[^"\\]|\\.){0,2000}"|[^,&}\s]{1,2000})'
)


def _blank_secret_values(text: str) -> str:
    """``text`` with the values of secret-looking keys (tokens, signatures, ...) replaced by ``"***"``."""

    def blank(match: re.Match[str]) -> str:
        key = match.group(2).lower()
        if not any(word in key for word in _SECRET_KEY_WORDS):
            return match.group(0)
        return f'{match.group(1)}{match.group(2)}{match.group(3)}"***"'

    return _KEY_VALUE.sub(blank, text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every value registered with Airflow's secrets masker and every one of ``secrets``
    (values derived per request, such as a signature, that are not registered) replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return str(redact(text))


def redact_service_text(text: str) -> str:
    """Text a service wrote (a task's log line, an error message) with the values of secret-looking keys
    and every value registered with Airflow's secrets masker blanked."""
    return redact_text(_blank_secret_values(text))


def redact_body(
    body: str | bytes | None, limit: int = _BODY_EXCERPT_CHARS, secrets: Iterable[str] = ()
) -> str:
    """A short excerpt of a response body with secrets blanked: values of secret-looking keys, ``secrets``,
    and every value registered with Airflow's secrets masker (a server may echo a token back).

    Only the first :data:`REDACTION_WINDOW_CHARS` characters are looked at, whatever the body's size.
    """
    if body is None:
        return ""
    window = REDACTION_WINDOW_CHARS
    text = body[: window * 4].decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text[:window]
    text = redact_text(_blank_secret_values(text), secrets)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class WfCancelError(AirflowException):
    """Base class of every error raised by this provider.

    ``secrets`` are values derived for one request (a signature, a token request's ``encryption``) that
    are not registered with the secrets masker: they are blanked from the message, the service's message
    and the body excerpt here, once, and not kept.
    """

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
        earlier_attempt_may_have_applied: bool = False,
        retry_after: float | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        secrets = tuple(s for s in secrets if s)
        self.message = redact_text(message, secrets) if secrets else message
        self.service = service
        self.method = method
        self.url = url
        self.http_status = status_code
        self.service_code = service_code
        self.service_message = (
            redact_text(service_message, secrets) if secrets and service_message else service_message
        )
        self.request_id = request_id
        self.body_excerpt = redact_body(body, secrets=secrets)
        #: An earlier attempt of the failed request may have been applied although its answer was lost.
        self.earlier_attempt_may_have_applied = earlier_attempt_may_have_applied
        #: Seconds the service asked the caller to wait before its next request (its last ``Retry-After``),
        #: when it said; read by :class:`~airflow_provider_wfcancel.retry_policy.WfCancelRetryPolicy`.
        self.retry_after = retry_after
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
        return redact_text("; ".join(parts))

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_text(self.message)!r}, status_code={self.http_status!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (Airflow and ThreadPoolExecutor may copy them across boundaries).
        return (_rebuild_error, (type(self), self.message, self._fields()))

    def replace(self, *, message: str) -> Self:
        """The same error with another message (errors are not mutated after they are raised)."""
        error = _rebuild_error(type(self), message, self._fields())
        error.__cause__ = self.__cause__
        return error

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
            "earlier_attempt_may_have_applied": self.earlier_attempt_may_have_applied,
            "retry_after": self.retry_after,
        }


def _rebuild_error(cls: type[E], message: str, fields: dict[str, Any]) -> E:
    return cls(message, **fields)


class InvalidInputError(WfCancelError, ValueError):
    """An argument or a connection setting is unusable; raised before any request is sent."""


class ConnectionNotFoundError(InvalidInputError):
    """The Airflow connection is not defined (in the metadata DB, an ``AIRFLOW_CONN_*`` variable or a
    secrets backend); raised before any request."""


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


class ListingIncompleteError(ApiError):
    """A listing stopped before its end because a bound was hit (its page cap, its deadline, a server that
    kept answering the same page, or a caller that went away): nothing was acted on from a partial list."""


class DeadlineExceededError(TransientError):
    """One attempt of a request did not get its whole answer in time (connect, headers and body together,
    at most the connection's ``timeout`` plus the connect timeout), however slowly the server kept sending."""


class ResponseTooLargeError(ApiError):
    """The answer was larger than the connection's ``max_response_bytes`` (counted after decompression)."""


class UnexpectedError(WfCancelError):
    """A failure outside the documented ones (a local encoding or TLS problem, an answer that broke the
    parser); the original exception is chained as ``__cause__``."""


class WaitTimeoutError(WfCancelError):
    """The instance did not reach a terminal status before the deadline."""


class RemoteInstanceFailedError(WfCancelError):
    """A started instance ended in a status other than success (failed, cancelled, timed out)."""


class RemoteInstanceCancelledError(RemoteInstanceFailedError):
    """A started instance was cancelled (by a person, a cancel task or the service) before it succeeded."""


class RemoteInstanceEndedError(RemoteInstanceFailedError, AirflowFailException):
    """An instance a sensor waited for ended in a status the sensor does not accept: the task fails
    without retry (an ``AirflowFailException``: a retry would find the same end), or is skipped with
    ``soft_fail``."""


class AlreadyFinishedError(WfCancelError):
    """The instance had already finished; raised only when the caller asked for it."""


class InstanceAlreadyRunningError(WfCancelError):
    """A start with ``if_running="fail"`` found an instance of the same model (version) or flow running."""


E = TypeVar("E", bound=WfCancelError)

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
    earlier_attempt_may_have_applied: bool = False,
    retry_after: float | None = None,
    secrets: Iterable[str] = (),
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
        earlier_attempt_may_have_applied=earlier_attempt_may_have_applied,
        retry_after=retry_after,
        secrets=secrets,
    )
