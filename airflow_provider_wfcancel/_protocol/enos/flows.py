"""EnOS flow triggers (Trigger Flow, Trigger Flow From Task) and a flow instance's task graph; no I/O.

A FlowInstance carries ``graph``, JSON encoded as a string, whose ``tasks`` are the instance's task nodes
(``taskId`` an integer, ``status`` a string; the documented samples show SUCCESS, CANCEL, INIT, and NONE
for sub-flow nodes). Trigger Flow From Task (``POST flows?action=triggerFromTask``, body ``{flowId, taskId,
triggerTime}``) starts a new instance of the flow from one of its tasks. What the spec leaves open, and
what is assumed here (docs/howto/start.md, "EnOS: rerun from the failed task", and docs/xcom.md repeat it):

- which task statuses mean failure is not documented: every status that is not a known non-failure
  (:data:`NOT_FAILED`) counts, so FAIL, INTERNAL_ERROR, TIMEOUT and any unknown spelling do;
- the answer is Trigger Flow's, ``data.flowInstanceId``;
- only top-level ``tasks`` are read (sub-flows, ``flows[]``, are not descended into).

:func:`failed_tasks` is the one reading of which tasks failed: the rerun from the failed task and the
failure detail (:mod:`.task_logs`) both use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from airflow_provider_wfcancel._protocol.enos.exchanges import MAX_FLOW_ID, now_ms
from airflow_provider_wfcancel.exceptions import InvalidInputError

TRIGGER = "trigger"
TRIGGER_FROM_TASK = "triggerFromTask"
#: Instance statuses that mean "failed": terminal, neither SUCCESS, CANCEL nor SKIP.
FAILED_STATUSES = frozenset({"FAIL", "INTERNAL_ERROR", "TIMEOUT"})
#: Task node statuses that are not a failure (FlowInstanceStatus names, and NONE of sub-flow nodes).
NOT_FAILED = frozenset(
    {"SUCCESS", "INIT", "RUNNING", "SUSPEND", "WAIT", "READY", "CANCEL", "RERUN", "SKIP", "NONE"}
)


class FlowTask(NamedTuple):
    """One task node of a flow instance's graph (``task_id`` ``None`` when it has no usable ``taskId``)."""

    task_id: int | None
    name: str | None
    status: str | None
    task_instance_id: str | None = None


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


def graph_tasks(raw: Mapping[str, Any]) -> list[FlowTask]:
    """The task nodes of the FlowInstance ``raw`` (its ``graph``, a JSON string or an object), in the
    graph's order; ``ValueError`` when it holds no readable graph of this instance (not JSON, no list of
    ``tasks``, a graph naming another instance)."""
    graph = raw.get("graph")
    if isinstance(graph, str):
        try:
            graph = json.loads(graph)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"graph is not JSON ({type(error).__name__})") from None
    if not isinstance(graph, Mapping) or not isinstance(graph.get("tasks"), list):
        raise ValueError("graph is not an object with a list of tasks")
    inst_id = graph.get("instId")
    if inst_id is not None and inst_id != raw.get("instanceId"):
        raise ValueError("graph is not this instance's (its instId differs)")

    def text(node: Mapping[str, Any], name: str) -> str | None:
        value = node.get(name)
        return value if isinstance(value, str) else None

    return [
        FlowTask(
            _positive_id(node.get("taskId")),
            text(node, "taskName"),
            text(node, "status"),
            text(node, "taskInstId"),
        )
        for node in graph["tasks"]
        if isinstance(node, Mapping)
    ]


def is_failed(status: str | None) -> bool:
    """Whether a task node's status is a failure (any status but the known non-failures)."""
    return status is not None and status not in NOT_FAILED


def failed_tasks(raw: Mapping[str, Any]) -> list[FlowTask]:
    """The task nodes of ``raw``'s graph whose status is a failure (:func:`is_failed`); ``ValueError`` as
    :func:`graph_tasks`."""
    return [task for task in graph_tasks(raw) if is_failed(task.status)]


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
