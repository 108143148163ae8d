"""DomoWorkflowInstanceSensor against transport mocks: deferral, resuming, bad input, and how errors end it.

The status sequence is exact here (requests-mock for the worker's reads, respx for the trigger's), so
these tests also pin what Airflow's ``BaseSensorOperator`` does around the provider's code.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import requests_mock as rm
import respx

from airflow_provider_wfcancel._service_task import DEFER_TIMEOUT_GRACE
from airflow_provider_wfcancel.exceptions import (
    InvalidInputError,
    NotFoundError,
    RemoteInstanceEndedError,
    WfCancelError,
)
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from airflow_provider_wfcancel.version_compat import AirflowSensorTimeout
from tests.airflow_compat import AirflowSkipException, TaskDeferred
from tests.conftest import connection_json
from tests.unit.hooks.test_domo import GET_URL, INSTANCE, TOKEN, instance
from tests.unit.sensors.harness import new_context, run_sensor

URL = f"https://acme.domo.com/workflows/instances/f5d7bbff-0000-4000-8000-000000000001/1.3.10/{INSTANCE}"


@pytest.fixture(autouse=True)
def _acme_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_DEFAULT", connection_json("domo", host="acme", password=TOKEN))


def sensor(**kwargs: Any) -> DomoWorkflowInstanceSensor:
    return DomoWorkflowInstanceSensor(
        task_id="wait", **{"instance_id": INSTANCE, "poke_interval": 0.01, "timeout": 30, **kwargs}
    )


def defer(context: dict[str, Any], **kwargs: Any) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        sensor(deferrable=True, **kwargs).execute(context)  # type: ignore[arg-type]
    return info.value


def test_poke_reads_until_the_end_and_returns_it(requests_mock: rm.Mocker) -> None:
    requests_mock.get(GET_URL, [{"json": instance(s)} for s in (None, "IN_PROGRESS", "COMPLETED")])
    context = new_context()
    result = sensor().execute(context)  # type: ignore[arg-type]
    assert result == {
        "service": "domo",
        "instance_id": INSTANCE,
        "final_status": "COMPLETED",
        "url": URL,
        "failure_detail": None,
    }
    assert requests_mock.call_count == 3
    assert context["ti"].xcoms == {"instance_id": INSTANCE, "url": URL}


def test_the_sensor_shows_the_instance_link_and_templates_its_ids() -> None:
    wait = DomoWorkflowInstanceSensor(
        task_id="wait", instance_id="{{ params.id }}", domo_conn_id="{{ params.conn }}"
    )
    assert [type(link) for link in wait.operator_extra_links] == [DomoWorkflowInstanceLink]
    wait.render_template_fields({"params": {"id": INSTANCE, "conn": "domo_other"}})  # type: ignore[arg-type]
    assert (wait.instance_id, wait.domo_conn_id) == (INSTANCE, "domo_other")


def test_deferring_hands_the_wait_to_the_operators_trigger(requests_mock: rm.Mocker) -> None:
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    context = new_context()
    before = time.time()
    deferred = defer(context, timeout=300, poke_interval=7)
    after = time.time()
    assert isinstance(deferred.trigger, DomoInstanceTrigger)
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_wfcancel.triggers.domo.DomoInstanceTrigger"
    assert (kwargs["conn_id"], kwargs["instance_id"], kwargs["poll_interval"]) == (
        "domo_default",
        INSTANCE,
        7,
    )
    assert before + 300 <= kwargs["deadline"] <= after + 300
    assert kwargs["cancel_on_kill"] is False  # a sensor never cancels what it watches
    assert deferred.method_name == "execute_complete"
    assert (
        deferred.kwargs == {"resume": {"instance_id": INSTANCE, "url": URL}} == {"resume": kwargs["resume"]}
    )
    assert isinstance(deferred.timeout, timedelta)
    assert deferred.timeout.total_seconds() <= 300 + DEFER_TIMEOUT_GRACE
    assert context["ti"].xcoms == {"instance_id": INSTANCE, "url": URL}  # pushed before deferring
    assert requests_mock.call_count == 1


async def test_deferred_and_poked_waits_return_the_same(requests_mock: rm.Mocker) -> None:
    requests_mock.get(GET_URL, [{"json": instance(s)} for s in ("IN_PROGRESS", "COMPLETED")])
    poked = sensor().execute(new_context())  # type: ignore[arg-type]
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    with respx.mock:
        respx.get(GET_URL).mock(
            side_effect=[httpx.Response(200, json=instance(s)) for s in ("IN_PROGRESS", "COMPLETED")]
        )
        deferred = await run_sensor(lambda: sensor(deferrable=True), new_context())
    assert deferred == poked


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "resumed without a trigger event"),
        ({"status": "done", "instance_id": INSTANCE}, "unknown status 'done'"),
        ({"status": "success", "instance_id": INSTANCE}, "carries no final_status"),
        (
            {"status": "success", "instance_id": "someone-else", "final_status": "COMPLETED"},
            "about instance 'someone-else'",
        ),
    ],
    ids=["none", "unknown-status", "no-final-status", "other-instance"],
)
def test_a_bad_event_is_an_error_never_a_success(event: Any, message: str) -> None:
    resume = {"resume": {"instance_id": INSTANCE, "url": URL}}
    with pytest.raises(WfCancelError, match=message):
        sensor(deferrable=True).resume_execution(
            "execute_complete", {"event": event, **resume}, new_context()
        )  # type: ignore[arg-type]


def test_the_event_judged_with_the_same_rule(requests_mock: rm.Mocker) -> None:
    resume = {"instance_id": INSTANCE, "url": URL}
    ended = {
        "status": "success",
        "instance_id": INSTANCE,
        "final_status": "CANCELED",
        "is_success": False,
        "is_cancelled": True,
    }
    with pytest.raises(RemoteInstanceEndedError, match="ended with status CANCELED"):
        sensor().execute_complete(new_context(), event=ended, resume=resume)  # type: ignore[arg-type]
    accepted = sensor(accepted_statuses=["CANCELED"]).execute_complete(
        new_context(), event=ended, resume=resume
    )  # type: ignore[arg-type]
    assert accepted == {
        "service": "domo",
        "instance_id": INSTANCE,
        "final_status": "CANCELED",
        "url": URL,
        "failure_detail": None,
    }
    # dag.test() on Airflow <= 3.3.2 drops the defer kwargs: the trigger's echo of them is used
    echoed = {**ended, "final_status": "COMPLETED", "is_success": True, "resume": resume}
    assert sensor().execute_complete(new_context(), event=echoed)["final_status"] == "COMPLETED"  # type: ignore[arg-type]
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("skip_with", [None, "soft_fail", "never_fail"])
def test_a_trigger_that_never_ran_times_out_like_a_sensor(skip_with: str | None) -> None:
    """Airflow's own defer timeout (the backstop after the trigger's deadline) ends as a sensor timeout,
    skipped with ``soft_fail`` or ``never_fail`` as Airflow's sensors skip."""
    from airflow_provider_wfcancel.version_compat import DEFER_TIMEOUT_ERROR, TRIGGER_FAIL_REPR

    expected = AirflowSkipException if skip_with else AirflowSensorTimeout
    with pytest.raises(expected):
        sensor(deferrable=True, **({skip_with: True} if skip_with else {})).resume_execution(
            TRIGGER_FAIL_REPR,
            {"error": DEFER_TIMEOUT_ERROR},
            new_context(),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_service_error_while_poking_fails_the_task_with_retries_even_with_soft_fail(
    requests_mock: rm.Mocker, soft_fail: bool
) -> None:
    """BaseSensorOperator applies soft_fail only to a sensor timeout or AirflowFailException."""
    requests_mock.get(GET_URL, status_code=404, json={"message": "no such instance"})
    with pytest.raises(NotFoundError):
        sensor(soft_fail=soft_fail).execute(new_context())  # type: ignore[arg-type]


def test_a_service_error_while_deferred_is_skipped_with_soft_fail() -> None:
    """BaseSensorOperator.resume_execution turns ANY Airflow exception into a skip with soft_fail, so an
    error event (after the trigger's retries) skips a deferred sensor that a poking one would fail."""
    error = {
        "status": "error",
        "instance_id": INSTANCE,
        "error_class": "NotFoundError",
        "message": "waiting for instance failed: Domo has no such resource",
    }
    kwargs = {"event": error, "resume": {"instance_id": INSTANCE, "url": URL}}
    with pytest.raises(NotFoundError, match="no such resource"):
        sensor(deferrable=True).resume_execution("execute_complete", kwargs, new_context())  # type: ignore[arg-type]
    with pytest.raises(AirflowSkipException):
        sensor(deferrable=True, soft_fail=True).resume_execution("execute_complete", kwargs, new_context())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instance_id": ""}, "instance_id is empty"),
        ({"instance_id": "None"}, "instance_id is 'None', which is what a template renders"),
        (
            {"accepted_statuses": ["COMPLETE"]},
            "accepted_statuses holds 'COMPLETE', which is not a terminal Domo status; it takes some of CANCELED, COMPLETED, FAILED",
        ),
        (
            {"accepted_statuses": ["IN_PROGRESS"]},
            "accepted_statuses holds 'IN_PROGRESS', which is not a terminal",
        ),
        ({"accepted_statuses": "COMPLETED"}, "accepted_statuses must be a list of Domo status names"),
        ({"accepted_statuses": []}, "accepted_statuses is empty"),
        ({"accepted_statuses": [None]}, "accepted_statuses holds None"),
        ({"poke_interval": -1}, "poke_interval must be a number >= 0.01"),
        ({"poke_interval": 0}, "poke_interval must be a number >= 0.01"),
        ({"poke_interval": timedelta(seconds=-5)}, "poke_interval must be a number >= 0.01"),
        ({"poke_interval": float("nan")}, "poke_interval must be a number >= 0.01"),
        ({"timeout": -1}, "timeout must be a number >= 0"),
        ({"timeout": timedelta(days=-1)}, "timeout must be a number >= 0"),
        ({"deferrable": "maybe"}, "deferrable must be true or false"),
        ({"domo_conn_id": " "}, "domo_conn_id must be a non-empty string"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
@pytest.mark.parametrize("deferrable", [False, True])
def test_bad_input_fails_before_any_request_naming_the_field(
    requests_mock: rm.Mocker, kwargs: dict[str, Any], message: str, deferrable: bool
) -> None:
    with pytest.raises(InvalidInputError) as info:
        sensor(**{"deferrable": deferrable, **kwargs}).execute(new_context())  # type: ignore[arg-type]
    assert message in str(info.value)
    assert requests_mock.call_count == 0


def test_durations_may_be_timedeltas_as_in_base_sensor_operator() -> None:
    wait = sensor(poke_interval=timedelta(minutes=2), timeout=timedelta(hours=1))
    assert (wait.poke_interval, wait.timeout) == (120, 3600)


def test_an_unset_timeout_is_airflows_default() -> None:
    from airflow_provider_wfcancel.version_compat import conf

    wait = DomoWorkflowInstanceSensor(task_id="wait", instance_id=INSTANCE)
    assert (wait.timeout, wait.poke_interval) == (conf.getfloat("sensors", "default_timeout"), 60)
