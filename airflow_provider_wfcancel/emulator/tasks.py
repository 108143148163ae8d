"""EnOS flow instances' task nodes: the ``graph`` of Get Flow Instance, Get Task Instance Log
(``taskInstances?action=getLog``), and failure reasons (a flow that fails at a chosen task, with a reason
and log lines). Like the rest of the emulator, statuses are derived from the instance's lifecycle and the
clock whenever they are read (assumptions 31-33 in docs/emulator.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .state import ENOS_STATUS_NAMES, EnosInstance

#: Task nodes of a flow unless the control API says otherwise.
DEFAULT_TASKS = 3
#: Returned with every task's log: a command line whose password a client must blank before showing it.
FAKE_SECRET_LINE = "cmdline:\tsh {name}.sh --db-password=emulator-fake-password"
DEFAULT_REASON = "the task exited with code 1"
SUCCESS, INIT, CANCEL, SKIP = 1, 0, 8, 10


@dataclass
class TaskFailure:
    """Where and why a flow instance that ends in failure fails: task ``task`` (0-based; default the
    last), ``reason``, and the lines its log shows before the reason."""

    task: int | None = None
    reason: str = DEFAULT_REASON
    log: list[str] = field(default_factory=list)


def task_id(instance: EnosInstance, index: int) -> int:
    return instance.flow_id * 100 + index + 1


def task_instance_id(instance: EnosInstance, index: int) -> str:
    return f"{task_id(instance, index)}-{instance.instance_id.split('-', 1)[1]}"


def _index_at(instance: EnosInstance, moment: float) -> int:
    """Which task runs at ``moment``: the tasks share the run time equally, in list order."""
    life, count = instance.life, instance.tasks
    if not math.isfinite(life.end_at) or life.end_at <= life.start_at:
        return 0
    share = (life.end_at - life.start_at) / count
    return max(0, min(count - 1, int((moment - life.start_at) / share)))


def task_statuses(instance: EnosInstance, now: float) -> list[str]:
    """Each task node's status at ``now`` (FlowInstanceStatus names)."""
    life, count = instance.life, instance.tasks
    phase, since = life.phase(now)
    if phase == "pending":
        return ["INIT"] * count
    if phase == "finished" and life.final_status in (SUCCESS, SKIP):
        return [ENOS_STATUS_NAMES[life.final_status]] * count
    if phase == "running":
        current, ended = _index_at(instance, now), ENOS_STATUS_NAMES.get(life.held_status or 2, "RUNNING")
    elif phase == "canceled":
        current, ended = _index_at(instance, since), "CANCEL"
    else:
        failure = instance.failure
        current = count - 1 if failure is None or failure.task is None else min(failure.task, count - 1)
        ended = ENOS_STATUS_NAMES.get(life.final_status, "UNKNOWN")
    return ["SUCCESS"] * current + [ended] + ["INIT"] * (count - current - 1)


def render_graph(instance: EnosInstance, now: float) -> dict[str, Any]:
    """The ``graph`` object (encoded as a string by the caller, as EnOS does)."""
    tasks = []
    for index, status in enumerate(task_statuses(instance, now)):
        number = task_id(instance, index)
        tasks.append(
            {
                "taskName": f"task_{number}",
                "taskInstId": task_instance_id(instance, index),
                "taskId": number,
                "nodeId": f"t_{number}",
                "status": status,
            }
        )
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
    if not number.isdigit() or not digits:
        return None
    flow_id, index = divmod(int(number) - 1, 100)
    instance = instances.get(f"{flow_id}-{digits}")
    if instance is None or not 0 <= index < instance.tasks:
        return None
    return instance, index


def task_log(instance: EnosInstance, index: int, now: float, clock_text: str) -> str | None:
    """The task's log at ``now``; ``None`` while it has not run (EnOS: "No log found")."""
    status = task_statuses(instance, now)[index]
    if status == "INIT":
        return None
    name = f"task_{task_id(instance, index)}"
    lines = [
        "=" * 40,
        "run num:\t1",
        f"instance:\tt{task_instance_id(instance, index)}",
        FAKE_SECRET_LINE.format(name=name),
        f"submitter:\t{instance.owner}",
        f"current time:\t{clock_text}",
        "=" * 40,
        f"{name} started",
    ]
    if status not in ("SUCCESS", "RUNNING", "CANCEL", "SKIP"):
        failure = instance.failure or TaskFailure()
        lines += [*failure.log, f"ERROR {failure.reason}", f"{name} ended with status {status}"]
    elif status != "RUNNING":
        lines.append(f"{name} ended with status {status}")
    return "\n".join(lines) + "\n"
