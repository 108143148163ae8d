"""What happens when a wait ends in failure: one rule for start operators, sensors and the cancel path.

A failure is an end that is neither the service's success nor cancelled (EnOS FAIL, INTERNAL_ERROR,
TIMEOUT, SKIP; Domo ``FAILED`` or any other end). Then the hook reads why (EnOS: the failed task nodes
and the last lines of their logs; Domo: what the instance record holds; bounded, see
:class:`~._protocol.failure.DetailBounds`), every string of it is redacted, a short summary goes to the
task log, and the detail becomes the result's ``failure_detail`` (and, with ``push``, its own XCom key, so
it is there when the task fails). Reading it never changes the task's outcome: whatever goes wrong becomes
the detail's ``error``, logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_wfcancel._protocol.failure import (
    DEFAULT_BOUNDS,
    FailureDetail,
    bounded_lines,
    clip,
    empty_detail,
)
from airflow_provider_wfcancel.exceptions import WfCancelError, redact_service_text

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

#: The XCom key the detail is pushed under (besides the result's ``failure_detail``).
XCOM_KEY = "failure_detail"
#: ``ti.xcom_push``-like: ``push(key=..., value=...)``.
Push = Callable[..., Any]


class End(NamedTuple):
    """How a wait ended: from a status read (``state``, whose record the detail reuses) or a trigger's event."""

    instance_id: str
    status: str | None
    is_success: bool
    is_cancelled: bool
    state: InstanceState | None = None

    @classmethod
    def of(cls, state: InstanceState) -> End:
        return cls(state.instance_id, state.status, state.is_success, state.is_cancelled, state)

    @classmethod
    def from_event(cls, instance_id: str, payload: dict[str, Any]) -> End:
        return cls(
            instance_id,
            payload.get("final_status"),
            bool(payload.get("is_success")),
            bool(payload.get("is_cancelled")),
        )

    @property
    def failed(self) -> bool:
        return not (self.is_success or self.is_cancelled)


def failure_detail(
    hook: WorkflowServiceHook[Any], end: End, log: logging.Logger | Any, push: Push | None = None
) -> FailureDetail | None:
    """``None`` unless ``end`` is a failure; else why (read through ``hook``), redacted, summarized in
    ``log`` and pushed with ``push``. Never raises."""
    if not end.failed:
        return None
    try:
        detail = hook.failure_detail(end.instance_id, end.state)
    except Exception as error:
        detail = empty_detail(end.status, _reason(error))
    return _reported(hook.service, end, detail, log, push)


async def afailure_detail(
    hook: WorkflowServiceHook[Any], end: End, log: logging.Logger | Any, push: Push | None = None
) -> FailureDetail | None:
    """Async twin of :func:`failure_detail` (code that runs in the triggerer)."""
    if not end.failed:
        return None
    try:
        detail = await hook.afailure_detail(end.instance_id, end.state)
    except Exception as error:
        detail = empty_detail(end.status, _reason(error))
    return _reported(hook.service, end, detail, log, push)


def _reason(error: Exception) -> str:
    text = str(error) if isinstance(error, WfCancelError) else f"{type(error).__name__}: {error}"
    return clip(text, DEFAULT_BOUNDS.max_bytes) or type(error).__name__


def _reported(
    service: str, end: End, detail: FailureDetail, log: logging.Logger | Any, push: Push | None
) -> FailureDetail:
    detail = redacted(detail)
    try:
        summarize(service, end.instance_id, detail, log)
        if push is not None:
            push(key=XCOM_KEY, value=detail)
    except Exception as error:  # the detail is a courtesy: never the reason a task fails
        log.warning("Could not report why %s instance %s failed: %s", service, end.instance_id, error)
    return detail


def redacted(detail: FailureDetail) -> FailureDetail:
    """``detail`` with every string redacted, then each task's log bounded in bytes: the protocol keeps whole
    lines, so every secret is masked before any cut (a piece of one would not be)."""
    clean: FailureDetail = _redact(detail)
    bounds = DEFAULT_BOUNDS
    for task in clean["tasks"]:
        task["log"], cut = bounded_lines(task["log"], bounds.max_lines, bounds.max_bytes)
        task["log_truncated"] = task["log_truncated"] or cut
    return clean


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_service_text(value)
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def summarize(service: str, instance_id: str, detail: FailureDetail, log: logging.Logger | Any) -> None:
    """A few lines in the task log: the end, the reason or failed tasks, each one's last log lines."""
    what = f"{service} instance {instance_id} ended {detail['status'] or 'null'}"
    if detail["message"]:
        log.warning("%s: %s", what, detail["message"])
    elif detail["tasks"]:
        names = ", ".join(f"{task['name'] or task['task_id']} ({task['status']})" for task in detail["tasks"])
        more = f" and {detail['tasks_not_shown']} more" if detail["tasks_not_shown"] else ""
        log.warning("%s; failed tasks: %s%s", what, names, more)
    elif detail["error"] is None:
        log.warning("%s; the service names no failed task or reason", what)
    for task in detail["tasks"]:
        name = task["name"] or task["task_id"]
        if task["log"]:
            cut = " (cut)" if task["log_truncated"] else ""
            lines = "\n".join(f"    {line}" for line in task["log"])
            log.warning("Last %d log lines of task %s%s:\n%s", len(task["log"]), name, cut, lines)
        elif task["log_error"]:
            log.warning("Could not read the log of task %s: %s", name, task["log_error"])
    if detail["error"] is not None:
        log.warning("Could not read why %s failed: %s", f"{service} instance {instance_id}", detail["error"])
