"""The provider's plugin listener: a DAG run that fails after its start tasks finished cancels what they
started with ``cancel_on_run_failed``, through Airflow's own listener manager and plugin discovery.

Records are forged as a low-privilege user would: over REST (``POST``/``PATCH .../xcomEntries``) through
the real API app with a ``user``-role token (DAG write, no connection use)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel import _audit
from airflow_provider_wfcancel._provenance import REFUSED
from airflow_provider_wfcancel.plugins import run_failed
from airflow_provider_wfcancel.plugins.run_failed import RECORD_KEY

pytestmark = pytest.mark.dagtest
DAG_ID = "wfcancel_test_run_failed"
MANUAL = "Dag Run's state was manually set to `failed`."
OTHER_MODEL = "0a0a0a0a-0000-4000-8000-000000000001"


@pytest.fixture(autouse=True)
def _fresh_listener_memory() -> Any:
    """The listener remembers settled instances per process; an emulator reset may reuse an EnOS id."""
    run_failed.forget_cancels()
    yield
    run_failed.forget_cancels()


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


def dag_run(run_id: str, dag_id: str = DAG_ID) -> Any:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        found = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
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
    assert "a later marking of the run or task tries again" in caplog.text
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


# -- provenance: forged records ---------------------------------------------------------------------


def audit_rows(run_id: str) -> list[dict[str, Any]]:
    import json

    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(Log)
            .filter(Log.event == _audit.LISTENER_EVENT, Log.run_id == run_id)
            .order_by(Log.id)
        )
        return [{**json.loads(row.extra), "task_id": row.task_id, "owner": row.owner} for row in rows]


def records(run_id: str, dag_id: str = DAG_ID) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id, key=RECORD_KEY).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def forge(client: Any, headers: dict[str, str], run_id: str, task_id: str, value: Any) -> None:
    """Write ``value`` as the task's record over REST, as a user with DAG write only can."""
    url = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
    exists = client.get(f"{url}/{RECORD_KEY}", headers=headers).status_code == 200
    if exists:
        response = client.patch(f"{url}/{RECORD_KEY}", json={"value": value}, headers=headers)
    else:
        response = client.post(url, json={"key": RECORD_KEY, "value": value}, headers=headers)
    assert response.status_code in (200, 201), response.text


def domo_record(instance_id: str, conn_id: str = "domo_default") -> dict[str, Any]:
    return {"service": "domo", "conn_id": conn_id, "options": {}, "instance_id": instance_id}


def enos_record(instance_id: str, **options: Any) -> dict[str, Any]:
    opts = {"user_id": None, "org_id": None, **options}
    return {"service": "enos", "conn_id": "enos_default", "options": opts, "instance_id": instance_id}


#: (task the record is written on, the forged record given a victim instance of each service, why)
FORGERIES = {
    "on a start task without cancel_on_run_failed": (
        "start_domo_unrecorded",
        lambda domo, enos: domo_record(domo),
        "no start operator with cancel_on_run_failed=True",
    ),
    "through another connection": (
        "start_domo",
        lambda domo, enos: domo_record(domo, conn_id="domo_other"),
        "the record names connection 'domo_other', the task uses 'domo_default'",
    ),
    "naming another model's instance": (
        "start_domo",
        lambda domo, enos: domo_record(domo),
        f"is of model '{OTHER_MODEL}'",
    ),
    "naming another flow's instance": (
        "start_enos",
        lambda domo, enos: enos_record(enos),
        "is of flow 2438, the task triggers '777'",
    ),
    "acting as another EnOS org": (
        "start_enos",
        lambda domo, enos: enos_record(enos, org_id="o99999999999999"),
        "the record names org_id 'o99999999999999', the task None",
    ),
    "naming code to import": (
        "start_domo",
        lambda domo, enos: {**domo_record(domo), "service": "os.system"},
        "the record names service 'os.system', the task is 'domo'",
    ),
    "with a malformed instance id": (
        "start_domo",
        lambda domo, enos: domo_record("../x"),
        "malformed instance id '../x'",
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_record_is_refused_logged_counted_and_cleared(
    emu: Any,
    domo_conn: str,
    enos_conn: str,
    run_dag: Any,
    listeners: Any,
    client: Any,
    as_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    forgery: str,
) -> None:
    import os

    monkeypatch.setenv("AIRFLOW_CONN_DOMO_OTHER", os.environ["AIRFLOW_CONN_DOMO_DEFAULT"])
    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    victim_domo = emu.control.create_domo_instance(model_id=OTHER_MODEL, status="IN_PROGRESS")["id"]
    victim_enos = emu.control.create_enos_instance(flow_id=2438, status=2)["instanceId"]
    if forgery == "on a start task without cancel_on_run_failed":
        victim_domo = ids["start_domo_unrecorded"]  # a real instance of the right model: still not to cancel
    task_id, make, why = FORGERIES[forgery]
    forge(client, as_user("user"), run.run_id, task_id, make(victim_domo, victim_enos))
    refused_before = REFUSED["run_failed"]

    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)

    cancelled = {e["path"].split("/")[-2] for e in emu.control.requests("domo.cancel")}
    cancelled |= {e["body"] for e in emu.control.requests("enos.flowinstance.cancel")}
    assert not any(victim in entry for entry in cancelled for victim in (victim_domo, victim_enos, "../x"))
    assert REFUSED["run_failed"] == refused_before + 1
    assert why in caplog.text
    assert "the record is deleted" in caplog.text
    assert task_id not in records(run.run_id)  # cleared: a later marking does not read it again
    [refused] = [row for row in audit_rows(run.run_id) if row["outcome"] == "refused"]
    assert refused["task_id"] == task_id
    assert why in refused["error"]
    # the genuine records on the other tasks are still honoured
    untouched = {"start_domo", "start_enos"} - {task_id}
    assert {
        row["task_id"] for row in audit_rows(run.run_id) if row["outcome"] == "cancel_requested"
    } == untouched


def test_a_genuine_record_is_cancelled_exactly_once_and_audited(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    for _ in range(2):  # the run, then a person marking the task: one cancel
        listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
        assert run_failed.wait_for_cancels(30)
    assert [e["path"] for e in emu.control.requests("domo.cancel")] == [
        f"/api/workflow/v1/instances/{ids['start_domo']}/cancel"
    ]
    rows = {row["task_id"]: row for row in audit_rows(run.run_id)}
    assert rows["start_domo"]["outcome"] == "cancel_requested"
    assert rows["start_domo"]["connection_id"] == "domo_default"
    assert rows["start_domo"]["instance_id"] == ids["start_domo"]
    assert rows["start_domo"]["owner"] == run_failed.AUDIT_OWNER
    assert records(run.run_id).keys() == {"start_domo", "start_enos"}  # genuine records stay


# -- at least once, and visible ---------------------------------------------------------------------


def test_a_cancel_that_fails_then_recovers_is_retried_with_backoff(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    emu.control.configure(enos_start_delay=0, domo_cancel_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    emu.control.inject_fault("domo.cancel", status=500, count=4)  # one request's attempts (max_retries=3)
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(60)

    rows = [row for row in audit_rows(run.run_id) if row["task_id"] == "start_domo"]
    assert [(row["attempt"], row["outcome"]) for row in rows] == [(1, "retrying"), (2, "cancel_requested")]
    assert "HTTP 500" in rows[0]["error"]
    assert rows[0]["retry_in"] > 0
    assert emu.control.domo_instance(ids["start_domo"])["status"] == "CANCELED"


def test_a_later_marking_retries_a_cancel_that_still_failed(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any
) -> None:
    emu.control.configure(enos_start_delay=0, domo_cancel_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    emu.control.inject_fault("domo.cancel", status=500, count=1000)
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(120)
    outcomes = [row["outcome"] for row in audit_rows(run.run_id) if row["task_id"] == "start_domo"]
    assert outcomes == ["retrying"] * (run_failed.ATTEMPTS - 1) + ["failed"]

    emu.control.clear_faults()
    for _ in range(2):  # a later marking retries; the one after finds it settled
        listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
        assert run_failed.wait_for_cancels(30)
    outcomes = [row["outcome"] for row in audit_rows(run.run_id) if row["task_id"] == "start_domo"]
    assert outcomes[-1] == "cancel_requested"
    assert outcomes.count("cancel_requested") == 1
    assert emu.control.domo_instance(ids["start_domo"])["status"] == "CANCELED"


@pytest.fixture
def second_gateway(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Another EnOS gateway (a second emulator) behind connection ``enos_second``."""
    import json
    import os

    from airflow_provider_wfcancel.emulator import EmulatorServer

    with EmulatorServer() as server:
        conn = json.loads(os.environ["AIRFLOW_CONN_ENOS_DEFAULT"])
        monkeypatch.setenv("AIRFLOW_CONN_ENOS_SECOND", json.dumps({**conn, "host": server.base_url}))
        yield server


def test_two_gateways_with_the_same_instance_id_get_a_cancel_each(
    emu: Any, enos_conn: str, second_gateway: Any, run_dag: Any, listeners: Any
) -> None:
    dag_id = "wfcancel_test_run_failed_two_gateways"
    for emulator in (emu, second_gateway):
        emulator.control.configure(enos_start_delay=0)
    run = run_dag(dag_id)
    assert run.state == "success", run.task_states
    first, second = run.xcom("start_first", "instance_id"), run.xcom("start_second", "instance_id")
    assert first == second  # the same id at both gateways

    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id, dag_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)
    for emulator in (emu, second_gateway):
        assert [e["body"] for e in emulator.control.requests("enos.flowinstance.cancel")] == [
            f'{{"flowInstId":"{first}"}}'
        ]
