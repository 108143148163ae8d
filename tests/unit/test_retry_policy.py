"""``WfCancelRetryPolicy.evaluate``: each of the provider's errors gets the decision the module's table
names; the ``Retry-After`` it honours is the one the service sent (read at the transport)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_wfcancel import exceptions as errors
from tests.airflow_compat import needs_airflow
from tests.conftest import connection_json

RETRY_POLICIES = "task retry policies"
needs_retry_policies = needs_airflow((3, 3), RETRY_POLICIES)


def policy(**options: Any) -> Any:
    from airflow_provider_wfcancel.retry_policy import WfCancelRetryPolicy

    return WfCancelRetryPolicy(**options)


def decide(error: BaseException, **options: Any) -> Any:
    return policy(**options).evaluate(error, try_number=1, max_tries=4)


@needs_retry_policies
@pytest.mark.parametrize(
    "error_class",
    [
        errors.InvalidInputError,
        errors.ConnectionNotFoundError,
        errors.AuthenticationError,
        errors.PermissionDeniedError,
        errors.CertificateVerificationError,
        errors.NotFoundError,
        errors.RemoteInstanceCancelledError,
    ],
)
def test_what_a_retry_cannot_fix_fails_at_once(error_class: type[errors.WfCancelError]) -> None:
    from airflow.sdk import RetryAction

    decision = decide(error_class("nope", service="Domo"))
    assert decision.action == RetryAction.FAIL
    assert decision.reason.startswith(f"{error_class.__name__}: ")


@needs_retry_policies
@pytest.mark.parametrize(
    "error",
    [
        errors.TransientError("502", service="Domo"),
        errors.RemoteInstanceFailedError("ended FAILED", service="Domo"),
        errors.WaitTimeoutError("still running", service="Domo"),
        RuntimeError("not ours"),
    ],
)
def test_anything_else_keeps_the_tasks_own_retries(error: BaseException) -> None:
    from airflow.sdk import RetryAction

    assert decide(error).action == RetryAction.DEFAULT


@needs_retry_policies
@pytest.mark.parametrize(
    ("retry_after", "options", "seconds"),
    [
        (7.0, {}, 7.0),
        (None, {}, 60.0),  # no Retry-After: rate_limit_delay
        (None, {"rate_limit_delay": 5}, 5.0),
        (0.0, {"min_rate_limit_delay": 3}, 3.0),
        (86400.0, {"max_rate_limit_delay": 600}, 600.0),
    ],
)
def test_a_rate_limit_is_retried_after_what_the_service_asked(
    retry_after: float | None, options: dict[str, Any], seconds: float
) -> None:
    from airflow.sdk import RetryAction

    decision = decide(errors.RateLimitedError("429", service="EnOS", retry_after=retry_after), **options)
    assert (decision.action, decision.retry_delay) == (RetryAction.RETRY, timedelta(seconds=seconds))
    assert decision.reason.startswith(f"EnOS is rate-limiting: retry in {seconds:g} s")


@needs_retry_policies
@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"rate_limit_delay": -1}, "rate_limit_delay"),
        ({"min_rate_limit_delay": "1"}, "min_rate_limit_delay"),
        ({"min_rate_limit_delay": 10, "max_rate_limit_delay": 5}, "max_rate_limit_delay"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.InvalidInputError, match=f"^{field} must be"):
        policy(**options)


@needs_retry_policies
def test_the_retry_after_is_the_one_the_service_sent(
    requests_mock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json(
            "domo", host="https://acme.domo.com", password="domo-token", extra={"max_retries": 0}
        ),
    )
    instance = "2052e10a-9b8c-4a6f-8d3e-000000000001"
    requests_mock.get(
        f"https://acme.domo.com/api/workflow/v1/instances/{instance}",
        status_code=429,
        headers={"Retry-After": "42"},
    )
    with pytest.raises(errors.RateLimitedError) as caught:
        DomoHook().get_state(instance)
    assert caught.value.retry_after == 42.0
    assert decide(caught.value).retry_delay == timedelta(seconds=42)


@needs_airflow((3, 3), RETRY_POLICIES, below=True)
def test_below_airflow_3_3_building_one_says_what_is_missing() -> None:
    from airflow_provider_wfcancel.retry_policy import WfCancelRetryPolicy
    from airflow_provider_wfcancel.version_compat import UnsupportedOnThisAirflowError

    with pytest.raises(UnsupportedOnThisAirflowError, match=r"task retry policies\) needs Airflow 3\.3"):
        WfCancelRetryPolicy()
