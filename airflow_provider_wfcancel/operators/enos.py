"""Operators for the EnOS Batch Processing Service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._service_task import EnosConnection, EnosInstanceTarget
from airflow_provider_wfcancel.operators._base import BaseCancelOperator
from airflow_provider_wfcancel.operators._rerun import RerunFromFailedTask
from airflow_provider_wfcancel.operators._start import BaseStartOperator, Started

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks.enos import EnosHook  # noqa: F401  # the type argument below

# Hooks are imported when a task runs, not when a DAG file imports the operator.
_TRIGGER = "airflow_provider_wfcancel.triggers.enos.EnosFlowInstanceTrigger"


class EnosCancelFlowInstanceOperator(EnosInstanceTarget, BaseCancelOperator["EnosHook"]):
    """Cancel a running EnOS Batch Processing flow instance and return a :class:`CancelResult` to XCom.

    EnOS answers a cancel with an empty ``data`` and reports ``CANCEL`` a moment later, so by default the
    operator waits (at most ``timeout`` seconds) until the instance reports a terminal status. EnOS lets
    only the instance's owner cancel it: ``user_id`` (or the connection's ``user_id`` extra) must be that
    owner. When EnOS refuses the cancel because the instance had already finished, the result's outcome
    is ``already_finished``.

    :param flow_instance_id: the flow instance id, ``{flowId}-{digits}`` such as ``2438-201908081020``;
        templated.
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as (default, also when empty: the connection's ``user_id``
        extra); templated.
    :param org_id: EnOS Organization ID (default, also when empty: the connection's ``org_id`` extra);
        templated.
    :param wait_for_termination: wait until the instance is terminal (``CANCEL`` or another end);
        templated, so a UI form's boolean can drive it.

    ``timeout``, ``poll_interval``, ``fail_if_already_finished`` and ``deferrable``: see
    :class:`~airflow_provider_wfcancel.operators._base.BaseCancelOperator`.
    """

    template_fields = ("flow_instance_id", "user_id", "org_id", "enos_conn_id", "wait_for_termination")
    trigger_class = _TRIGGER


class EnosTriggerFlowOperator(EnosConnection, RerunFromFailedTask, BaseStartOperator["EnosHook"]):
    """Trigger an EnOS Batch Processing flow; push the new ``instance_id`` at once.

    EnOS answers a trigger with the new id only: the id is pushed (and kept for ``on_kill``) first, then
    one Get Flow Instance reads ``status_at_start``, best-effort (``None`` when that read fails).

    :param flow_id: the flow to trigger (an integer, or a string of digits from a template); templated.
    :param trigger_time_ms: scheduled time of the instance, epoch milliseconds (default: now).
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as, the owner of the new instance (default, also when empty:
        the connection's ``user_id`` extra); templated.
    :param org_id: EnOS Organization ID (default, also when empty: the connection's ``org_id`` extra);
        templated.
    :param wait_for_completion: wait until the instance ends; fail unless it ends ``SUCCESS``.
    :param rerun_failed_from_task: on Airflow 3.3+, when the instance an earlier try of this task worked
        with failed (FAIL, INTERNAL_ERROR, TIMEOUT) at one task, the next try (a retry, or a clear of the
        failed task) triggers the flow from that task (Trigger Flow From Task) instead of from the start;
        the instance must be of this task's flow, and the task is the one EnOS' graph of it says failed.
        Anything else (the instance succeeded, was cancelled, failed at several tasks; older Airflow)
        triggers the whole flow, with a log line. Useful with ``wait_for_completion`` and ``retries``. See
        :mod:`~airflow_provider_wfcancel.operators._rerun`.

    ``timeout``, ``poll_interval``, ``cancel_on_kill``, ``cancel_on_run_failed``, ``durable``,
    ``if_running`` (templated) and ``deferrable``: see
    :class:`~airflow_provider_wfcancel.operators._start.BaseStartOperator`.
    """

    template_fields = ("flow_id", "user_id", "org_id", "enos_conn_id", "wait_for_completion", "if_running")
    trigger_class = _TRIGGER

    def __init__(
        self,
        *,
        flow_id: int | str,
        trigger_time_ms: int | None = None,
        rerun_failed_from_task: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.trigger_time_ms = trigger_time_ms
        self.rerun_failed_from_task = rerun_failed_from_task

    def running_instance(self) -> InstanceState | None:
        """A running (or waiting) instance of the flow, as the service's status filter finds it."""
        running = self.hook.running_flow_instances(self.flow_id, limit=0)
        return running[0] if running else None

    def start_instance(self) -> Started:
        """Trigger the flow (from the task an earlier try's instance failed at, with
        ``rerun_failed_from_task``); EnOS answers with the new id only (``execute`` reads the status)."""
        flow_id = self.flow_id
        if isinstance(flow_id, str) and flow_id.strip().isascii() and flow_id.strip().isdigit():
            flow_id = int(flow_id)
        rerun = self.rerun_failed_task(flow_id)
        return Started(rerun or self.hook.trigger_flow(flow_id, self.trigger_time_ms))  # type: ignore[arg-type]  # validated there
