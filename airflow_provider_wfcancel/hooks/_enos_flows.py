"""The EnOS hook's flow triggers (Trigger Flow, Trigger Flow From Task) and the failed tasks of an instance,
on top of :mod:`.._protocol.enos.flows` (the request bodies and the graph's reading)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._protocol.enos import exchanges as enos
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
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

    _Hook = WorkflowServiceHook[EnosSettings]
else:
    _Hook = object


class EnosFlowTriggers(_Hook):
    """Trigger Flow and Trigger Flow From Task; which tasks of a failed instance failed."""

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
        return failed_tasks(state.raw) if state.status in FAILED_STATUSES else []
