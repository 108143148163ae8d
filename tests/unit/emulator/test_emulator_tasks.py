"""Contract tests of the emulated EnOS task nodes (Get Flow Instance's ``graph``), Get Task Instance Log and
failure reasons, and of Domo's ``errorMessage`` (docs/emulator.md, assumptions 31-33; flows of chosen tasks
and Trigger Flow From Task: test_emulator_enos_flows.py)."""

from __future__ import annotations

import json
from typing import Any

import requests
from emulator_clients import DomoClient, EnosClient

from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorServer

OTHER_USER, OTHER_ORG = "u99", "o99"


def ok_data(response: requests.Response) -> Any:
    body = response.json()
    assert (response.status_code, body["code"]) == (200, 0), body
    return body["data"]


def error_code(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert (response.status_code, body["data"]) == (200, None)
    return body["code"], body["msg"]


def tasks(enos: EnosClient, instance_id: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = json.loads(ok_data(enos.get(instance_id))["graph"])["tasks"]
    return nodes


def get_log(enos: EnosClient, task_inst_id: str, **params: str) -> requests.Response:
    return enos.call("GET", "taskInstances", "getLog", taskInstId=task_inst_id, **params)


def test_tasks_run_in_order_and_share_the_run_time(
    enos: EnosClient, control: EmulatorControl, emulator: EmulatorServer
) -> None:
    control.configure(enos_start_delay=0)
    instance_id = control.create_enos_instance(flow_id=77, runs_for=300)["instanceId"]
    digits = instance_id.split("-")[1]
    nodes = tasks(enos, instance_id)
    assert [(n["taskId"], n["taskName"], n["nodeId"], n["taskInstId"]) for n in nodes] == [
        (7700 + i, f"task_{7700 + i}", f"t_{7700 + i}", f"{7700 + i}-{digits}") for i in (1, 2, 3)
    ]
    assert [n["status"] for n in nodes] == ["RUNNING", "INIT", "INIT"]
    state = emulator.app_state
    with state.locked():
        state.data.enos_instances[instance_id].life.start_at -= 150  # half of the run time has passed
    assert [n["status"] for n in tasks(enos, instance_id)] == ["SUCCESS", "RUNNING", "INIT"]
    control.define_enos_flow(78, tasks=[5, 6])
    assert control.create_enos_instance(flow_id=78, status=1)["graph"].count("SUCCESS") == 2


def test_a_flow_fails_at_the_chosen_task_with_its_reason_in_the_log(
    enos: EnosClient, control: EmulatorControl
) -> None:
    instance_id = control.create_enos_instance(flow_id=77, runs_for=300)["instanceId"]
    failed = control.fail_enos_instance(instance_id, task=7702, reason="disk full", log=["writing part-0001"])
    assert (failed["status"], failed["statusDesc"]) == (-1, "FAIL")
    nodes = tasks(enos, instance_id)
    assert [n["status"] for n in nodes] == ["SUCCESS", "FAIL", "INIT"]
    log = ok_data(get_log(enos, nodes[1]["taskInstId"]))["log"]
    assert log.endswith(
        "task_7702 started\nwriting part-0001\nERROR disk full\ntask_7702 ended with status FAIL\n"
    )
    assert "--db-password=emulator-fake-password" in log
    assert ok_data(get_log(enos, nodes[0]["taskInstId"]))["log"].endswith("ended with status SUCCESS\n")
    assert ok_data(get_log(enos, nodes[1]["taskInstId"], maxLength="10"))["log"] == log[:10]
    assert error_code(get_log(enos, nodes[2]["taskInstId"])) == (62109, "No log found")


def test_a_lifecycle_failure_fails_the_last_task_with_the_default_reason(
    enos: EnosClient, control: EmulatorControl
) -> None:
    instance_id = control.create_enos_instance(status=7)["instanceId"]
    nodes = tasks(enos, instance_id)
    assert [n["status"] for n in nodes] == ["SUCCESS", "SUCCESS", "TIMEOUT"]
    assert "ERROR the task exited with code 1\n" in ok_data(get_log(enos, nodes[2]["taskInstId"]))["log"]
    # where, not when: it has ended already
    control.fail_enos_instance(instance_id, task=nodes[0]["taskId"], status=None)
    assert [n["status"] for n in tasks(enos, instance_id)] == ["TIMEOUT", "INIT", "INIT"]


def test_task_log_errors(enos: EnosClient, control: EmulatorControl) -> None:
    control.add_enos_user(OTHER_USER, OTHER_ORG)
    node = json.loads(control.create_enos_instance(status=-1)["graph"])["tasks"][0]
    assert error_code(get_log(enos, "2438999-20260101000000")) == (62102, "Instance not found")
    assert error_code(get_log(enos, "x"))[0] == 62102
    assert error_code(get_log(enos, node["taskInstId"], maxLength="-1"))[0] == 62102
    other_org = get_log(enos, node["taskInstId"], user_id=OTHER_USER, org_id=OTHER_ORG)
    assert error_code(other_org)[0] == 62103
    assert error_code(enos.call("GET", "taskInstances", None))[0] == 62102
    assert control.counts()["enos.taskinstance.getLog"] == 4


def test_domo_error_message_only_once_failed(domo: DomoClient, control: EmulatorControl) -> None:
    failed = control.create_domo_instance(status="FAILED", failure_reason="boom")
    assert failed["errorMessage"] == "boom"
    running = control.create_domo_instance(status="IN_PROGRESS", failure_reason="boom")
    assert "errorMessage" not in running
    assert "errorMessage" not in control.create_domo_instance(status="FAILED")
