"""EnOS flows and their instances' task nodes: one model serving Get Flow Instance's ``graph``, Get Task
Instance Log, Trigger Flow (From Task) and the control API.

A flow is a chain of tasks (by default three: ``taskId`` = flowId * 100 + 1, 2, 3) until the control API
defines its tasks (``PUT /_emulator/enos/flows/{flowId}``, with a task the next ``failures`` instances that
run it fail at, and why). Every new instance, triggered or made by the control API, starts through
:func:`start_run`, which gives it a :class:`TaskRun`: the flow's tasks, the one it runs from (those before
were inherited, shown SKIP), and where and why it fails if it ends in failure (``POST
/_emulator/enos/instances/{id}/failure`` changes that for one instance). Task statuses are derived from the
instance's lifecycle and the clock whenever they are read. The choices the spec leaves open are assumptions
23, 24, 31 and 32 in docs/emulator.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from .common import CONTROL_PREFIX, ENOS_MESSAGES, ApiError, json_response
from .state import ENOS_RUNNING, ENOS_STATUS_NAMES, ENOS_TERMINAL, EmulatorState, EnosInstance, state_of

router = APIRouter(prefix=CONTROL_PREFIX)

#: Task nodes of a flow unless the control API defines its tasks.
DEFAULT_TASKS = 3
#: Returned with every task's log: a command line whose password a client must blank before showing it.
FAKE_SECRET_LINE = "cmdline:\tsh {name}.sh --db-password=emulator-fake-password"
DEFAULT_REASON = "the task exited with code 1"
ENOS_FAIL, ENOS_SUCCESS, ENOS_SKIP = -1, 1, 10


@dataclass(frozen=True)
class TaskFailure:
    """Where and why an instance that ends in failure fails: at task ``task_id`` (``None``: the last task
    it runs), with ``reason``, its log showing ``log`` before the reason."""

    task_id: int | None = None
    reason: str = DEFAULT_REASON
    log: tuple[str, ...] = ()


@dataclass
class FlowPlan:
    """A flow's tasks (in order), and a failure the next ``failures`` instances that run its task get."""

    task_ids: list[int]
    failure: TaskFailure | None = None
    failures: int = 0


@dataclass(frozen=True)
class TaskRun:
    """The task nodes of one instance: it runs ``task_ids[first:]`` (those before were inherited, shown
    SKIP) and, if it ends in failure, fails as ``failure`` says (default: at its last task)."""

    task_ids: tuple[int, ...]
    first: int = 0
    failure: TaskFailure | None = None

    def failed_index(self) -> int:
        task_id = None if self.failure is None else self.failure.task_id
        return len(self.task_ids) - 1 if task_id is None else self.task_ids.index(task_id)


def _default_ids(flow_id: int) -> list[int]:
    return [flow_id * 100 + i for i in range(1, DEFAULT_TASKS + 1)]


def _plan(state: EmulatorState, flow_id: int) -> FlowPlan:
    plan: FlowPlan | None = state.data.enos_flows.get(flow_id)
    return plan if plan is not None else FlowPlan(_default_ids(flow_id))


def run_of(instance: EnosInstance) -> TaskRun:
    """The instance's task nodes (an instance made without :func:`start_run` has the default flow's)."""
    run: TaskRun | None = instance.tasks
    return run if run is not None else TaskRun(tuple(_default_ids(instance.flow_id)))


def start_run(
    state: EmulatorState, *, flow_id: int, from_task: int | None = None, **create: Any
) -> EnosInstance:
    """A new instance of ``flow_id`` (``create``: :meth:`EmulatorState.create_enos_instance`'s other
    arguments), from its first task or from ``from_task`` (62102 when that is no task of the flow). When it
    runs the task of a planned failure that has instances left, it uses one up and ends FAIL there."""
    with state.lock:
        plan = _plan(state, flow_id)
        if from_task is not None and from_task not in plan.task_ids:
            raise ApiError(
                200, f"{ENOS_MESSAGES[62102]}: task {from_task} is not a task of flow {flow_id}", 62102
            )
        first = 0 if from_task is None else plan.task_ids.index(from_task)
        planned = plan.failure if plan.failures > 0 and plan.failure is not None else None
        if planned is not None and planned.task_id in plan.task_ids[first:]:
            plan.failures -= 1
            create["final_status"] = ENOS_FAIL
        else:
            planned = None
        instance = state.create_enos_instance(flow_id=flow_id, **create)
        instance.tasks = TaskRun(tuple(plan.task_ids), first, planned)
        return instance


def _index_at(instance: EnosInstance, first: int, count: int, moment: float) -> int:
    """Which task runs at ``moment``: the tasks run share the run time equally, in list order."""
    life = instance.life
    if not math.isfinite(life.end_at) or life.end_at <= life.start_at:
        return first
    share = (life.end_at - life.start_at) / (count - first)
    return first + max(0, min(count - first - 1, int((moment - life.start_at) / share)))


def task_statuses(instance: EnosInstance, now: float) -> list[str]:
    """Each task node's status at ``now`` (FlowInstanceStatus names)."""
    run, life = run_of(instance), instance.life
    first, count = run.first, len(run.task_ids)
    phase, since = life.phase(now)
    if phase == "pending":
        return ["SKIP"] * first + ["INIT"] * (count - first)
    if phase == "finished" and life.final_status in (ENOS_SUCCESS, ENOS_SKIP):
        return ["SKIP"] * first + [ENOS_STATUS_NAMES[life.final_status]] * (count - first)
    if phase == "running":
        current = _index_at(instance, first, count, now)
        ended = ENOS_STATUS_NAMES.get(life.held_status or ENOS_RUNNING, "RUNNING")
    elif phase == "canceled":
        current, ended = _index_at(instance, first, count, since), "CANCEL"
    else:
        current, ended = run.failed_index(), ENOS_STATUS_NAMES.get(life.final_status, "UNKNOWN")
    return ["SKIP"] * first + ["SUCCESS"] * (current - first) + [ended] + ["INIT"] * (count - current - 1)


def _task_instance_id(instance: EnosInstance, task_id: int) -> str:
    return f"{task_id}-{instance.instance_id.split('-', 1)[1]}"


def render_graph(instance: EnosInstance, now: float) -> dict[str, Any]:
    """The ``graph`` object (encoded as a string by the caller, as EnOS does)."""
    run = run_of(instance)
    tasks = [
        {
            "taskName": f"task_{task_id}",
            "taskInstId": _task_instance_id(instance, task_id),
            "taskId": task_id,
            "nodeId": f"t_{task_id}",
            "status": status,
        }
        for task_id, status in zip(run.task_ids, task_statuses(instance, now), strict=True)
    ]
    return {
        "creator": instance.owner,
        "instId": instance.instance_id,
        "id": instance.flow_id,
        "flows": [],
        "relations": [],
        "tasks": tasks,
    }


def find_task(instances: dict[str, EnosInstance], task_inst_id: str) -> tuple[EnosInstance, int] | None:
    """The instance and task index of a task instance id (``{taskId}-{digits of the flow instance}``)."""
    number, _, digits = task_inst_id.partition("-")
    if not number.isascii() or not number.isdigit() or not digits:
        return None
    for instance in instances.values():
        task_ids = run_of(instance).task_ids
        if instance.instance_id.endswith(f"-{digits}") and int(number) in task_ids:
            return instance, task_ids.index(int(number))
    return None


def task_log(instance: EnosInstance, index: int, now: float, clock_text: str) -> str | None:
    """The task's log at ``now``; ``None`` while it has not run, or when it was inherited (EnOS: "No log
    found")."""
    run = run_of(instance)
    status = task_statuses(instance, now)[index]
    if status == "INIT" or index < run.first:
        return None
    name = f"task_{run.task_ids[index]}"
    lines = [
        "=" * 40,
        "run num:\t1",
        f"instance:\tt{_task_instance_id(instance, run.task_ids[index])}",
        FAKE_SECRET_LINE.format(name=name),
        f"submitter:\t{instance.owner}",
        f"current time:\t{clock_text}",
        "=" * 40,
        f"{name} started",
    ]
    if status not in ("SUCCESS", "RUNNING", "CANCEL", "SKIP"):
        failure = run.failure or TaskFailure()
        lines += [*failure.log, f"ERROR {failure.reason}", f"{name} ended with status {status}"]
    elif status != "RUNNING":
        lines.append(f"{name} ended with status {status}")
    return "\n".join(lines) + "\n"


# -- control API ----------------------------------------------------------------------------------------


class _FailureFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = DEFAULT_REASON
    log: list[str] = Field(default_factory=list)


class EnosFlowSpec(_FailureFields):
    """``PUT /_emulator/enos/flows/{flow_id}``: the flow's tasks, and a task the next ``failures``
    instances that run it fail at (with ``reason`` and ``log``)."""

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


class EnosFailureSpec(_FailureFields):
    """``POST /_emulator/enos/instances/{id}/failure``: the task it fails at (a task id it runs; default
    its last), and a terminal ``status`` that ends it so now (``None``: its lifecycle ends it)."""

    task: int | None = None
    status: int | None = None


@router.put("/enos/flows/{flow_id}", name="control.enos.flow")
async def define_enos_flow(request: Request, flow_id: int, spec: EnosFlowSpec) -> Response:
    state = state_of(request)
    failure = (
        None if spec.fail_at_task is None else TaskFailure(spec.fail_at_task, spec.reason, tuple(spec.log))
    )
    with state.lock:
        state.data.enos_flows[flow_id] = FlowPlan(list(spec.tasks), failure, spec.failures if failure else 0)
    failures = {} if spec.fail_at_task is None else {spec.fail_at_task: spec.failures}
    return json_response({"flowId": flow_id, "tasks": spec.tasks, "failures": failures})


def fail_instance(instance: EnosInstance, now: float, spec: EnosFailureSpec) -> None:
    """Make ``instance`` fail as ``spec`` says (the caller holds the state's lock)."""
    run = run_of(instance)
    if spec.task is not None and spec.task not in run.task_ids[run.first :]:
        raise ApiError(400, f"task {spec.task} is not a task instance {instance.instance_id} runs")
    if spec.status is not None and spec.status not in ENOS_TERMINAL:
        raise ApiError(400, f"status must be a terminal code, got {spec.status}")
    instance.tasks = replace(run, failure=TaskFailure(spec.task, spec.reason, tuple(spec.log)))
    if spec.status is not None:
        instance.life.force(now, spec.status, running=ENOS_RUNNING, pending=0, terminal=True)
