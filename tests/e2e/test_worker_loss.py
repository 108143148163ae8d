"""A Celery worker lost while a start task waits for its Domo instance (SIGKILL of the worker, its pool
and the task's processes, as a node loss): the task's retry runs on a new worker, reattaches to the
instance the first try started (resumable starts), and ends with that instance's outcome."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .api import AirflowApi
from .processes import wait_until
from .stack import AirflowStack

DAG_ID = "wfcancel_test_worker_loss"
#: The started instance runs this long: past the kill, the scheduler's heartbeat timeout (20 s), the retry
#: delay and a new worker's start, so the retry finds it still running.
RUNS_FOR = 75.0


def _starts_of(control: Any, model_id: str) -> list[dict[str, Any]]:
    return [r for r in control.requests("domo.start") if model_id in str(r["body"])]


def test_a_start_task_retried_after_its_worker_was_killed_reattaches_instead_of_starting_again(
    profile: str, stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    if profile != "celery":
        pytest.skip("kills the Celery worker: the celery profile has one apart from the scheduler")
    model_id = str(uuid.uuid4())
    previous = control.config()["domo_run_seconds"]
    control.configure(domo_run_seconds=RUNS_FOR)
    try:
        run_id = api.trigger(DAG_ID, {"model_id": model_id})

        def waiting() -> str | None:
            """The instance id, once the first try polls it (the task recorded it before its first poll)."""
            instance_id = str(api.xcom(DAG_ID, run_id, "start", "instance_id"))
            polled = [r for r in control.requests("domo.get") if instance_id in r["path"]]
            return instance_id if polled else None

        instance_id = str(wait_until(waiting, timeout=120, interval=0.5, what="the start task to poll"))
        stack.kill_celery_worker()
        stack.start_celery_worker()
        state, _ = api.wait_for_run(DAG_ID, run_id, timeout=300, check=stack.check_running)
    finally:
        control.configure(domo_run_seconds=previous)

    assert state == "success", api.task_states(DAG_ID, run_id)
    assert len(_starts_of(control, model_id)) == 1  # one instance, not two
    task = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/start")
    assert task["try_number"] == 2
    result = api.xcom(DAG_ID, run_id, "start")
    assert (result["instance_id"], result["final_status"]) == (instance_id, "COMPLETED")
    assert control.domo_instance(instance_id)["status"] == "COMPLETED"
    retry_log = api.task_log(DAG_ID, run_id, "start", try_number=2)
    assert f"Reattaching to Domo instance {instance_id} (status IN_PROGRESS)" in retry_log
