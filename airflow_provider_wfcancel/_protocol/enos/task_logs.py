"""Why an EnOS flow instance failed: the failed task nodes of its ``graph`` (Get Flow Instance) and the end
of each one's log (Get Task Instance Log, ``taskInstances?action=getLog``), as one exchange.

Which task nodes failed is read by :func:`.flows.failed_tasks`, as the rerun from the failed task reads it
(what counts as failed, and what is not descended into, is said there). A log's ``maxLength`` is sent as the documented default (2**20), so
no answer is larger than that whichever end the service keeps; the last lines are taken here.
"""

from __future__ import annotations

import re
import time

from airflow_provider_wfcancel._http import ApiResponse
from airflow_provider_wfcancel._protocol.enos.exchanges import EnosSettings, Identity, batch_request, call
from airflow_provider_wfcancel._protocol.enos.flows import failed_tasks
from airflow_provider_wfcancel._protocol.enos.responses import (
    CODE_INTERNAL,
    SERVICE,
    as_code,
    as_not_found,
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
from airflow_provider_wfcancel.exceptions import ApiError, WfCancelError

#: ``{taskId}-{digits}`` (``104890-20190812080700``, ``613010-2022031400``); anything else is not asked for.
TASK_INSTANCE_ID = re.compile(r"[0-9]{1,18}-[0-9]{6,14}")
#: The documented default of Get Task Instance Log's ``maxLength`` (characters).
MAX_LOG_LENGTH = 2**20
#: Scalar fields of the FlowInstance kept in the detail's ``record``.
RECORD_FIELDS = ("flowId", "flowName", "triggerTime", "startTime", "endTime")


def classify_log_response(response: ApiResponse) -> WfCancelError | None:
    """As any batch-processing answer, except that 62109 here means "No log found" (documented), which
    no retry changes: :class:`NotFoundError` instead of a transient error."""
    error = classify_batch_response(response)
    if error is not None and as_code(error.service_code) == CODE_INTERNAL:
        return as_not_found(response, error, "EnOS has no log for this task instance")
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
        failed = failed_tasks(state.raw)
    except ValueError as error:
        detail["error"] = f"the flow instance's graph could not be read: {error}"
        return detail
    detail["tasks_not_shown"] = max(0, len(failed) - bounds.max_tasks)
    deadline = time.monotonic() + bounds.deadline
    for node in failed[: bounds.max_tasks]:
        task = TaskFailure(
            name=clip(node.name, bounds.max_bytes),
            task_id=None if node.task_id is None else str(node.task_id),
            task_instance_id=clip(node.task_instance_id, bounds.max_bytes),
            status=clip(node.status, bounds.max_bytes),
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
