"""Callbacks that cancel every running instance of a Domo model or an EnOS flow (clean-up by filter).

As failure callbacks best-effort like every notifier of this provider (errors are logged with their
reason); as Deadline Alert callbacks, or called with no context, a failure raises. They
build on :mod:`.._bulk_path` (the same listing, cap and result as the cancel-all-running operators).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel import _bulk_path
from airflow_provider_wfcancel._bulk_path import BulkPlan
from airflow_provider_wfcancel._service_task import DomoTarget, EnosTarget
from airflow_provider_wfcancel.exceptions import ApiError
from airflow_provider_wfcancel.notifications._base import is_best_effort
from airflow_provider_wfcancel.version_compat import (
    BaseNotifier,
    NotifierContextMixin,
    RenderEmptyTemplatesMixin,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook


class _CancelAllRunningNotifier(RenderEmptyTemplatesMixin, NotifierContextMixin, BaseNotifier):
    def __init__(self, *, max_instances: int = 100, max_workers: int = 8, deadline: float = 300.0) -> None:
        super().__init__()
        self.max_instances = max_instances
        self.max_workers = max_workers
        self.deadline = deadline

    def make_hook(self) -> WorkflowServiceHook[Any]:
        raise NotImplementedError

    def list_running(self, hook: Any, cap: int) -> list[InstanceState]:
        raise NotImplementedError

    def notify(self, context: Context) -> None:
        """As a failure callback best-effort (errors logged); otherwise (a Deadline Alert, a runner that
        passed no context) a listing that failed or any cancel that failed raises."""
        strict = not is_best_effort(context)
        try:
            cap = _bulk_path.check_max_instances(self.max_instances)
            plan = BulkPlan.checked(max_workers=self.max_workers, deadline=self.deadline)
            hook = self.make_hook()
            ids = _bulk_path.select(self.list_running(hook, cap), cap, hook.service)
            if not ids:
                self.log.info("No running %s instance matches; nothing to cancel", hook.service)
                return
            result = _bulk_path.run(hook, ids, plan, log=self.log)
            if failed := result["counts"]["error"]:
                raise ApiError(
                    f"{failed} of {result['matched']} cancel(s) of running {hook.service} instances failed "
                    "(each is logged above with its reason)",
                    service=hook.service,
                )
        except Exception as error:
            self.log.error(
                "%s of all running instances failed: %s", "Cancel" if strict else "Best-effort cancel", error
            )
            if strict:
                raise


class DomoCancelAllRunningNotifier(DomoTarget, _CancelAllRunningNotifier):
    """Cancel every running instance of a Domo Workflow model (optionally one version) from a callback.

    :param model_id: templated. :param version: templated. :param domo_conn_id: templated.
    :param max_instances: cancel nothing (and log why) when more instances match.
    """

    template_fields = ("model_id", "version", "domo_conn_id")

    def __init__(
        self, model_id: str, version: str | None = None, domo_conn_id: str = "domo_default", **options: Any
    ) -> None:
        super().__init__(**options)
        self.model_id = model_id
        self.version = version
        self.domo_conn_id = domo_conn_id

    def list_running(self, hook: Any, cap: int) -> list[InstanceState]:
        version = self.version if self.version and str(self.version).strip() else None
        states: list[InstanceState] = hook.running_instances(self.model_id, version=version, limit=cap)
        return states


class EnosCancelAllRunningNotifier(EnosTarget, _CancelAllRunningNotifier):
    """Cancel every running instance of an EnOS flow from a callback.

    :param flow_id: templated.
    :param enos_conn_id: templated.

    ``user_id``/``org_id``: as for the single-instance notifier.
    """

    template_fields = ("flow_id", "enos_conn_id", "user_id", "org_id")

    def __init__(
        self,
        flow_id: Any,
        enos_conn_id: str = "enos_default",
        user_id: str | None = None,
        org_id: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.flow_id = flow_id
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id

    def list_running(self, hook: Any, cap: int) -> list[InstanceState]:
        states: list[InstanceState] = hook.running_flow_instances(self.flow_id, limit=cap)
        return states
