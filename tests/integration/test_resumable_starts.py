"""Resumable starts through dag.test(): Airflow's own task state store, its own retry of a failed try.

A first try that does not see its instance end (a status read is refused) fails; the retry reattaches to
that instance instead of starting another (``durable``, the default, on Airflow 3.3+), or starts a second
one (``durable=False``; every start on older Airflow).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.operators._reattach import STATE_KEY
from tests.airflow_compat import needs_airflow
from tests.conftest import DagRunReport
from tests.integration.store_records import write_before_first_read
from tests.reliability.provenance_cases import OTHER_FLOW, OTHER_MODEL, RESUMABLE_FORGERIES, ForgedRecord

pytestmark = pytest.mark.dagtest
needs_state_store = needs_airflow((3, 3), "the task state store")

#: The first try's first status read (EnOS: also the best-effort read right after the start) is refused.
REFUSED_READS = {"start_domo": ("domo.get", 1), "start_enos": ("enos.flowinstance.get", 2)}
START_ROUTES = {"start_domo": "domo.start", "start_enos": "enos.flow.trigger"}


def _refuse_first_reads(emu: Any, task_id: str) -> None:
    route, count = REFUSED_READS[task_id]
    emu.control.inject_fault(route, status=403, count=count)


def _starts(emu: Any, task_id: str) -> int:
    return int(emu.control.counts()[START_ROUTES[task_id]])


def _stored_records(report: DagRunReport) -> list[Any]:
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskStateStoreModel).filter_by(run_id=report.run_id, key=STATE_KEY).all()
        return [row.value for row in rows]


@pytest.fixture
def both(emu: Any, domo_conn: str, enos_conn: str) -> Any:
    emu.control.configure(domo_start_delay=0, domo_run_seconds=1.0, enos_start_delay=0, enos_run_seconds=1.0)
    return emu


@needs_state_store
@pytest.mark.parametrize("dag_id", ["wfcancel_test_reattach", "wfcancel_test_reattach_deferred"])
@pytest.mark.parametrize("task_id", ["start_domo", "start_enos"])
def test_a_retry_reattaches_to_the_instance_the_failed_try_left_running(
    both: Any, run_dag: Any, dag_id: str, task_id: str
) -> None:
    _refuse_first_reads(both, task_id)
    report = run_dag(dag_id)
    assert report.task_states[task_id] == "success", report.task_states
    assert _starts(both, task_id) == 1  # one instance, not two
    result = report.xcom(task_id)
    assert result["instance_id"] == report.xcom(task_id, "instance_id")
    assert result["final_status"] in ("COMPLETED", "SUCCESS")
    assert _stored_records(report) == []  # concluded: a person's re-run would start a new instance


@needs_state_store
@pytest.mark.parametrize("task_id", ["start_domo", "start_enos"])
def test_an_instance_that_failed_while_nobody_watched_fails_the_retry_without_a_new_start(
    both: Any, run_dag: Any, task_id: str
) -> None:
    both.control.configure(domo_final_status="FAILED", enos_final_status=-1)
    _refuse_first_reads(both, task_id)
    report = run_dag("wfcancel_test_reattach")
    assert report.task_states[task_id] == "failed"
    assert _starts(both, task_id) == 1
    assert _stored_records(report) == []


@pytest.mark.parametrize("task_id", ["start_domo", "start_enos"])
def test_without_durable_a_retry_starts_a_second_instance(both: Any, run_dag: Any, task_id: str) -> None:
    _refuse_first_reads(both, task_id)
    report = run_dag("wfcancel_test_reattach_off")
    assert report.task_states[task_id] == "success"
    assert _starts(both, task_id) == 2  # today's behaviour, and every start's on Airflow before 3.3


@needs_state_store
def test_a_try_that_sees_its_instance_end_leaves_no_record(both: Any, run_dag: Any) -> None:
    report = run_dag("wfcancel_test_reattach")
    assert report.task_states == {"start_domo": "success", "start_enos": "success"}
    assert (_starts(both, "start_domo"), _starts(both, "start_enos")) == (1, 1)
    assert _stored_records(report) == []


# -- provenance: a record another user wrote ---------------------------------------------------------


@pytest.fixture
def forge_before_first_read(client: Any, as_user: Any, mocker: Any) -> Any:
    """``forge(dag_id, task_id, value)``: just before the task's first read of its store, a user with the
    ``user`` role (DAG write, no connection use) writes ``value`` as its record over REST."""
    from airflow_provider_wfcancel.operators._reattach import StartRecorder

    def arm(dag_id: str, task_id: str, value: Any) -> None:
        write_before_first_read(client, as_user, mocker, StartRecorder, dag_id, task_id, value)

    return arm


@needs_state_store
@pytest.mark.parametrize("case", RESUMABLE_FORGERIES, ids=lambda case: case.id)
def test_a_forged_record_is_not_adopted_but_cleared_and_a_new_instance_started(
    both: Any,
    run_dag: Any,
    forge_before_first_read: Any,
    capsys: pytest.CaptureFixture[str],
    case: ForgedRecord,
) -> None:
    from airflow_provider_wfcancel._provenance import REFUSED

    victim_domo = both.control.create_domo_instance(model_id=OTHER_MODEL, runs_for=600)["id"]
    victim_enos = both.control.create_enos_instance(flow_id=OTHER_FLOW, runs_for=600)["instanceId"]
    value = case.value(victim_domo, victim_enos)
    victim = value.get("instance_id") if isinstance(value, dict) else value
    task_id = case.task_id
    forge_before_first_read("wfcancel_test_reattach", task_id, value)
    refused = REFUSED["resumable_start"]

    report = run_dag("wfcancel_test_reattach")

    assert report.task_states[task_id] == "success", report.task_states
    assert _starts(both, task_id) == 1  # not adopted: a new instance, started once
    assert report.xcom(task_id)["instance_id"] != victim
    assert REFUSED["resumable_start"] == refused + 1
    output = "".join(capsys.readouterr())
    assert "Not adopting the start record in the task state store" in output
    assert case.message in output
    assert _stored_records(report) == []  # the forged record is gone, and so is the task's own
    # the other instance is left alone: neither adopted nor cancelled
    if victim in (victim_domo, victim_enos):
        cancels = both.control.requests("domo.cancel") + both.control.requests("enos.flowinstance.cancel")
        assert cancels == []
