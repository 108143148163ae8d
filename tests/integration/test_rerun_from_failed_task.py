"""``rerun_failed_from_task`` through dag.test() (tests/dags/wfcancel_rerun.py) against the emulator:
Airflow's own retry, its own task state store. A first try whose instance fails at a task fails; the retry
triggers the flow from that task (Trigger Flow From Task), and the new instance is the task's result.
Whatever else the record names (an instance that succeeded or was cancelled, one of another flow, no
instance at all) gives a whole-flow trigger."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wfcancel.operators._rerun import RERUN_KEY
from tests.airflow_compat import needs_airflow
from tests.conftest import DagRunReport
from tests.integration.store_records import write_before_first_read
from tests.reliability.provenance_cases import OTHER_FLOW

pytestmark = pytest.mark.dagtest
needs_state_store = needs_airflow((3, 3), "the task state store")

FLOW = 777
TASKS = [77701, 77702, 77703]
FAILS_AT = 77702


def _stored(report: DagRunReport) -> list[Any]:
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskStateStoreModel).filter_by(run_id=report.run_id, key=RERUN_KEY).all()
        return [json.loads(row.value) for row in rows]


def _triggers(emu: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The bodies of Trigger Flow and of Trigger Flow From Task the emulator received."""
    full = [json.loads(entry["body"]) for entry in emu.control.requests("enos.flow.trigger")]
    from_task = [json.loads(entry["body"]) for entry in emu.control.requests("enos.flow.triggerFromTask")]
    return full, from_task


def _graph(emu: Any, instance_id: str) -> dict[int, str]:
    graph = json.loads(emu.control.enos_instance(instance_id)["graph"])
    return {task["taskId"]: task["status"] for task in graph["tasks"]}


@pytest.fixture
def fast(emu: Any, enos_conn: str) -> Any:
    emu.control.configure(enos_start_delay=0, enos_run_seconds=0.3)
    return emu


@needs_state_store
@pytest.mark.parametrize("dag_id", ["wfcancel_test_rerun", "wfcancel_test_rerun_deferred"])
def test_the_retry_triggers_the_flow_from_the_task_the_first_try_failed_at(
    fast: Any, run_dag: Any, dag_id: str
) -> None:
    fast.control.define_enos_flow(FLOW, tasks=TASKS, fail_at_task=FAILS_AT, failures=1)

    report = run_dag(dag_id)

    assert report.task_states == {"start_enos": "success"}
    full, from_task = _triggers(fast)
    assert len(full) == 1  # the first try's whole flow, once
    assert [(body["flowId"], body["taskId"]) for body in from_task] == [(FLOW, FAILS_AT)]
    result = report.xcom("start_enos")
    new_id = result["instance_id"]
    assert result["final_status"] == "SUCCESS"
    assert report.xcom("start_enos", "instance_id") == new_id
    assert _graph(fast, new_id) == {77701: "SKIP", 77702: "SUCCESS", 77703: "SUCCESS"}
    assert _stored(report) == []  # the task succeeded: a person's clear triggers the whole flow


@needs_state_store
def test_a_retry_whose_rerun_fails_again_fails_the_task_naming_the_new_instance(
    fast: Any, run_dag: Any
) -> None:
    fast.control.define_enos_flow(FLOW, tasks=TASKS, fail_at_task=77703, failures=2)

    report = run_dag("wfcancel_test_rerun")

    assert report.task_states == {"start_enos": "failed"}
    full, from_task = _triggers(fast)
    assert len(full) == 1
    assert [body["taskId"] for body in from_task] == [77703]
    (kept,) = _stored(report)  # the rerun's instance, for a person's clear to rerun from
    assert _graph(fast, kept["instance_id"])[77703] == "FAIL"
    assert _graph(fast, kept["instance_id"])[77701] == "SKIP"


# -- what the record names: only a failed instance of this task's flow is rerun from ---------------------


@pytest.fixture
def record_before_first_read(client: Any, as_user: Any, mocker: Any) -> Any:
    """``record(value)``: just before the task's first read of its rerun record, a user with the ``user``
    role (DAG write, no connection use) writes ``value`` as that record over REST."""
    from airflow_provider_wfcancel.operators._rerun import RerunRecorder

    def arm(value: Any) -> None:
        write_before_first_read(
            client, as_user, mocker, RerunRecorder, "wfcancel_test_rerun", "start_enos", value
        )

    return arm


#: (id, the recorded instance's flow and status (None: a malformed id), rerun from its task, refused)
RECORDS = [
    ("failed-of-this-flow", (FLOW, -1), True, False),
    ("succeeded", (FLOW, 1), False, False),
    ("cancelled", (FLOW, 8), False, False),
    ("failed-of-another-flow", (OTHER_FLOW, -1), False, True),
    ("malformed-id", None, False, True),
]


@needs_state_store
@pytest.mark.parametrize(
    ("recorded", "reruns", "refused"), [r[1:] for r in RECORDS], ids=[r[0] for r in RECORDS]
)
def test_only_a_failed_instance_of_this_flow_is_rerun_from(
    fast: Any,
    run_dag: Any,
    record_before_first_read: Any,
    capsys: pytest.CaptureFixture[str],
    recorded: tuple[int, int] | None,
    reruns: bool,
    refused: bool,
) -> None:
    from airflow_provider_wfcancel._provenance import REFUSED

    if recorded is None:
        instance_id = "../x"
    else:
        flow, status = recorded
        instance_id = fast.control.create_enos_instance(flow_id=flow, status=status)["instanceId"]
    record_before_first_read({"instance_id": instance_id, "url": None, "status_at_start": None})
    before = REFUSED["rerun_from_task"]

    report = run_dag("wfcancel_test_rerun")

    assert report.task_states == {"start_enos": "success"}
    full, from_task = _triggers(fast)
    if reruns:  # the task id is the one EnOS' graph of that instance names (its last: flowId * 100 + 3)
        assert (full, [(b["flowId"], b["taskId"]) for b in from_task]) == ([], [(FLOW, 77703)])
    else:
        assert (len(full), from_task) == (1, [])
        assert full[0]["flowId"] == FLOW
    assert REFUSED["rerun_from_task"] == before + refused
    output = "".join(capsys.readouterr())
    assert ("Not rerunning from the record in the task state store" in output) is refused
    assert report.xcom("start_enos")["instance_id"] != instance_id
    if recorded is not None and recorded[0] == OTHER_FLOW:  # the other flow's instance is left alone
        assert fast.control.requests("enos.flowinstance.cancel") == []


@needs_state_store
def test_a_task_the_flow_no_longer_has_gives_a_whole_flow_trigger(
    fast: Any, run_dag: Any, record_before_first_read: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = fast.control.create_enos_instance(flow_id=FLOW, status=-1)["instanceId"]  # failed at 77703
    fast.control.define_enos_flow(FLOW, tasks=[77710, 77711])  # the flow was edited since
    record_before_first_read({"instance_id": failed, "url": None, "status_at_start": None})

    report = run_dag("wfcancel_test_rerun")

    assert report.task_states == {"start_enos": "success"}
    full, from_task = _triggers(fast)
    assert [b["taskId"] for b in from_task] == [77703]  # refused by EnOS (62102)
    assert len(full) == 1
    assert "EnOS refused to trigger flow 777 from task 77703" in " ".join(
        "".join(capsys.readouterr()).split()
    )


@needs_airflow((3, 3), "the task state store", below=True)
def test_without_a_task_state_store_the_retry_triggers_the_whole_flow(
    fast: Any, run_dag: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fast.control.define_enos_flow(FLOW, tasks=TASKS, fail_at_task=FAILS_AT, failures=1)

    report = run_dag("wfcancel_test_rerun")

    assert report.task_states == {"start_enos": "success"}
    full, from_task = _triggers(fast)
    assert (len(full), from_task) == (2, [])
    output = " ".join("".join(capsys.readouterr()).split())
    assert "rerun_failed_from_task needs Airflow's task state store (Airflow 3.3+)" in output
