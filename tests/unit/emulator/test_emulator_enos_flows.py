"""The emulated Trigger Flow From Task, flows of several tasks and planned task failures (the control
API's ``define_enos_flow``), as a client sees them over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_clients import EnosClient

from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorControlError
from tests.unit.emulator.test_emulator_enos import business_error, ok_data

FLOW = 3377


@pytest.fixture
def ends_at_once(control: EmulatorControl) -> EmulatorControl:
    control.configure(enos_start_delay=0, enos_run_seconds=0)
    return control


def trigger(enos: EnosClient, action: str = "trigger", **body: Any) -> str:
    new_id: str = ok_data(enos.call("POST", "flows", action, {"flowId": FLOW, **body}))["flowInstanceId"]
    return new_id


def tasks(enos: EnosClient, instance_id: str) -> tuple[int, dict[int, str]]:
    data = ok_data(enos.get(instance_id))
    graph = json.loads(data["graph"])
    assert graph["instId"] == instance_id
    return data["status"], {node["taskId"]: node["status"] for node in graph["tasks"]}


DEFAULT_TASKS = {337701: "SUCCESS", 337702: "SUCCESS", 337703: "SUCCESS"}


def test_a_flow_is_three_tasks_until_defined(enos: EnosClient, ends_at_once: EmulatorControl) -> None:
    assert tasks(enos, trigger(enos)) == (1, DEFAULT_TASKS)


def test_an_instance_fails_at_the_planned_task_and_a_trigger_from_it_inherits_the_tasks_before(
    enos: EnosClient, ends_at_once: EmulatorControl
) -> None:
    ends_at_once.define_enos_flow(FLOW, tasks=[11, 12, 13], fail_at_task=12, failures=1)
    assert tasks(enos, trigger(enos)) == (-1, {11: "SUCCESS", 12: "FAIL", 13: "INIT"})
    rerun = trigger(enos, "triggerFromTask", taskId=12)
    assert tasks(enos, rerun) == (1, {11: "SKIP", 12: "SUCCESS", 13: "SUCCESS"})  # the failure is used up
    assert rerun.startswith(f"{FLOW}-")


def test_failures_are_counted_per_instance_that_runs_the_task(
    enos: EnosClient, ends_at_once: EmulatorControl
) -> None:
    ends_at_once.define_enos_flow(FLOW, tasks=[11, 12, 13], fail_at_task=11, failures=2)
    assert tasks(enos, trigger(enos, "triggerFromTask", taskId=12))[0] == 1  # does not run task 11
    assert tasks(enos, trigger(enos))[1] == {11: "FAIL", 12: "INIT", 13: "INIT"}
    assert tasks(enos, trigger(enos))[0] == -1
    assert tasks(enos, trigger(enos))[0] == 1


def test_a_running_instance_is_at_its_first_task(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_start_delay=0, enos_run_seconds=600)
    control.define_enos_flow(FLOW, tasks=[11, 12, 13])
    assert tasks(enos, trigger(enos, "triggerFromTask", taskId=12)) == (
        2,
        {11: "SKIP", 12: "RUNNING", 13: "INIT"},
    )


def test_trigger_from_task_refuses_what_is_no_task_of_the_flow(
    enos: EnosClient, control: EmulatorControl
) -> None:
    control.define_enos_flow(FLOW, tasks=[11, 12])
    assert "not a task of flow" in business_error(
        enos.call("POST", "flows", "triggerFromTask", {"flowId": FLOW, "taskId": 99}), 62102
    )
    business_error(enos.call("POST", "flows", "triggerFromTask", {"flowId": FLOW}), 62102)
    business_error(enos.call("POST", "flows", "triggerFromTask", {"flowId": FLOW, "taskId": "11"}), 62102)
    assert control.counts()["enos.flow.triggerFromTask"] == 3


@pytest.mark.parametrize(
    "spec",
    [
        {"tasks": []},
        {"tasks": [1, 1]},
        {"tasks": [0]},
        {"tasks": [1, 2], "fail_at_task": 3},
        {"tasks": [1], "failures": -1},
    ],
)
def test_define_enos_flow_refuses_a_bad_plan(control: EmulatorControl, spec: dict[str, Any]) -> None:
    with pytest.raises(EmulatorControlError):
        control.define_enos_flow(FLOW, **spec)


def test_reset_forgets_the_flows(enos: EnosClient, ends_at_once: EmulatorControl) -> None:
    ends_at_once.define_enos_flow(FLOW, tasks=[11, 12], fail_at_task=11)
    ends_at_once.reset()
    ends_at_once.configure(enos_start_delay=0, enos_run_seconds=0)
    assert tasks(enos, trigger(enos)) == (1, DEFAULT_TASKS)


def test_a_planned_failure_gives_its_reason_in_the_task_log_and_inherited_tasks_have_none(
    enos: EnosClient, ends_at_once: EmulatorControl
) -> None:
    ends_at_once.define_enos_flow(FLOW, tasks=[11, 12], fail_at_task=12, reason="disk full", log=["part-1"])
    failed = trigger(enos)
    digits = failed.split("-")[1]
    log = ok_data(enos.call("GET", "taskInstances", "getLog", taskInstId=f"12-{digits}"))["log"]
    assert log.endswith("task_12 started\npart-1\nERROR disk full\ntask_12 ended with status FAIL\n")
    rerun = trigger(enos, "triggerFromTask", taskId=12)
    inherited = enos.call("GET", "taskInstances", "getLog", taskInstId=f"11-{rerun.split('-')[1]}")
    business_error(inherited, 62109)
    with pytest.raises(EmulatorControlError):  # one instance's failure: only at a task it runs
        ends_at_once.fail_enos_instance(rerun, task=11)
