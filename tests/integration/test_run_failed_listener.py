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
from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_0_PLUS
from tests.airflow_compat import needs_airflow
from tests.reliability.provenance_cases import (
    LISTENER_FAULTS,
    LISTENER_FORGERIES,
    OTHER_FLOW,
    OTHER_MODEL,
    ForgedRecord,
    ListenerFault,
)

pytestmark = pytest.mark.dagtest
DAG_ID = "wfcancel_test_run_failed"
MANUAL = "Dag Run's state was manually set to `failed`."


@pytest.fixture(autouse=True)
def _fresh_listener_memory() -> Any:
    """The listener remembers settled instances per process; an emulator reset may reuse an EnOS id."""
    run_failed.forget_cancels()
    yield
    run_failed.forget_cancels()


@pytest.fixture
def run_dag(run_dag: Any, airflow_db: Any) -> Any:
    """``dag.test()`` of a DAG that is in the metadata DB as the DAG processor writes it: the listener reads
    the task from the serialized DAG (``tests/airflow_compat.store_serialized_dag``)."""
    from tests.airflow_compat import DagBag, store_serialized_dag

    bag = DagBag(dag_folder=str(airflow_db))

    def run(dag_id: str, *args: Any, **kwargs: Any) -> Any:
        store_serialized_dag(bag.get_dag(dag_id))
        return run_dag(dag_id, *args, **kwargs)

    return run


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
    from airflow.utils.session import create_session

    from airflow_provider_wfcancel.version_compat import xcom_model, xcom_value

    with create_session() as session:
        rows = session.query(xcom_model()).filter_by(dag_id=dag_id, run_id=run_id, key=RECORD_KEY).all()
        return {row.task_id: xcom_value(row) for row in rows}


def forge(client: Any, headers: dict[str, str], run_id: str, task_id: str, value: Any) -> None:
    """Write ``value`` as the task's record over REST, as a user with DAG write only can."""
    url = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
    exists = client.get(f"{url}/{RECORD_KEY}", headers=headers).status_code == 200
    if exists:
        response = client.patch(f"{url}/{RECORD_KEY}", json={"value": value}, headers=headers)
    else:
        response = client.post(url, json={"key": RECORD_KEY, "value": value}, headers=headers)
    assert response.status_code in (200, 201), response.text


# Airflow 3.0's and 3.1's REST API store an XCom entry's value as the JSON text of what was sent (a record
# arrives as a string, which the listener refuses as "not an object"; 3.0's PATCH leaves a task's own record
# as it was): no forged record reaches the checks this test is about.
@needs_airflow((3, 2), "REST-written XCom entries that hold the value sent")
@pytest.mark.parametrize("case", LISTENER_FORGERIES, ids=lambda case: case.id)
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
    case: ForgedRecord,
) -> None:
    import os

    monkeypatch.setenv("AIRFLOW_CONN_DOMO_OTHER", os.environ["AIRFLOW_CONN_DOMO_DEFAULT"])
    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    victim_domo = emu.control.create_domo_instance(model_id=OTHER_MODEL, status="IN_PROGRESS")["id"]
    victim_enos = emu.control.create_enos_instance(flow_id=OTHER_FLOW, status=2)["instanceId"]
    value = case.value(victim_domo, victim_enos)
    if isinstance(value, dict) and value.get("instance_id") == "{unrecorded}":
        value["instance_id"] = victim_domo = ids["start_domo_unrecorded"]  # real, of the right model
    forge(client, as_user("user"), run.run_id, case.task_id, value)
    refused_before = REFUSED["run_failed"]

    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)

    cancelled = {e["path"].split("/")[-2] for e in emu.control.requests("domo.cancel")}
    cancelled |= {e["body"] for e in emu.control.requests("enos.flowinstance.cancel")}
    assert not any(victim in entry for entry in cancelled for victim in (victim_domo, victim_enos, "../x"))
    assert REFUSED["run_failed"] == refused_before + 1
    assert case.message in caplog.text
    assert "the record is deleted" in caplog.text
    assert case.task_id not in records(run.run_id)  # cleared: a later marking does not read it again
    [refused] = [row for row in audit_rows(run.run_id) if row["outcome"] == "refused"]
    assert refused["task_id"] == case.task_id
    assert case.message in refused["error"]
    # the genuine records on the other tasks are still honoured
    untouched = {"start_domo", "start_enos"} - {case.task_id}
    assert {
        row["task_id"] for row in audit_rows(run.run_id) if row["outcome"] == "cancel_requested"
    } == untouched


def test_a_templated_field_without_its_rendered_value_is_refused(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """``model_id="{{ params.model_id }}"``: without the task's own rendering there is no model to check."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    run = run_dag(DAG_ID)
    with create_session() as session:
        session.query(RenderedTaskInstanceFields).filter_by(run_id=run.run_id, task_id="start_domo").delete()
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)
    assert emu.control.requests("domo.cancel") == []
    assert "model_id of task 'start_domo' is templated ('{{ params.model_id }}')" in caplog.text


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


@pytest.mark.parametrize("case", LISTENER_FAULTS, ids=lambda case: case.id)
def test_a_failed_cancel_is_retried_with_backoff_and_by_a_later_marking(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any, case: ListenerFault
) -> None:
    emu.control.configure(enos_start_delay=0, domo_cancel_delay=0)
    run = run_dag(DAG_ID)
    ids = started(emu, run)
    emu.control.inject_fault("domo.cancel", status=500, count=case.failures)
    seen = 0
    for marking, outcomes in enumerate(case.markings):
        if marking:
            emu.control.clear_faults()
        listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
        assert run_failed.wait_for_cancels(120)
        rows = [row for row in audit_rows(run.run_id) if row["task_id"] == "start_domo"][seen:]
        seen += len(rows)
        assert tuple(row["outcome"] for row in rows) == outcomes
        assert [row["attempt"] for row in rows] == list(range(1, len(rows) + 1))
        for row in rows:
            if row["outcome"] in ("retrying", "failed"):
                assert "HTTP 500" in row["error"]
            if row["outcome"] == "retrying":
                assert row["retry_in"] > 0
    assert emu.control.domo_instance(ids["start_domo"])["status"] == "CANCELED"
    assert len([e for e in emu.control.requests("domo.cancel") if ids["start_domo"] in e["path"]]) >= 1


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


def test_a_mapped_start_task_is_checked_per_map_index(
    emu: Any, domo_conn: str, run_dag: Any, listeners: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dag_id = "wfcancel_test_run_failed_mapped"
    run = run_dag(dag_id)
    assert run.state == "success", run.task_states
    ids = {run.xcom("start_mapped", "instance_id", index) for index in (0, 1)}
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id, dag_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)
    assert {e["path"].split("/")[-2] for e in emu.control.requests("domo.cancel")} == ids, caplog.text


def test_a_start_task_serialized_without_the_flag_is_refused_until_serialized_anew(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, listeners: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A DAG serialized by a provider version before the flag was a serialized field: no record on it is
    trusted, and the log says why (the flag cannot be told from its absence)."""
    import copy

    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    run = run_dag(DAG_ID)
    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id="start_domo")
            .one()
        )
        # Airflow 3 keeps a serialized DAG per version; 2.11 one per DAG id
        version = {"dag_version_id": ti.dag_version_id} if AIRFLOW_V_3_0_PLUS else {"dag_id": DAG_ID}
        serdag = session.query(SerializedDagModel).filter_by(**version).one()
        data = copy.deepcopy(serdag.data)  # a new object: SQLAlchemy sees the change
        assert data is not None
        [task] = [t for t in data["dag"]["tasks"] if t["__var"]["task_id"] == "start_domo"]
        assert task["__var"].pop("cancel_on_run_failed") is True
        serdag._data, serdag._data_compressed = data, None
    listeners.hook.on_dag_run_failed(dag_run=dag_run(run.run_id), msg=MANUAL)
    assert run_failed.wait_for_cancels(30)
    assert emu.control.requests("domo.cancel") == []
    assert "'start_domo' does not say whether it asked for cancel_on_run_failed" in caplog.text
    assert "start_domo" not in records(run.run_id)
