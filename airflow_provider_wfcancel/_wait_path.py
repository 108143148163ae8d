"""How a wait for an instance's end is judged: one rule for a status read in the worker (a sensor's poke)
and for a trigger's event (a deferred sensor resuming).

The protocol layer says what a status means (``InstanceState.is_terminal`` / ``is_success``); this module
only decides whether the end a task waited for is one it accepts: the service's success (Domo
``COMPLETED``, EnOS ``SUCCESS``) unless the task lists ``accepted_statuses``. Any other end raises
:class:`RemoteInstanceEndedError`, an ``AirflowFailException``: a retry would find the same end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from airflow_provider_wfcancel._validation import check_statuses
from airflow_provider_wfcancel.exceptions import RemoteInstanceEndedError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.failure import FailureDetail
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook


class WaitResult(TypedDict):
    """The XCom ``return_value`` of every sensor: the instance's end, the same shape for both services."""

    service: str
    instance_id: str
    final_status: str | None
    url: str | None
    #: Why the instance failed (an accepted failure), else ``None`` (see :mod:`._failure_path`).
    failure_detail: FailureDetail | None


def accepted_statuses(hook: WorkflowServiceHook[Any], value: Any) -> frozenset[str] | None:
    """The checked ``accepted_statuses`` (terminal status names of the hook's service), or ``None`` for
    the service's success only."""
    if value is None:
        return None
    return check_statuses("accepted_statuses", value, known=hook.terminal_statuses, service=hook.service)


def settle(
    hook: WorkflowServiceHook[Any],
    *,
    instance_id: str,
    final_status: str | None,
    is_success: bool,
    url: str | None,
    accepted: frozenset[str] | None,
    failure_detail: FailureDetail | None = None,
) -> WaitResult:
    """The result for an instance that reached the terminal ``final_status``; raise
    :class:`RemoteInstanceEndedError` (with the status) unless the end is accepted. ``failure_detail``:
    why it failed, when it did (the caller read and pushed it)."""
    ok = is_success if accepted is None else final_status in accepted
    label = final_status if final_status is not None else "null"
    if not ok:
        expected = hook.success_status if accepted is None else ", ".join(sorted(accepted))
        raise RemoteInstanceEndedError(
            f"{hook.service} instance {instance_id} ended with status {label}; the sensor accepts {expected}",
            service=hook.service,
        )
    return WaitResult(
        service=hook.conn_type,
        instance_id=instance_id,
        final_status=final_status,
        url=url,
        failure_detail=failure_detail,
    )
