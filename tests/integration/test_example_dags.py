"""Every example DAG imports cleanly and runs end to end with ``dag.test()`` against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.airflow_compat import DEADLINES, UNSUPPORTED_DAG_FILES, needs_airflow
from tests.conftest import REPO, DagRunReport
from tests.unit.sensors.harness import ends_once_read

pytestmark = pytest.mark.dagtest
EXAMPLES = sorted(p.stem for p in (REPO / "example_dags").glob("*.py"))


def test_every_example_dag_imports_without_errors(airflow_db: Path) -> None:
    from tests.airflow_compat import DagBag, assert_only_unsupported_import_errors

    bag = DagBag(dag_folder=str(REPO / "example_dags"))
    assert_only_unsupported_import_errors(bag.import_errors, REPO / "example_dags")
    assert set(bag.dag_ids) == {name for name in EXAMPLES if f"{name}.py" not in UNSUPPORTED_DAG_FILES}
    for dag_id in bag.dag_ids:
        dag = bag.get_dag(dag_id)
        assert dag is not None
        assert dag.doc_md, f"{dag_id} needs a doc_md for the UI"


def test_domo_cancel_manual(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_cancel_delay=0.1)
    running = emu.control.create_domo_instance(model_name="Nightly", status="IN_PROGRESS")
    report: DagRunReport = run_dag("domo_cancel_manual", {"instance_id": running["id"], "wait": True})
    assert report.state == "success", report.task_states
    result = report.xcom("cancel")
    assert result["service"] == "domo"
    assert result["instance_id"] == running["id"]
    assert result["outcome"] == "cancelled"
    assert result["status_at_request"] == "IN_PROGRESS"
    assert result["final_status"] == "CANCELED"
    assert (
        result["url"]
        == f"{emu.base_url}/workflows/instances/{running['modelId']}/{running['modelVersion']}/{running['id']}"
    )
    assert result["response"]["id"] == running["id"]
    assert result["response"]["status"] == "IN_PROGRESS"
    assert report.xcom("cancel", "instance_id") == running["id"]
    assert report.pulled("cancel", "url") == result["url"]
    assert report.xcom("report") == f"domo {running['id']}: cancelled (final CANCELED)"
    assert emu.control.domo_instance(running["id"])["status"] == "CANCELED"


def test_domo_cancel_manual_without_waiting(emu: Any, domo_conn: str, run_dag: Any) -> None:
    running = emu.control.create_domo_instance(status="IN_PROGRESS")
    report = run_dag("domo_cancel_manual", {"instance_id": running["id"], "wait": False})
    assert report.state == "success"
    assert report.xcom("cancel")["outcome"] == "cancel_requested"
    assert emu.control.counts().get("domo.get", 0) == 0


def test_domo_cancel_manual_rejects_a_bad_id_before_any_request(
    emu: Any, domo_conn: str, run_dag: Any
) -> None:
    report = run_dag("domo_cancel_manual", {"instance_id": "None"})
    assert report.state == "failed"
    assert report.task_states["cancel"] == "failed"
    assert emu.control.requests() == []


def test_domo_cancel_many_maps_one_task_per_id(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_cancel_delay=0.05)
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(3)]
    finished = emu.control.create_domo_instance(status="COMPLETED")["id"]
    report = run_dag("domo_cancel_many", {"instance_ids": [*ids, finished]})
    assert report.state == "success", report.task_states
    assert report.xcom("summarize") == {**dict.fromkeys(ids, "cancelled"), finished: "already_finished"}
    assert [report.xcom("cancel", map_index=i)["instance_id"] for i in range(4)] == [*ids, finished]


def test_domo_failure_cleanup_task_callback_cancels(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_cancel_delay=0.05)
    report = run_dag("domo_failure_cleanup")
    assert report.state == "failed"
    assert report.task_states == {"start": "success", "transform": "failed"}
    instance_id = report.xcom("start", "instance_id")
    assert emu.control.domo_instance(instance_id)["status"] == "CANCELED"
    assert emu.control.counts()["domo.cancel"] >= 1


def test_domo_failure_cleanup_dag_callback_cancels(emu: Any, domo_conn: str, airflow_db: Path) -> None:
    """DAG-level notifiers cannot run under dag.test() (apache/airflow#64649), so call it as the
    DAG processor would: with the failed run's context."""
    from tests.airflow_compat import DagBag

    dag = DagBag(dag_folder=str(REPO / "example_dags")).get_dag("domo_failure_cleanup")
    running = emu.control.create_domo_instance(status="IN_PROGRESS")

    class TI:
        def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
            return running["id"] if (task_ids, key) == ("start", "instance_id") else None

    emu.control.configure(domo_cancel_delay=0)  # the callback does not wait: make the cancel land at once
    notifier = dag.on_failure_callback
    notifier({"dag": dag, "ti": TI(), "params": {}, "reason": "task_failure"})
    (cancel,) = emu.control.requests("domo.cancel")
    assert cancel["path"].endswith(f"/{running['id']}/cancel")
    assert emu.control.requests("domo.get") == []  # the DAG-level notifier does not wait
    assert emu.control.domo_instance(running["id"])["status"] == "CANCELED"


@needs_airflow((3, 1), DEADLINES)  # below, the DAG fails to parse with that message (tested above)
def test_domo_deadline_cleanup_is_wired_to_cancel_what_start_started(airflow_db: Path) -> None:
    """dag.test() cannot run a DAG with a DeadlineAlert on Airflow 3.3.2 (it looks the alert up by a
    dict); the callback and the listener this DAG relies on run through Airflow's own runners in
    tests/unit/notifications/test_deadline_callbacks.py and tests/integration/test_run_failed_listener.py."""
    from tests.airflow_compat import DagBag

    dag = DagBag(dag_folder=str(REPO / "example_dags")).get_dag("domo_deadline_cleanup")
    (alert,) = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert alert.callback.path == "airflow_provider_wfcancel.notifications.domo.DomoCancelWorkflowNotifier"
    assert alert.callback.kwargs == {"start_task_id": "start"}
    start = dag.get_task("start")
    assert (start.cancel_on_run_failed, start.wait_for_completion) == (True, False)
    assert dag.get_task("wait").upstream_task_ids == {"start"}


def test_domo_start_then_wait_defers_and_hands_the_end_downstream(
    emu: Any, domo_conn: str, run_dag: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with ends_once_read(emu, "domo", None, "COMPLETED"):  # the sensor's first read sees it running
        report: DagRunReport = run_dag("domo_start_then_wait")
    assert report.state == "success", report.task_states
    assert report.task_states == {
        "start": "success",
        "prepare": "success",
        "wait": "success",
        "publish": "success",
    }
    instance_id = report.xcom("start", "instance_id")
    result = report.xcom("wait")
    assert (result["instance_id"], result["final_status"]) == (instance_id, "COMPLETED")
    assert result["url"] == report.pulled("start", "url") == report.pulled("wait", "url")
    assert report.xcom("publish") == f"workflow run {instance_id} ended COMPLETED: {result['url']}"
    assert "running trigger in line" in caplog.text  # the sensor deferred
    assert "domo.cancel" not in emu.control.counts()


def test_domo_start_then_wait_cancels_the_workflow_when_the_other_work_fails(
    emu: Any, domo_conn: str, run_dag: Any
) -> None:
    emu.control.configure(domo_cancel_delay=0.05)
    report = run_dag("domo_start_then_wait", {"fail_prepare": True})
    assert report.state == "failed"
    assert report.task_states == {
        "start": "success",
        "prepare": "failed",
        "wait": "upstream_failed",
        "publish": "upstream_failed",
    }
    instance_id = report.xcom("start", "instance_id")
    (cancel,) = emu.control.requests("domo.cancel")
    assert cancel["path"].endswith(f"/{instance_id}/cancel")
    assert emu.control.domo_instance(instance_id)["status"] == "CANCELED"


def test_enos_cancel_manual(emu: Any, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(enos_cancel_delay=0.1)
    running = emu.control.create_enos_instance(status=2)
    instance_id = running["instanceId"]
    report = run_dag("enos_cancel_manual", {"flow_instance_id": instance_id, "wait": True})
    assert report.state == "success", report.task_states
    result = report.xcom("cancel")
    assert result["service"] == "enos"
    assert result["instance_id"] == instance_id
    assert result["outcome"] == "cancelled"
    assert result["status_at_request"] is None
    assert result["final_status"] == "CANCEL"
    assert result["url"] is None
    assert result["response"]["code"] == 0
    assert result["response"]["msg"] == "OK"
    assert result["response"]["data"] == ""
    assert report.xcom("cancel", "instance_id") == instance_id
    assert report.xcom("report") == f"enos {instance_id}: cancelled (final CANCEL)"
    assert emu.control.enos_instance(instance_id)["status"] == 8
    counts = emu.control.counts()
    assert counts["enos.token.get"] == 1
    assert counts["enos.flowinstance.cancel"] == 1


def test_enos_cancel_manual_acting_as_another_user(
    emu: Any, enos_conn: str, run_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_ORG_ID, DEFAULT_ENOS_USER_ID

    emu.control.add_enos_user("u15000000000104", DEFAULT_ENOS_ORG_ID)
    running = emu.control.create_enos_instance(status=2, owner_user_id="u15000000000104")
    instance_id = running["instanceId"]
    capsys.readouterr()
    refused = run_dag("enos_cancel_manual", {"flow_instance_id": instance_id, "wait": False})
    assert refused.state == "failed"
    assert refused.task_states == {"cancel": "failed", "report": "upstream_failed"}
    # the connection's user does not own it: EnOS refuses with 62103 and the task fails with that reason
    task_log = capsys.readouterr().out
    assert "PermissionDeniedError" in task_log
    assert "EnOS code 62103" in task_log
    (cancel,) = emu.control.requests("enos.flowinstance.cancel")
    assert (cancel["query"]["userId"], cancel["status"]) == (DEFAULT_ENOS_USER_ID, 200)
    assert emu.control.enos_instance(instance_id)["status"] == 2  # still running
    accepted = run_dag(
        "enos_cancel_manual",
        {"flow_instance_id": instance_id, "wait": False, "user_id": "u15000000000104"},
    )
    assert accepted.state == "success"
    assert accepted.xcom("cancel")["outcome"] == "cancel_requested"
    assert emu.control.requests("enos.flowinstance.cancel")[-1]["query"]["userId"] == "u15000000000104"


@pytest.mark.parametrize("blank", ["", "  "])
def test_enos_cancel_manual_empty_user_id_uses_the_connection_user(
    emu: Any, enos_conn: str, run_dag: Any, blank: str
) -> None:
    """The form's "Act as user" left empty arrives as "": the connection's user_id is used, as documented."""
    from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_USER_ID

    running = emu.control.create_enos_instance(status=2)
    report = run_dag(
        "enos_cancel_manual", {"flow_instance_id": running["instanceId"], "wait": False, "user_id": blank}
    )
    assert report.state == "success", report.task_states
    assert report.xcom("cancel")["outcome"] == "cancel_requested"
    (cancel,) = emu.control.requests("enos.flowinstance.cancel")
    assert cancel["query"]["userId"] == DEFAULT_ENOS_USER_ID


def test_enos_failure_cleanup_task_callback_cancels(emu: Any, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(enos_cancel_delay=0.05)
    report = run_dag("enos_failure_cleanup", {"flow_id": 777})
    assert report.state == "failed"
    assert report.task_states == {"trigger": "success", "transform": "failed"}
    instance_id = report.xcom("trigger", "instance_id")
    assert instance_id.startswith("777-")
    assert report.xcom("trigger")["status_at_start"] in ("INIT", "RUNNING")
    assert emu.control.enos_instance(instance_id)["status"] == 8


def test_cancel_all_running_lists_in_a_dry_run_then_cancels(emu: Any, domo_conn: str, run_dag: Any) -> None:
    model = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS", model_id=model)["id"] for _ in range(2)]
    report = run_dag("cancel_all_running", {"service": "domo", "target_id": model})
    assert report.state == "success", report.task_states
    assert report.task_states["enos"] == "skipped"
    assert report.xcom("domo")["counts"]["would_cancel"] == 2
    assert "domo.cancel" not in emu.control.counts()
    report = run_dag("cancel_all_running", {"service": "domo", "target_id": model, "dry_run": False})
    assert report.state == "success", report.task_states
    assert sorted(row["instance_id"] for row in report.xcom("domo")["instances"]) == sorted(ids)
    assert emu.control.counts()["domo.cancel"] == 2
