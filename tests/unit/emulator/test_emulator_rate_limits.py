"""Rate limits: token buckets per service or route, reproducible on the emulator's clock."""

from __future__ import annotations

import pytest
from emulator_clients import DomoClient, EnosClient, FakeClock

from airflow_provider_wfcancel.emulator import EmulatorControl
from airflow_provider_wfcancel.emulator.control import EmulatorControlError
from airflow_provider_wfcancel.emulator.ratelimit import RateLimitSpec
from airflow_provider_wfcancel.emulator.state import EmulatorState


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    state = EmulatorState(clock=clock)
    state.set_rate_limit(RateLimitSpec(scope="domo", rate=2.0, burst=3))
    assert [state.take_rate_token("domo.cancel") for _ in range(4)] == [None, None, None, "1"]
    assert state.take_rate_token("enos.flowinstance.cancel") is None  # another service
    clock.advance(0.5)  # one token back
    assert state.take_rate_token("domo.list") is None
    assert state.take_rate_token("domo.list") == "1"
    clock.advance(10)  # never more than the burst
    assert [state.take_rate_token("domo.get") for _ in range(4)] == [None, None, None, "1"]


def test_retry_after_is_the_wait_for_a_token_rounded_up_or_the_given_value() -> None:
    clock = FakeClock()
    state = EmulatorState(clock=clock)
    state.set_rate_limit(RateLimitSpec(scope="enos.flowinstance.search", rate=0.2))
    assert state.take_rate_token("enos.flowinstance.search") is None
    assert state.take_rate_token("enos.flowinstance.search") == "5"
    state.set_rate_limit(RateLimitSpec(scope="enos.flowinstance.search", rate=0.2, retry_after=1.5))
    assert state.take_rate_token("enos.flowinstance.search") is None  # replaced: starts full
    assert state.take_rate_token("enos.flowinstance.search") == "1.5"
    assert state.take_rate_token("enos.flowinstance.get") is None


def test_throttled_requests_never_reach_the_api_and_are_logged(
    domo: DomoClient, control: EmulatorControl
) -> None:
    instance_id = control.create_domo_instance(status="IN_PROGRESS")["id"]
    control.set_rate_limit("domo", rate=0.001, burst=2, retry_after=3)
    assert domo.list().status_code == 200
    assert domo.get(instance_id).status_code == 200
    refused = domo.cancel(instance_id)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert refused.json()["message"] == "API rate limit exceeded"
    assert domo.list().status_code == 429
    assert control.domo_instance(instance_id)["status"] == "IN_PROGRESS"
    assert [entry["fault"] for entry in control.requests()] == [None, None, "rate_limit", "rate_limit"]
    control.clear_rate_limits()
    assert domo.cancel(instance_id).status_code == 200


def test_a_limit_may_answer_429_without_retry_after(domo: DomoClient, control: EmulatorControl) -> None:
    control.set_rate_limit("domo", rate=0.001, burst=1, retry_after_header=False)
    assert domo.list().status_code == 200
    refused = domo.list()
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers
    assert [entry["fault"] for entry in control.requests()] == [None, "rate_limit"]


def test_enos_search_and_token_count_against_the_service_limit(
    enos: EnosClient, control: EmulatorControl
) -> None:
    control.set_rate_limit("enos", rate=0.001, burst=3)
    token = enos.token()  # takes one
    answers = [enos.call("POST", "flowInstances", "search", {}, token=token).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert enos.token_call()["status"] == 429  # the token service is behind the same gateway
    control.reset()  # forgets limits
    assert enos.get("x").status_code == 200


@pytest.mark.parametrize(
    "spec",
    [{"scope": "domo.nope", "rate": 1}, {"scope": "*", "rate": 0}, {"scope": "*", "rate": 1, "burst": 0}],
)
def test_bad_limits_are_refused(control: EmulatorControl, spec: dict[str, object]) -> None:
    with pytest.raises(EmulatorControlError):
        control.set_rate_limit(**spec)  # type: ignore[arg-type]
