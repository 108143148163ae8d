"""The provider's plugin listener: a DAG run that fails after its start tasks finished cancels what they
started with ``cancel_on_run_failed``, through Airflow's own listener manager and plugin discovery."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.plugins import run_failed

pytestmark = pytest.mark.dagtest
DAG_ID = "wfcancel_test_run_failed"
MANUAL = "Dag Run's state was manually set to `failed`."


@pytest.fixture
def listeners() -> Any:
    """Airflow's listener manager, built fresh so it discovers the provider's plugin as a component does."""
    from tests.airflow_compat import fresh_listener_manager

    yield fresh_listener_manager()
    fresh_listener_manager()


def started(emu: Any, run: Any) -> dict[str, str]:
    return {
        task: run.xcom(task, "instance_id") for task in ("start_domo", "start_enos", "start_domo_unrecorded")
    }


def dag_run(run_id: str) -> Any:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        found = session.query(DagRun).filter_by(dag_id=DAG_ID, run_id=run_id).one()
        session.expunge(found)
        return found


def test_the_plugin_is_discovered_and_registers_its_listener(listeners: Any) -> None:
    assert run_failed in listeners.pm.get_plugins()


def test_a_run_marked_failed_cancels_what_its_start_tasks_recorded(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    assert run.state == "success", run.task_states
    ids = started(emu, run)
    assert emu.control.counts().get("domo.cancel", 0) == 0

    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)

    cancels = {entry["path"] for entry in emu.control.requests("domo.cancel")}
    assert cancels == {f"/api/workflow/v1/instances/{ids['start_domo']}/cancel"}  # not the unrecorded one
    enos_cancels = emu.control.requests("enos.flowinstance.cancel")
    assert [entry["body"] for entry in enos_cancels] == [f'{{"flowInstId":"{ids["start_enos"]}"}}']


def test_a_start_task_marked_failed_by_a_person_cancels_only_its_instance(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    run = run_dag(DAG_ID)
    ids = started(emu, run)
    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id="start_domo")
            .one()
        )
        session.expunge(ti)
    listeners.hook.on_task_instance_failed(previous_state="running", task_instance=ti, error=None)
    assert run_failed.wait_for_cancels(30)
    assert emu.control.requests("domo.cancel") == []  # a task failing while it runs cancels itself

    listeners.hook.on_task_instance_failed(
        previous_state=None, task_instance=ti, error=None
    )  # the API server's
    assert run_failed.wait_for_cancels(30)
    assert [e["path"] for e in emu.control.requests("domo.cancel")] == [
        f"/api/workflow/v1/instances/{ids['start_domo']}/cancel"
    ]
    assert emu.control.requests("enos.flowinstance.cancel") == []


def test_a_cancel_that_fails_is_logged_and_never_breaks_the_state_change(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any, caplog: pytest.LogCaptureFixture
) -> None:
    run = run_dag(DAG_ID)
    emu.control.inject_fault("domo.cancel", status=403, count=10)
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)  # must not raise
    assert run_failed.wait_for_cancels(30)
    assert "Could not cancel instance" in caplog.text
    assert "manually set to `failed`" in caplog.text


def test_the_listener_leaves_the_callers_db_session_alone(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    """The scheduler calls listeners in the middle of its own session (a scoped, per-thread one): the
    listener must not open, commit or close a session in that thread, or the scheduler's objects detach."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    run = run_dag(DAG_ID)
    with create_session() as session:
        current = session.query(DagRun).filter_by(dag_id=DAG_ID, run_id=run.run_id).one()
        listeners.hook.on_dag_run_failed(dag_run=current, msg=MANUAL)
        session.refresh(current)  # raises if the listener detached it
        assert current.run_id == run.run_id
    assert run_failed.wait_for_cancels(30)


def test_a_record_cannot_name_code_to_import(
    emu: Any, domo_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A record is data a task wrote: it picks one of the provider's hooks by service, nothing else."""
    run_failed._cancel({"service": "os.system", "conn_id": "domo_default", "instance_id": "abc"}, "test")
    run_failed._cancel(
        {"service": "domo", "conn_id": "domo_default", "options": {"timeout": 1}, "instance_id": "x" * 300},
        "test",
    )
    assert "unknown service 'os.system'" in caplog.text
    assert emu.control.requests() == []
