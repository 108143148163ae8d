"""dag.test() runs of both sensors in each mode (tests/dags/wfcancel_sensors.py) against the emulator.

What Airflow itself does around the sensor is what is checked here: in reschedule mode ``dag.test()``
reschedules in-process (the task instance goes UP_FOR_RESCHEDULE and runs again about a second later, with
a TaskReschedule row each time); in deferrable mode it runs the trigger inline; a failure of the sensor is
not retried although the task has ``retries=1``; ``soft_fail`` skips the sensor and its downstream task.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.airflow_compat import needs_airflow
from tests.conftest import DagRunReport
from tests.unit.sensors.harness import ends_once_read

pytestmark = pytest.mark.dagtest
MODES = ("poke", "reschedule", "deferrable")
ENOS_CODES = {"SUCCESS": 1, "FAIL": -1, "CANCEL": 8, "UNKNOWN": 42}
#: Airflow 3.0's dag.test() hands a rescheduled sensor its first reschedule date as a string (its in-process
#: supervisor skips the validation a deployment's does), so BaseSensorOperator's timeout check raises a
#: TypeError there: retried, never skipped. In a deployment the sensor times out as on 3.1+.
DAG_TEST_RESCHEDULE_TIMEOUT = needs_airflow((3, 1), "a reschedule-mode sensor timing out in dag.test()")
STATUSES = {
    "domo": {"success": "COMPLETED", "failed": "FAILED", "cancelled": "CANCELED", "unknown": "ON_HOLD"},
    "enos": {"success": "SUCCESS", "failed": "FAIL", "cancelled": "CANCEL", "unknown": "UNKNOWN"},
}


@pytest.fixture(params=["domo", "enos"])
def service(request: pytest.FixtureRequest, emu: Any, domo_conn: str, enos_conn: str) -> str:
    return str(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def timing_out(end: str, modes: tuple[str, ...] = MODES) -> list[Any]:
    """``(end, mode)`` cases of a wait that times out (``DAG_TEST_RESCHEDULE_TIMEOUT`` in reschedule mode)."""
    return [
        pytest.param(end, mode, marks=DAG_TEST_RESCHEDULE_TIMEOUT) if mode == "reschedule" else (end, mode)
        for mode in modes
    ]


def start(emu: Any, service: str) -> str:
    """A running instance (until something ends it)."""
    if service == "domo":
        return str(emu.control.create_domo_instance(runs_for=3600)["id"])
    return str(emu.control.create_enos_instance(runs_for=3600)["instanceId"])


def sensor_run(
    emu: Any,
    run_dag: Any,
    logs: tuple[pytest.CaptureFixture[str], pytest.LogCaptureFixture],
    service: str,
    mode: str,
    *,
    final: str | None,
    soft: bool = False,
) -> tuple[DagRunReport, str, dict[str, Any]]:
    """Run the sensor's DAG on a running instance that ends ``final`` once read (``None``: never); return
    the report, the instance id, and the sensor's try number, reschedule count and whether a trigger ran."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from tests.airflow_compat import reschedule_count

    capsys, caplog = logs
    instance_id = start(emu, service)
    dag_id = f"wfcancel_test_sensor_{service}_{mode}" + ("_soft" if soft else "")
    capsys.readouterr()
    caplog.clear()
    if final is None:
        report: DagRunReport = run_dag(dag_id, {"instance_id": instance_id})
    else:
        code = final if service == "domo" else ENOS_CODES[final]
        with ends_once_read(emu, service, instance_id, code):
            report = run_dag(dag_id, {"instance_id": instance_id})
    # One line per message: Airflow 3.0's console traceback wraps a long exception message at 80 columns.
    log = " ".join((capsys.readouterr().out + caplog.text).split())
    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=report.run_id, task_id="wait").one()
        facts = {"try_number": ti.try_number, "reschedules": reschedule_count(session, ti), "log": log}
    facts["trigger_ran"] = "running trigger in line" in log
    return report, instance_id, facts


def assert_mode(facts: dict[str, Any], mode: str) -> None:
    assert (facts["reschedules"] > 0, facts["trigger_ran"]) == (mode == "reschedule", mode == "deferrable")


@pytest.fixture
def logs(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> tuple[pytest.CaptureFixture[str], pytest.LogCaptureFixture]:
    return capsys, caplog


def test_success_runs_the_downstream_task_with_the_final_state(
    emu: Any, service: str, mode: str, run_dag: Any, logs: Any
) -> None:
    final = STATUSES[service]["success"]
    report, instance_id, facts = sensor_run(emu, run_dag, logs, service, mode, final=final)
    assert report.state == "success", report.task_states
    assert report.task_states == {"wait": "success", "after": "success"}
    result = report.xcom("wait")
    assert (result["service"], result["instance_id"], result["final_status"]) == (service, instance_id, final)
    assert report.xcom("wait", "instance_id") == instance_id
    assert report.pulled("wait", "url") == result["url"]
    assert report.xcom("after") == f"{service} {instance_id}: {final}"
    assert_mode(facts, mode)


@pytest.mark.parametrize(
    ("end", "mode"),
    [(end, mode) for end in ("failed", "cancelled") for mode in MODES] + timing_out("unknown"),
)
def test_any_other_end_fails_the_sensor_without_retry(
    emu: Any, service: str, mode: str, end: str, run_dag: Any, logs: Any
) -> None:
    """EnOS' undocumented code counts as running: that sensor fails at its timeout, also without retry
    (so ``unknown`` counts as a timeout for both services' cases)."""
    status = STATUSES[service][end]
    report, _, facts = sensor_run(emu, run_dag, logs, service, mode, final=status)
    assert report.state == "failed"
    assert report.task_states == {"wait": "failed", "after": "upstream_failed"}
    assert facts["try_number"] == 1  # retries=1, but neither an end nor a sensor timeout is retried
    if status == "UNKNOWN":
        assert "AirflowSensorTimeout" in facts["log"]
        assert "UNKNOWN(42)" in facts["log"]
    else:
        assert (
            f"ended with status {status}; the sensor accepts {STATUSES[service]['success']}" in facts["log"]
        )
    assert_mode(facts, mode)


@pytest.mark.parametrize(("end", "mode"), timing_out("never"))
def test_timeout_fails_the_sensor_without_retry(
    emu: Any, service: str, end: str, mode: str, run_dag: Any, logs: Any
) -> None:
    report, _, facts = sensor_run(emu, run_dag, logs, service, mode, final=None)
    assert report.task_states == {"wait": "failed", "after": "upstream_failed"}
    assert facts["try_number"] == 1
    assert "AirflowSensorTimeout" in facts["log"]
    assert_mode(facts, mode)


@pytest.mark.parametrize(("end", "mode"), [("failed", mode) for mode in MODES] + timing_out("timeout"))
def test_soft_fail_skips_the_sensor_and_what_depends_on_it(
    emu: Any, service: str, mode: str, end: str, run_dag: Any, logs: Any
) -> None:
    final = STATUSES[service]["failed"] if end == "failed" else None
    report, _, facts = sensor_run(emu, run_dag, logs, service, mode, final=final, soft=True)
    assert report.state == "success"
    assert report.task_states == {"wait": "skipped", "after": "skipped"}
    assert_mode(facts, mode)
