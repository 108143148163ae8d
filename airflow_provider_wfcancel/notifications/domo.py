"""Callback that cancels a Domo Workflow instance."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel._service_task import DomoTarget
from airflow_provider_wfcancel.notifications._base import BaseCancelNotifier


class DomoCancelWorkflowNotifier(DomoTarget, BaseCancelNotifier):
    """Cancel a Domo Workflow instance from a failure callback or a Deadline Alert.

    ``on_failure_callback=DomoCancelWorkflowNotifier(start_task_id="start")`` cancels what the
    ``DomoStartWorkflowOperator`` ``start`` of the same run started;
    ``DeadlineAlert(..., callback=AsyncCallback(DomoCancelWorkflowNotifier, kwargs={"start_task_id": "start"}))``
    does the same when the run misses its deadline.

    :param instance_id: templated (``"{{ dag_run.conf['instance_id'] }}"``); or ``start_task_id``.
    :param domo_conn_id: templated.
    """

    template_fields = ("instance_id", "domo_conn_id")

    def __init__(
        self,
        instance_id: str | None = None,
        domo_conn_id: str = "domo_default",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.instance_id = instance_id
        self.domo_conn_id = domo_conn_id
