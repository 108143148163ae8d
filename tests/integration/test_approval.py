"""``example_dags/cancel_all_with_approval.py`` in-process: ``dag.test()`` runs the DAG, the approval task
parks in ``awaiting_input`` (Airflow 3.3), and a person answers through the API server's own HITL route
(``PATCH .../hitlDetails``) as the Required Actions page does; a timeout is the scheduler's own sweep.

What is checked: the approver is shown the dry run's list, Approve cancels exactly those ids (not an
instance that started while the person read the list), Reject and a timeout cancel nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.airflow_compat import HITL, needs_airflow
from tests.conftest import REPO

#: Airflow 3.1 and 3.2's in-process supervisor answers no ``GetHITLDetailResponse`` ("Unhandled request"),
#: so ``dag.test()`` cannot run their ``HITLTrigger``; 3.3 parks the task instead. There the example DAG
#: is parsed (``test_example_dags.py``); below 3.1 it fails with require_airflow's message.
pytestmark = [
    pytest.mark.dagtest,
    needs_airflow((3, 3), f"{HITL} in dag.test() (the awaiting_input state, answered over REST)"),
]
DAG_ID = "cancel_all_with_approval"
MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"
OTHER_MODEL = "b8afdc89-1b2c-4d5e-8f90-1234567890ab"


def awaiting_input(task_id: str, timeout: float = 60) -> Any:
    """The task instance of ``DAG_ID`` that waits for a person: its request is written and it has not
    ended (parked in ``awaiting_input``)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import State

    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
                .filter(TaskInstance.dag_id == DAG_ID, TaskInstance.task_id == task_id)
                .filter(TaskInstance.state.notin_(list(State.finished)))
                .one_or_none()
            )
            if ti is not None:
                session.expunge(ti)
                return ti
        time.sleep(0.2)
    raise AssertionError(f"{task_id} never waited for input")


def path_of(ti: Any) -> str:
    return f"/api/v2/dags/{DAG_ID}/dagRuns/{ti.run_id}/taskInstances/{ti.task_id}/-1/hitlDetails"


@pytest.fixture
def person(client: Any, as_user: Any) -> Iterator[Callable[..., Future[Any]]]:
    """``person(task_id, act)``: in a thread, once the task waits for input, ``act(ti)``; ``dag.test()``
    keeps the main thread (it sets signal handlers). Should ``act`` fail, the task is answered Reject so
    the run still ends, and the failure is the future's."""

    def respond(task_id: str, act: Callable[[Any], Any]) -> Any:
        ti = awaiting_input(task_id)
        try:
            return act(ti)
        except BaseException:
            client.patch(path_of(ti), json={"chosen_options": ["Reject"]}, headers=as_user("admin"))
            raise

    with ThreadPoolExecutor(max_workers=1) as pool:
        yield lambda task_id, act: pool.submit(respond, task_id, act)


def test_approve_cancels_exactly_the_listed_ids(
    emu: Any, domo_conn: str, run_dag: Any, person: Any, client: Any, as_user: Any
) -> None:
    listed = [emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"] for _ in range(2)]
    other = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)["id"]

    def approve(ti: Any) -> dict[str, Any]:
        shown = client.get(path_of(ti), headers=as_user("viewer"))
        # Started while the person reads the list: not on it, so never cancelled.
        late = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"]
        denied = client.patch(path_of(ti), json={"chosen_options": ["Approve"]}, headers=as_user("viewer"))
        approved = client.patch(path_of(ti), json={"chosen_options": ["Approve"]}, headers=as_user("user"))
        return {"shown": shown.json(), "late": late, "answers": (denied.status_code, approved.status_code)}

    seen = person("domo_approve", approve)
    report = run_dag(DAG_ID, {"service": "domo", "target_id": MODEL})
    seen = seen.result(timeout=10)

    assert seen["answers"] == (403, 200)
    detail = seen["shown"]
    assert detail["options"] == ["Approve", "Reject"]
    assert detail["subject"] == f"Cancel 2 running domo instance(s) of {MODEL}?"
    assert all(f"`{instance_id}`" in detail["body"] for instance_id in listed)
    assert other not in detail["body"]
    assert report.state == "success", report.task_states
    assert report.task_states["enos_dry_run"] == "skipped"
    dry_run = report.xcom("domo_dry_run")
    planned = [row["instance_id"] for row in dry_run["instances"]]
    assert sorted(planned) == sorted(listed)
    result = report.xcom("domo_cancel")
    assert [row["instance_id"] for row in result["instances"]] == planned
    assert result["counts"]["cancel_requested"] == 2
    paths = [r["path"] for r in emu.control.requests("domo.cancel")]
    assert sorted(i for i in [*listed, seen["late"], other] for path in paths if i in path) == sorted(listed)
    assert emu.control.domo_instance(seen["late"])["status"] == "IN_PROGRESS"
    assert emu.control.domo_instance(other)["status"] == "IN_PROGRESS"
    assert [row["status"] for row in dry_run["instances"]] == ["IN_PROGRESS", "IN_PROGRESS"]
    assert all(row["started_at"] for row in dry_run["instances"])


def test_ids_written_into_the_dry_runs_xcom_while_the_person_decides_cancel_nothing(
    emu: Any, domo_conn: str, run_dag: Any, person: Any, client: Any, as_user: Any
) -> None:
    """A user with DAG-run write (SimpleAuthManager ``user``) rewrites the dry run's result over REST
    while the approval waits, to add another model's instance: the cancel refuses the whole list."""
    listed = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"]
    other = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)["id"]

    def forge_then_approve(ti: Any) -> tuple[int, int]:
        xcom = (
            f"/api/v2/dags/{DAG_ID}/dagRuns/{ti.run_id}/taskInstances/domo_dry_run/xcomEntries/return_value"
        )
        plan = client.get(xcom, headers=as_user("user")).json()["value"]
        plan["instances"].append({**plan["instances"][0], "instance_id": other})
        forged = client.patch(xcom, json={"value": plan}, headers=as_user("user"))
        approved = client.patch(path_of(ti), json={"chosen_options": ["Approve"]}, headers=as_user("user"))
        return forged.status_code, approved.status_code

    done = person("domo_approve", forge_then_approve)
    report = run_dag(DAG_ID, {"service": "domo", "target_id": MODEL})

    assert done.result(timeout=10) == (200, 200)
    assert report.task_states["domo_cancel"] == "failed"
    assert any(other in r["path"] for r in emu.control.requests("domo.get"))  # asked, then refused
    assert "domo.cancel" not in emu.control.counts()
    assert {emu.control.domo_instance(i)["status"] for i in (listed, other)} == {"IN_PROGRESS"}


def test_reject_cancels_nothing(
    emu: Any, enos_conn: str, run_dag: Any, person: Any, client: Any, as_user: Any
) -> None:
    ids = [emu.control.create_enos_instance(status=2, flow_id=3377)["instanceId"] for _ in range(2)]

    def reject(ti: Any) -> tuple[str, int]:
        body = client.get(path_of(ti), headers=as_user("user")).json()["body"]
        answer = client.patch(path_of(ti), json={"chosen_options": ["Reject"]}, headers=as_user("user"))
        return body, answer.status_code

    seen = person("enos_approve", reject)
    report = run_dag(DAG_ID, {"service": "enos", "target_id": "3377"})
    body, status = seen.result(timeout=10)

    assert status == 200
    assert all(f"`{instance_id}`" in body for instance_id in ids)
    assert report.task_states["enos_approve"] == "success"
    assert report.task_states["enos_cancel"] == "skipped"
    assert "enos.flowinstance.cancel" not in emu.control.counts()
    assert {emu.control.enos_instance(i)["statusDesc"] for i in ids} == {"RUNNING"}


def test_no_answer_before_the_timeout_cancels_nothing(
    emu: Any, domo_conn: str, run_dag: Any, person: Any
) -> None:
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    running = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"]

    def let_the_hour_pass(ti: Any) -> None:
        with create_session() as session:
            session.get(TaskInstance, ti.id).trigger_timeout = datetime.now(UTC) - timedelta(seconds=1)
        SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()  # the scheduler's own sweep

    swept = person("domo_approve", let_the_hour_pass)
    report = run_dag(DAG_ID, {"service": "domo", "target_id": MODEL})
    swept.result(timeout=10)

    assert report.task_states["domo_approve"] == "failed"
    assert report.task_states["domo_cancel"] == "upstream_failed"
    assert "domo.cancel" not in emu.control.counts()
    assert emu.control.domo_instance(running)["status"] == "IN_PROGRESS"


def test_nothing_running_asks_nobody(emu: Any, domo_conn: str, run_dag: Any) -> None:
    report = run_dag(DAG_ID, {"service": "domo", "target_id": MODEL})
    assert report.state == "success", report.task_states
    assert report.xcom("domo_dry_run")["matched"] == 0
    assert report.task_states["domo_approve"] == "skipped"
    assert report.task_states["domo_cancel"] == "skipped"


def test_a_rewritten_dry_run_cannot_add_markup_to_what_the_approver_reads() -> None:
    """The body renders XCom values a user may have rewritten: each stays inside its cell."""
    import importlib.util

    from jinja2 import Environment

    spec = importlib.util.spec_from_file_location(
        "approval_example", REPO / "example_dags" / "cancel_all_with_approval.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    forged = {
        "service": "domo",
        "matched": 1,
        "instances": [
            {
                "instance_id": "x` | **cancel all** |\n| 2 | <img src=y>",
                "status": "RUNNING",
                "started_at": None,
            }
        ],
    }

    class TaskInstance:
        def xcom_pull(self, task_ids: str) -> Any:
            return forged

    body = (
        Environment(autoescape=False)  # noqa: S701  # as Airflow renders a task's templates
        .from_string(module.BODY)
        .render(ti=TaskInstance(), params={"target_id": "m", "version": ""})
    )
    table = [line for line in body.splitlines() if line.startswith("| 1 |")]
    assert len(table) == 1, body  # one row: the newline did not start another
    assert table[0].count("|") == 5  # four cells: no "|" of its own
    assert "<img" not in body
    assert "`x`" not in body
