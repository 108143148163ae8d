"""``if_running`` on both start operators through ``dag.test()`` (tests/dags/wfcancel_if_running.py) against
the emulator, with an instance of the same Domo model version and EnOS flow already running: ``start``
starts another, ``reuse`` takes the running one over (no start request; its id is the task's), ``fail``
fails before starting, naming it. Without a running instance every mode starts one."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.dagtest
MODEL = "f5d7bbff-0000-4000-8000-00000000d3f3"
FLOW = 4242
DAG_ID = "wfcancel_test_if_running"


@pytest.fixture
def running(emu: Any, domo_conn: str, enos_conn: str) -> dict[str, str]:
    """One running instance of the DAG's Domo model version and EnOS flow, and one of another version."""
    emu.control.configure(domo_start_delay=0, enos_start_delay=0)
    emu.control.create_domo_instance(model_id=MODEL, model_version="2.0.0", runs_for=600)  # another version
    return {
        "start_domo": emu.control.create_domo_instance(model_id=MODEL, runs_for=600)["id"],
        "start_enos": emu.control.create_enos_instance(flow_id=FLOW, runs_for=600)["instanceId"],
    }


def starts(emu: Any) -> dict[str, int]:
    counts = emu.control.counts()
    return {"start_domo": counts.get("domo.start", 0), "start_enos": counts.get("enos.flow.trigger", 0)}


def test_start_starts_another(run_dag: Any, emu: Any, running: dict[str, str]) -> None:
    report = run_dag(DAG_ID, conf={"if_running": "start"})
    assert report.task_states == {"start_domo": "success", "start_enos": "success"}
    assert starts(emu) == {"start_domo": 1, "start_enos": 1}
    for task_id, existing in running.items():
        assert report.xcom(task_id, "instance_id") != existing


def test_reuse_takes_the_running_instance_over(run_dag: Any, emu: Any, running: dict[str, str]) -> None:
    report = run_dag(DAG_ID, conf={"if_running": "reuse"})
    assert report.task_states == {"start_domo": "success", "start_enos": "success"}
    assert starts(emu) == {"start_domo": 0, "start_enos": 0}
    for task_id, existing in running.items():
        assert report.xcom(task_id, "instance_id") == existing
        assert report.xcom(task_id)["instance_id"] == existing


def test_fail_fails_before_starting_and_names_the_running_instance(
    run_dag: Any,
    emu: Any,
    running: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    report = run_dag(DAG_ID, conf={"if_running": "fail"})
    assert report.task_states == {"start_domo": "failed", "start_enos": "failed"}
    assert starts(emu) == {"start_domo": 0, "start_enos": 0}
    captured = capsys.readouterr()
    task_logs = " ".join((captured.out + captured.err + caplog.text).split())  # 3.0 wraps long lines
    for existing in running.values():
        assert f"instance {existing} of what this task starts is running" in task_logs
    assert task_logs.count("InstanceAlreadyRunningError") >= 2


@pytest.mark.parametrize("mode", ["reuse", "fail"])
def test_with_nothing_running_every_mode_starts(
    run_dag: Any, emu: Any, domo_conn: str, enos_conn: str, mode: str
) -> None:
    emu.control.configure(domo_start_delay=0, enos_start_delay=0)
    report = run_dag(DAG_ID, conf={"if_running": mode})
    assert report.task_states == {"start_domo": "success", "start_enos": "success"}
    assert starts(emu) == {"start_domo": 1, "start_enos": 1}
