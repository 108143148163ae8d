"""The EnOS hook's failure detail: which exchange reads the failed task nodes and their logs (the public
``failure_detail`` / ``afailure_detail`` are the hook base's, as every public call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._protocol.enos import task_logs

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.enos.exchanges import EnosSettings, Identity
    from airflow_provider_wfcancel._protocol.exchange import Exchange
    from airflow_provider_wfcancel._protocol.failure import DetailBounds, FailureDetail
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

    _Hook = WorkflowServiceHook[EnosSettings]
else:
    _Hook = object


class EnosFailureSteps(_Hook):
    """``failure_exchange`` for EnOS: the graph's failed tasks, each with its log's last lines."""

    if TYPE_CHECKING:

        def identity(
            self, settings: EnosSettings, user_id: str | None = None, org_id: str | None = None
        ) -> Identity: ...

    def failure_exchange(
        self, settings: EnosSettings, state: InstanceState, bounds: DetailBounds, **options: Any
    ) -> Exchange[FailureDetail]:
        """``options``: ``user_id``/``org_id`` of the log reads (default: the hook's, then the connection's)."""
        return task_logs.failure_detail(settings, self.identity(settings, **options), state, bounds)
