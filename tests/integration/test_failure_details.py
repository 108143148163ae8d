"""Why a remote instance failed, through ``dag.test()`` against the emulator
(tests/dags/wfcancel_failure_details.py): the failed EnOS task's log lines reach the task log and the XCom
``failure_detail`` (start operators in the worker and deferred, sensors poked and deferred), Domo's
record reason likewise, secrets blanked; and a detail that cannot be read changes no task's outcome."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_APP_SECRET

pytestmark = pytest.mark.dagtest
REASON = "table sales_daily has no partition 2026-12-06"
DOMO_REASON = "Tile 'score' failed: division by zero"
#: A failure fails each sensor without retry, unless accepted: what the detail says never changes that.
SENSOR_OUTCOMES = {
    "wait_enos": "failed",
    "wait_enos_deferred": "failed",
    "accept_fail": "success",
    "wait_domo": "failed",
    "after": "success",
}


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Any:
    def read() -> str:
        return capsys.readouterr().out + caplog.text

    return read


@pytest.fixture
def fast(emu: Any, domo_conn: str, enos_conn: str) -> Any:
    emu.control.configure(enos_start_delay=0, domo_start_delay=0)
    return emu


def assert_enos_detail(detail: dict[str, Any], task_name: str, *last_lines: str) -> None:
    assert (detail["status"], detail["error"], detail["tasks_not_shown"]) == ("FAIL", None, 0)
    (failed,) = detail["tasks"]
    assert (failed["name"], failed["status"], failed["log_error"]) == (task_name, "FAIL", None)
    assert failed["log"][-len(last_lines) :] == list(last_lines)
    assert 0 < len(failed["log"]) <= 20


def test_a_start_whose_flow_fails_logs_and_pushes_the_failed_tasks_log(
    fast: Any, run_dag: Any, logs: Any
) -> None:
    fast.control.configure(enos_run_seconds=0.5, enos_final_status=-1)
    report = run_dag("wfcancel_test_failure_start")
    text = logs()
    assert report.task_states == {"start_enos": "failed", "start_enos_deferred": "failed"}
    for task_id in report.task_states:
        detail = report.xcom(task_id, "failure_detail")
        assert_enos_detail(
            detail, "task_434303", "ERROR the task exited with code 1", "task_434303 ended with status FAIL"
        )
        instance_id = report.xcom(task_id, "instance_id")
        assert detail["tasks"][0]["task_instance_id"] == f"434303-{instance_id.split('-')[1]}"
        assert f"EnOS instance {instance_id} ended FAIL; failed tasks: task_434303 (FAIL)" in text
    assert "    ERROR the task exited with code 1" in text
    assert "RemoteInstanceFailedError" in text
    assert "--db-password=" in text
    assert "emulator-fake-password" not in text + str(report.xcoms)


def test_sensors_log_and_push_why_the_flow_and_the_domo_instance_failed(
    fast: Any, run_dag: Any, logs: Any
) -> None:
    enos_id = fast.control.create_enos_instance(flow_id=4343, runs_for=600)["instanceId"]
    leaked = f"connecting with {DEFAULT_ENOS_APP_SECRET}"  # the connection's secret, masked once read
    fast.control.fail_enos_instance(enos_id, task=434302, reason=REASON, log=["loading sales_daily", leaked])
    domo_id = fast.control.create_domo_instance(status="FAILED", failure_reason=DOMO_REASON)["id"]
    report = run_dag(
        "wfcancel_test_failure_sensors", {"enos_instance_id": enos_id, "domo_instance_id": domo_id}
    )
    text = " ".join(logs().split())
    assert report.task_states == SENSOR_OUTCOMES
    for task_id in ("wait_enos", "wait_enos_deferred", "accept_fail"):
        detail = report.xcom(task_id, "failure_detail")
        assert_enos_detail(
            detail,
            "task_434302",
            "loading sales_daily",
            "connecting with ***",
            f"ERROR {REASON}",
            "task_434302 ended with status FAIL",
        )
    assert report.xcom("accept_fail")["failure_detail"] == report.xcom("accept_fail", "failure_detail")
    assert report.xcom("after") == "FAIL: 1 failed task(s)"
    domo = report.xcom("wait_domo", "failure_detail")
    assert (domo["status"], domo["message"], domo["tasks"], domo["error"]) == (
        "FAILED",
        DOMO_REASON,
        [],
        None,
    )
    assert f"EnOS instance {enos_id} ended FAIL; failed tasks: task_434302 (FAIL)" in text
    assert f"ERROR {REASON}" in text
    assert f"Domo instance {domo_id} ended FAILED: {DOMO_REASON}" in text
    # Airflow 3.0's in-process supervisor logs its own MaskSecret requests at DEBUG: not this feature's output
    shown = re.sub(r"MaskSecret\(value='[^']*'", "MaskSecret(", text)
    assert DEFAULT_ENOS_APP_SECRET not in shown + str(report.xcoms)
    assert "emulator-fake-password" not in text + str(report.xcoms)


def test_a_detail_that_cannot_be_read_changes_no_outcome(fast: Any, run_dag: Any, logs: Any) -> None:
    enos_id = fast.control.create_enos_instance(flow_id=4343, runs_for=600)["instanceId"]
    fast.control.fail_enos_instance(enos_id, reason=REASON)
    domo_id = fast.control.create_domo_instance(status="FAILED", failure_reason=DOMO_REASON)["id"]
    fast.control.inject_fault("enos.taskinstance.getLog", status=500, count=1000)
    report = run_dag(
        "wfcancel_test_failure_sensors", {"enos_instance_id": enos_id, "domo_instance_id": domo_id}
    )
    assert report.task_states == SENSOR_OUTCOMES
    for task_id in ("wait_enos", "wait_enos_deferred", "accept_fail"):
        (failed,) = report.xcom(task_id, "failure_detail")["tasks"]
        assert (failed["name"], failed["log"]) == ("task_434303", [])
        assert "500" in failed["log_error"]
    assert "Could not read the log of task task_434303" in " ".join(logs().split())
