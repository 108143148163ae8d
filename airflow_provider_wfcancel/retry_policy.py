"""A task retry policy built on the provider's errors (Airflow 3.3's ``retry_policy``): retry only what a
retry can fix, and wait as long as the service asked.

=============================================================  ==============================================
the try failed with                                            the policy decides
=============================================================  ==============================================
``InvalidInputError`` (a bad argument or connection setting,   fail now: the next try would send the same
an undefined connection)
``AuthenticationError``, ``PermissionDeniedError``,            fail now: a person must fix the credentials,
``CertificateVerificationError``                               the grant or the trust store
``NotFoundError``                                              fail now: the instance (or model, flow) is not
                                                               there for these credentials
``RemoteInstanceCancelledError``                               fail now: someone cancelled the remote run
``RateLimitedError``                                           retry after the service's ``Retry-After``
                                                               (between ``min_rate_limit_delay`` and
                                                               ``max_rate_limit_delay``), or after
                                                               ``rate_limit_delay`` when it named none
anything else (``TransientError``, a failed remote run, ...)   the task's own ``retries`` and ``retry_delay``
=============================================================  ==============================================

A policy never adds tries: a retry still needs one of the task's ``retries`` left. Use it on any task,
the provider's or not, or for a whole DAG::

    DomoStartWorkflowOperator(task_id="start", ..., retries=3, retry_policy=WfCancelRetryPolicy())
    DAG(..., default_args={"retries": 3, "retry_policy": WfCancelRetryPolicy()})

Airflow evaluates it in the worker, with the exception object; it is not serialized with the DAG. Below
Airflow 3.3, which has no retry policies, building one raises a clear error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._validation import check_seconds
from airflow_provider_wfcancel.exceptions import (
    AuthenticationError,
    CertificateVerificationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RemoteInstanceCancelledError,
)
from airflow_provider_wfcancel.version_compat import RetryDecision, RetryPolicy, require_airflow

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Errors a retry cannot fix, and why (the reason is logged and stored on the task instance).
FAIL_AT_ONCE: tuple[tuple[type[BaseException], str], ...] = (
    (InvalidInputError, "bad input or an undefined connection: a retry would send the same"),
    (AuthenticationError, "the service rejected the credentials: fix the connection"),
    (PermissionDeniedError, "the credentials lack the permission: fix the grant"),
    (CertificateVerificationError, "the server's certificate is not trusted: fix the connection's ca_bundle"),
    (NotFoundError, "the service has no such instance for these credentials"),
    (RemoteInstanceCancelledError, "the remote instance was cancelled"),
)


class WfCancelRetryPolicy(RetryPolicy):
    """Fail at once on what a retry cannot fix; wait out a rate limit for as long as the service asked.

    :param rate_limit_delay: seconds before the next try after a rate limit whose answer named no
        ``Retry-After`` (default 60).
    :param min_rate_limit_delay: at least this many seconds after a rate limit (default 1).
    :param max_rate_limit_delay: at most this many seconds, whatever the service asked (default 900).
    """

    def __init__(
        self,
        *,
        rate_limit_delay: float = 60.0,
        min_rate_limit_delay: float = 1.0,
        max_rate_limit_delay: float = 900.0,
    ) -> None:
        require_airflow((3, 3), "WfCancelRetryPolicy (task retry policies)")
        self.min_rate_limit_delay = check_seconds("min_rate_limit_delay", min_rate_limit_delay, minimum=0)
        self.max_rate_limit_delay = check_seconds(
            "max_rate_limit_delay", max_rate_limit_delay, minimum=self.min_rate_limit_delay
        )
        self.rate_limit_delay = check_seconds("rate_limit_delay", rate_limit_delay, minimum=0)

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Context | None = None
    ) -> Any:
        """The decision for ``exception`` (Airflow calls this in the worker when a try fails)."""
        for error_class, reason in FAIL_AT_ONCE:
            if isinstance(exception, error_class):
                return RetryDecision.fail(reason=f"{type(exception).__name__}: {reason}")
        if isinstance(exception, RateLimitedError):
            asked = exception.retry_after
            seconds = self.rate_limit_delay if asked is None else asked
            seconds = min(max(seconds, self.min_rate_limit_delay), self.max_rate_limit_delay)
            said = "as its Retry-After asked" if asked is not None else "(it named no Retry-After)"
            return RetryDecision.retry(
                delay=timedelta(seconds=seconds),
                reason=f"{exception.service or 'the service'} is rate-limiting: retry in {seconds:g} s {said}",
            )
        return RetryDecision.default()

    def __repr__(self) -> str:
        return (
            f"WfCancelRetryPolicy(rate_limit_delay={self.rate_limit_delay:g}, "
            f"min_rate_limit_delay={self.min_rate_limit_delay:g}, max_rate_limit_delay={self.max_rate_limit_delay:g})"
        )
