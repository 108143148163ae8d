"""``example_dags/cancel_all_with_approval.py`` in the deployment: triggered over REST, its approval task
waits for a person (``awaiting_input`` on Airflow 3.3), the person answers over the HITL REST route, and
the emulator shows what was cancelled: exactly the listed instances on Approve, nothing on Reject."""

from __future__ import annotations

import random
import uuid
from typing import Any

from .api import AirflowApi
from .processes import wait_until
from .stack import AirflowStack

DAG_ID = "cancel_all_with_approval"


def hitl_path(run_id: str, task_id: str) -> str:
    return f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"


def waiting_for_a_person(stack: AirflowStack, api: AirflowApi, run_id: str, task_id: str) -> dict[str, Any]:
    """The approval request, once the task waits for an answer (fails at once if the run ends first)."""

    def parked() -> bool:
        stack.check_running()
        if api.task_states(DAG_ID, run_id).get(task_id) == "awaiting_input":
            return True
        if api.run_state(DAG_ID, run_id) in ("success", "failed"):
            raise AssertionError(f"the run ended without asking: {api.task_states(DAG_ID, run_id)}")
        return False

    wait_until(parked, timeout=120, interval=0.5, what=f"{task_id} to wait for input")
    # Airflow 3.3.2: an answer that lands before the scheduler has processed the parked workload's exit
    # can fail the resumed task (seen once: "TI was not in a state where it could be marked as running",
    # previous_state=failed). A person never answers that fast; wait for that exit as they would.
    exited = (
        f"Received executor event with state success for task instance TaskInstanceKey(dag_id='{DAG_ID}', "
        f"task_id='{task_id}', run_id='{run_id}'"
    )
    wait_until(
        lambda: exited in (stack.logs / "scheduler.log").read_text(errors="replace"),
        timeout=60,
        what=f"the scheduler to see {task_id}'s parked workload exit",
    )
    return dict(api.call("GET", hitl_path(run_id, task_id)))


def cancelled(control: Any, route: str, ids: list[str]) -> list[str]:
    """Which of ``ids`` the emulator received a cancel for (once each, or as often as it did)."""
    paths = [f"{r['path']} {r['body']}" for r in control.requests(route)]
    return sorted(i for i in ids for path in paths if i in path)


def test_approve_over_rest_cancels_exactly_the_listed_instances(
    stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    model = str(uuid.uuid4())
    listed = [control.create_domo_instance(status="IN_PROGRESS", model_id=model)["id"] for _ in range(2)]
    other = control.create_domo_instance(status="IN_PROGRESS", model_id=str(uuid.uuid4()))["id"]
    run_id = api.trigger(DAG_ID, {"service": "domo", "target_id": model})

    request = waiting_for_a_person(stack, api, run_id, "domo_approve")
    assert request["subject"] == f"Cancel 2 running domo instance(s) of {model}?"
    assert all(f"`{instance_id}`" in request["body"] for instance_id in listed)
    late = control.create_domo_instance(status="IN_PROGRESS", model_id=model)["id"]  # after the dry run
    answer = api.call("PATCH", hitl_path(run_id, "domo_approve"), json={"chosen_options": ["Approve"]})
    state, _ = api.wait_for_run(DAG_ID, run_id, check=stack.check_running)

    assert state == "success", api.task_states(DAG_ID, run_id)
    assert answer["chosen_options"] == ["Approve"]
    assert cancelled(control, "domo.cancel", [*listed, late, other]) == sorted(listed)
    result = api.xcom(DAG_ID, run_id, "domo_cancel")
    assert sorted(row["instance_id"] for row in result["instances"]) == sorted(listed)
    assert control.domo_instance(late)["status"] == "IN_PROGRESS"


def test_reject_over_rest_cancels_nothing(stack: AirflowStack, api: AirflowApi, control: Any) -> None:
    flow_id = random.randint(10_000, 99_999)  # an id no other test lists
    ids = [control.create_enos_instance(status=2, flow_id=flow_id)["instanceId"] for _ in range(2)]
    run_id = api.trigger(DAG_ID, {"service": "enos", "target_id": str(flow_id)})

    request = waiting_for_a_person(stack, api, run_id, "enos_approve")
    assert all(f"`{instance_id}`" in request["body"] for instance_id in ids)
    api.call("PATCH", hitl_path(run_id, "enos_approve"), json={"chosen_options": ["Reject"]})
    state, _ = api.wait_for_run(DAG_ID, run_id, check=stack.check_running)

    assert state == "success", api.task_states(DAG_ID, run_id)
    assert api.task_states(DAG_ID, run_id)["enos_cancel"] == "skipped"
    assert cancelled(control, "enos.flowinstance.cancel", ids) == []
    assert {control.enos_instance(i)["statusDesc"] for i in ids} == {"RUNNING"}
