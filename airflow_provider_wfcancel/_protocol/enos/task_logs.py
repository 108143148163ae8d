"""Why an EnOS flow instance failed: the failed task nodes of its ``graph`` (Get Flow Instance) and the end
of each one's log (Get Task Instance Log, ``taskInstances?action=getLog``), as one exchange.

The graph is JSON encoded as a string (an object is accepted too); its ``tasks[]`` carry ``taskName``,
``taskId``, ``taskInstId`` and ``status``, a string (samples: SUCCESS, CANCEL, INIT; sub-flow nodes NONE).
Which task statuses mean failure is not documented: every status that is not a known non-failure
(:data:`NOT_FAILED`) counts, so FAIL, INTERNAL_ERROR, TIMEOUT and any unknown spelling do. Sub-flows
(``flows[]``) are not descended into. A log's ``maxLength`` is sent as the documented default (2**20), so
no answer is larger than that whichever end the service keeps; the last lines are taken here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from airflow_provider_wfcancel._http import ApiResponse
from airflow_provider_wfcancel._protocol.enos.exchanges import EnosSettings, Identity, batch_request, call
from airflow_provider_wfcancel._protocol.enos.responses import (
    CODE_INTERNAL,
    SERVICE,
    as_code,
    classify_batch_response,
)
from airflow_provider_wfcancel._protocol.exchange import Exchange
from airflow_provider_wfcancel._protocol.failure import (
    DetailBounds,
    FailureDetail,
    TaskFailure,
    clip,
    empty_detail,
    record_fields,
    tail,
)
from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.exceptions import ApiError, NotFoundError, WfCancelError

#: Task node statuses that are not a failure (FlowInstanceStatus names, and NONE of sub-flow nodes).
NOT_FAILED = frozenset(
    {"SUCCESS", "INIT", "RUNNING", "SUSPEND", "WAIT", "READY", "CANCEL", "RERUN", "SKIP", "NONE"}
)
#: ``{taskId}-{digits}`` (``104890-20190812080700``, ``613010-2022031400``); anything else is not asked for.
TASK_INSTANCE_ID = re.compile(r"[0-9]{1,18}-[0-9]{6,14}")
#: The documented default of Get Task Instance Log's ``maxLength`` (characters).
MAX_LOG_LENGTH = 2**20
#: Scalar fields of the FlowInstance kept in the detail's ``record``.
RECORD_FIELDS = ("flowId", "flowName", "triggerTime", "startTime", "endTime")


class TaskNode(NamedTuple):
    name: str | None
    task_id: str | None
    task_instance_id: str | None
    status: str | None


def graph_tasks(graph: Any, max_bytes: int = 4096) -> list[TaskNode]:
    """The task nodes of a FlowInstance's ``graph`` (a JSON string or an object); ``ValueError`` when it
    is not a graph."""
    if isinstance(graph, str):
        try:
            graph = json.loads(graph)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"graph is not JSON ({type(error).__name__})") from None
    if not isinstance(graph, dict) or not isinstance(graph.get("tasks", []), list):
        raise ValueError("graph is not an object with a list of tasks")

    def text(node: Mapping[str, Any], name: str) -> str | None:
        value = node.get(name)
        return (
            clip(value, max_bytes) if isinstance(value, str | int) and not isinstance(value, bool) else None
        )

    return [
        TaskNode(text(node, "taskName"), text(node, "taskId"), text(node, "taskInstId"), text(node, "status"))
        for node in graph.get("tasks", [])
        if isinstance(node, dict)
    ]


def is_failed(status: str | None) -> bool:
    return status is not None and status not in NOT_FAILED


def classify_log_response(response: ApiResponse) -> WfCancelError | None:
    """As any batch-processing answer, except that 62109 here means "No log found" (documented), which
    no retry changes: :class:`NotFoundError` instead of a transient error."""
    error = classify_batch_response(response)
    if error is not None and as_code(error.service_code) == CODE_INTERNAL:
        return response.error(
            "EnOS has no log for this task instance",
            error_class=NotFoundError,
            service_code=error.service_code,
            service_message=error.service_message,
            request_id=error.request_id,
        )
    return error


def task_log(settings: EnosSettings, ident: Identity, task_instance_id: str) -> Exchange[str]:
    """Get Task Instance Log: the log text (``""`` when the answer holds none)."""
    params = {"taskInstId": task_instance_id, "maxLength": str(MAX_LOG_LENGTH)}
    request = batch_request(settings, "taskInstances", "getLog", ident, extra_params=params)
    body = yield from call(settings, request, classify_log_response)
    data = body.get("data")
    log = data.get("log") if isinstance(data, dict) else None
    if log is None:
        return ""
    if not isinstance(log, str):
        raise ApiError("EnOS answered Get Task Instance Log without a text data.log", service=SERVICE)
    return log


def failure_detail(
    settings: EnosSettings, ident: Identity, state: InstanceState, bounds: DetailBounds
) -> Exchange[FailureDetail]:
    """The failed task nodes of ``state``'s graph (at most ``bounds.max_tasks``) with the end of each
    one's log. A log that cannot be read (or is not asked for once ``bounds.deadline`` passed) is reported
    in its task's ``log_error``; an unreadable graph in the detail's ``error``. Raises nothing of its own."""
    detail = empty_detail(state.status)
    detail["record"] = record_fields(state.raw, RECORD_FIELDS, bounds.max_bytes)
    try:
        nodes = graph_tasks(state.raw.get("graph"), bounds.max_bytes)
    except ValueError as error:
        detail["error"] = f"the flow instance's graph could not be read: {error}"
        return detail
    failed = [node for node in nodes if is_failed(node.status)]
    detail["tasks_not_shown"] = max(0, len(failed) - bounds.max_tasks)
    deadline = time.monotonic() + bounds.deadline
    for node in failed[: bounds.max_tasks]:
        task = TaskFailure(
            name=node.name,
            task_id=node.task_id,
            task_instance_id=node.task_instance_id,
            status=node.status,
            log=[],
            log_truncated=False,
            log_error=None,
        )
        if node.task_instance_id is None or not TASK_INSTANCE_ID.fullmatch(node.task_instance_id):
            task["log_error"] = "not read: the graph names no well-formed task instance id"
        elif time.monotonic() >= deadline:
            task["log_error"] = f"not read: the detail's {bounds.deadline:g} s had passed"
        else:
            try:
                text = yield from task_log(settings, ident, node.task_instance_id)
            except WfCancelError as error:
                task["log_error"] = clip(str(error), bounds.max_bytes)
            else:
                task["log"], task["log_truncated"] = tail(text, bounds.max_lines, bounds.max_bytes)
        detail["tasks"].append(task)
    return detail
