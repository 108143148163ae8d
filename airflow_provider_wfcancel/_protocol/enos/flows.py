"""EnOS flow triggers (Trigger Flow, Trigger Flow From Task) and a flow instance's task graph; no I/O.

A FlowInstance carries ``graph``, JSON encoded as a string, whose ``tasks`` are the instance's task nodes
(``taskId`` an integer, ``status`` a string; the documented samples show SUCCESS, CANCEL, INIT, and NONE
for sub-flow nodes). Trigger Flow From Task (``POST flows?action=triggerFromTask``, body ``{flowId, taskId,
triggerTime}``) starts a new instance of the flow from one of its tasks. What the spec leaves open, and
what is assumed here (docs/howto/start.md, "EnOS: rerun from the failed task", repeats it):

- a task node that failed carries a failed instance status name: FAIL, INTERNAL_ERROR or TIMEOUT;
- the answer is Trigger Flow's, ``data.flowInstanceId``;
- only top-level ``tasks`` are read (a failure inside a sub-flow node is not one this provider reruns from).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from airflow_provider_wfcancel._protocol.enos.exchanges import MAX_FLOW_ID, now_ms
from airflow_provider_wfcancel.exceptions import InvalidInputError

TRIGGER = "trigger"
TRIGGER_FROM_TASK = "triggerFromTask"
#: Instance (and task node) statuses that mean "failed": terminal, neither SUCCESS, CANCEL nor SKIP.
FAILED_STATUSES = frozenset({"FAIL", "INTERNAL_ERROR", "TIMEOUT"})


class FlowTask(NamedTuple):
    """One task node of a flow instance's graph."""

    task_id: int
    name: str | None
    status: str | None


def _whole(name: str, value: Any) -> int:
    """A flow or task id: a positive integer (EnOS' ids are Java longs)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_FLOW_ID:
        raise InvalidInputError(f"{name} must be a positive integer (at most 2**63-1), got {value!r}")
    return value


def _positive_id(value: Any) -> int | None:
    """An id the service sends as a number (or a string of digits); ``None`` for anything else."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    try:
        return _whole("taskId", value)
    except InvalidInputError:
        return None


def graph_tasks(raw: Mapping[str, Any]) -> list[FlowTask] | None:
    """The task nodes of the FlowInstance ``raw`` (its ``graph``, a JSON string or an object), in the
    graph's order; ``None`` when there is no readable graph of this instance (no ``tasks`` list, a graph
    naming another instance). Nodes without a usable ``taskId`` are left out."""
    graph = raw.get("graph")
    if isinstance(graph, str):
        try:
            graph = json.loads(graph)
        except ValueError:
            return None
    if not isinstance(graph, Mapping) or not isinstance(graph.get("tasks"), list):
        return None
    inst_id = graph.get("instId")
    if inst_id is not None and inst_id != raw.get("instanceId"):
        return None
    tasks = []
    for node in graph["tasks"]:
        task_id = _positive_id(node.get("taskId")) if isinstance(node, Mapping) else None
        if task_id is not None:
            name, status = node.get("taskName"), node.get("status")
            tasks.append(
                FlowTask(
                    task_id,
                    name if isinstance(name, str) else None,
                    status if isinstance(status, str) else None,
                )
            )
    return tasks


def failed_tasks(raw: Mapping[str, Any]) -> list[FlowTask]:
    """The task nodes of ``raw``'s graph whose status is a failure (:data:`FAILED_STATUSES`)."""
    return [task for task in graph_tasks(raw) or () if task.status in FAILED_STATUSES]


def trigger_payload(flow_id: Any, trigger_time_ms: Any, task_id: Any = None) -> dict[str, Any]:
    """The body of Trigger Flow (``{flowId, triggerTime}``) or, with ``task_id``, of Trigger Flow From Task
    (``{flowId, taskId, triggerTime}``); checked before any request. ``triggerTime`` defaults to now."""
    payload: dict[str, Any] = {"flowId": _whole("flow_id", flow_id)}
    if trigger_time_ms is not None and (
        isinstance(trigger_time_ms, bool) or not isinstance(trigger_time_ms, int) or trigger_time_ms < 0
    ):
        raise InvalidInputError(f"trigger_time_ms must be epoch milliseconds, got {trigger_time_ms!r}")
    if task_id is not None:
        payload["taskId"] = _whole("task_id", task_id)
    payload["triggerTime"] = trigger_time_ms if trigger_time_ms is not None else now_ms()
    return payload
