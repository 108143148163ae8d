"""EnOS flows of several tasks: planned task failures, Trigger Flow From Task, and the graph's task nodes.

A flow is one task (``taskId`` = flowId * 100 + 1) until the control API defines its tasks
(``PUT /_emulator/enos/flows/{flowId}``: a chain, run in order) and, optionally, a task the next
``failures`` instances that run it fail at. Trigger Flow and Trigger Flow From Task both start an instance
through :func:`start_run`; :func:`task_nodes` renders its ``graph.tasks``. The choices the spec leaves open
are assumptions 23 and 24 in docs/emulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from .common import CONTROL_PREFIX, ENOS_MESSAGES, ApiError, json_response
from .state import ENOS_STATUS_NAMES, EmulatorState, EnosInstance, state_of

router = APIRouter(prefix=CONTROL_PREFIX)

ENOS_FAIL, ENOS_SUCCESS = -1, 1
#: Final statuses a task node shows where the failure happened (the others before it show SUCCESS).
_FAILED = frozenset({-1, 4, 7})


@dataclass
class FlowPlan:
    """A flow's tasks (in order), and how many more instances fail at a task."""

    task_ids: list[int]
    failures: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskRun:
    """The tasks of one instance: it runs ``task_ids[first:]`` (those before were inherited, shown SKIP)
    and, when ``fails_at`` is set, fails at ``task_ids[fails_at]``."""

    task_ids: tuple[int, ...]
    first: int = 0
    fails_at: int | None = None


def _plan(state: EmulatorState, flow_id: int) -> FlowPlan:
    plan: FlowPlan | None = state.data.enos_flows.get(flow_id)
    return plan if plan is not None else FlowPlan([flow_id * 100 + 1])


def start_run(
    state: EmulatorState,
    *,
    flow_id: int,
    owner: str,
    org_id: str,
    trigger_time: float | None,
    from_task: int | None = None,
) -> EnosInstance:
    """A new instance of ``flow_id``, from its first task or from ``from_task`` (62102 when that is no task
    of the flow); it fails at the first task it runs that has a planned failure left (one is used up)."""
    with state.lock:
        plan = _plan(state, flow_id)
        if from_task is not None and from_task not in plan.task_ids:
            raise ApiError(
                200, f"{ENOS_MESSAGES[62102]}: task {from_task} is not a task of flow {flow_id}", 62102
            )
        first = 0 if from_task is None else plan.task_ids.index(from_task)
        fails_at = next(
            (i for i in range(first, len(plan.task_ids)) if plan.failures.get(plan.task_ids[i], 0) > 0), None
        )
        if fails_at is not None:
            plan.failures[plan.task_ids[fails_at]] -= 1
        instance = state.create_enos_instance(
            flow_id=flow_id,
            owner=owner,
            org_id=org_id,
            trigger_time=trigger_time,
            final_status=None if fails_at is None else ENOS_FAIL,
        )
        instance.tasks = TaskRun(tuple(plan.task_ids), first, fails_at)
        return instance


def task_nodes(instance: EnosInstance, status: int) -> list[dict[str, Any]]:
    """``graph.tasks`` of ``instance`` while its status is ``status``: inherited tasks SKIP; on success the
    others SUCCESS; otherwise the task it is at (the failed one, else its first) shows the instance's
    status, those before it SUCCESS and those after it INIT."""
    run: TaskRun = instance.tasks or TaskRun((instance.flow_id * 100 + 1,))
    at = run.fails_at if run.fails_at is not None and status in _FAILED else run.first
    digits = instance.instance_id.split("-", 1)[1]
    nodes = []
    for index, task_id in enumerate(run.task_ids):
        if index < run.first:
            name = "SKIP"
        elif status == ENOS_SUCCESS or index < at:
            name = "SUCCESS"
        elif index == at:
            name = ENOS_STATUS_NAMES.get(status, "UNKNOWN")
        else:
            name = "INIT"
        nodes.append(
            {
                "taskName": f"task_{task_id}",
                "taskInstId": f"{task_id}-{digits}",
                "taskId": task_id,
                "nodeId": f"t_{task_id}",
                "status": name,
            }
        )
    return nodes


class EnosFlowSpec(BaseModel):
    """``PUT /_emulator/enos/flows/{flow_id}``: the flow's tasks, and a task the next ``failures``
    instances that run it fail at."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[int] = Field(min_length=1)
    fail_at_task: int | None = None
    failures: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _known_task(self) -> EnosFlowSpec:
        if len(set(self.tasks)) != len(self.tasks) or any(task <= 0 for task in self.tasks):
            raise ValueError("tasks must be distinct positive task ids")
        if self.fail_at_task is not None and self.fail_at_task not in self.tasks:
            raise ValueError(f"fail_at_task {self.fail_at_task} is not one of the tasks")
        return self


@router.put("/enos/flows/{flow_id}", name="control.enos.flow")
async def define_enos_flow(request: Request, flow_id: int, spec: EnosFlowSpec) -> Response:
    state = state_of(request)
    failures = {} if spec.fail_at_task is None else {spec.fail_at_task: spec.failures}
    with state.lock:
        state.data.enos_flows[flow_id] = FlowPlan(list(spec.tasks), failures)
    return json_response({"flowId": flow_id, "tasks": spec.tasks, "failures": failures})
