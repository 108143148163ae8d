"""The EnOS hook's flow triggers (Trigger Flow, Trigger Flow From Task) and what failed in an instance: its
failed tasks, and the failure detail's exchange (those tasks with their logs' last lines), on top of
:mod:`.._protocol.enos.flows` (the request bodies and the one reading of the graph's failed tasks) and
:mod:`.._protocol.enos.task_logs`. The public ``failure_detail`` / ``afailure_detail`` are the hook base's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._protocol.enos import exchanges as enos
from airflow_provider_wfcancel._protocol.enos import task_logs
from airflow_provider_wfcancel._protocol.enos.exchanges import EnosSettings, Identity
from airflow_provider_wfcancel._protocol.enos.flows import (
    FAILED_STATUSES,
    TRIGGER,
    TRIGGER_FROM_TASK,
    FlowTask,
    failed_tasks,
    trigger_payload,
)

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.exchange import Exchange
    from airflow_provider_wfcancel._protocol.failure import DetailBounds, FailureDetail
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

    _Hook = WorkflowServiceHook[EnosSettings]
else:
    _Hook = object


class EnosFlowTriggers(_Hook):
    """Trigger Flow and Trigger Flow From Task; which tasks of a failed instance failed, and why."""

    if TYPE_CHECKING:

        def identity(
            self, settings: EnosSettings, user_id: str | None = None, org_id: str | None = None
        ) -> Identity: ...

    def trigger_flow(
        self,
        flow_id: int,
        trigger_time_ms: int | None = None,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> str:
        """Trigger Flow (``POST flows?action=trigger``); returns the new flow instance id.

        Not idempotent: it is resent only when the gateway proves it did not run it (connect error,
        429, 503, or a rejected token).
        """
        return self._trigger(TRIGGER, trigger_payload(flow_id, trigger_time_ms), user_id, org_id)

    def trigger_flow_from_task(
        self,
        flow_id: int,
        task_id: int,
        trigger_time_ms: int | None = None,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> str:
        """Trigger Flow From Task (``POST flows?action=triggerFromTask``): a new instance of ``flow_id``
        that runs from task ``task_id`` (a ``taskId`` of the flow's graph); returns its id. Not idempotent,
        resent as :meth:`trigger_flow` is."""
        payload = trigger_payload(flow_id, trigger_time_ms, task_id)
        return self._trigger(TRIGGER_FROM_TASK, payload, user_id, org_id)

    def _trigger(self, action: str, payload: dict[str, Any], user_id: str | None, org_id: str | None) -> str:
        settings = self.settings
        return self.run(enos.trigger(settings, self.identity(settings, user_id, org_id), payload, action))

    @staticmethod
    def failed_tasks(state: InstanceState) -> list[FlowTask]:
        """The tasks that failed in the flow instance ``state`` (from its graph, as Get Flow Instance
        answered); empty unless the instance itself failed (FAIL, INTERNAL_ERROR, TIMEOUT)."""
        if state.status not in FAILED_STATUSES:
            return []
        try:
            return failed_tasks(state.raw)
        except ValueError:  # no readable graph: no task to rerun from
            return []

    def failure_exchange(
        self, settings: EnosSettings, state: InstanceState, bounds: DetailBounds, **options: Any
    ) -> Exchange[FailureDetail]:
        """The failed tasks of ``state`` (as :meth:`failed_tasks` reads them), each with its log's last
        lines; ``options``: ``user_id``/``org_id`` of the log reads (default: the hook's, then the
        connection's)."""
        return task_logs.failure_detail(settings, self.identity(settings, **options), state, bounds)
