"""Callback that cancels an EnOS Batch Processing flow instance."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel._service_task import EnosTarget
from airflow_provider_wfcancel.notifications._base import BaseCancelNotifier


class EnosCancelFlowInstanceNotifier(EnosTarget, BaseCancelNotifier):
    """Cancel an EnOS flow instance from a failure callback or a Deadline Alert, by ``flow_instance_id``
    (templated) or by ``start_task_id`` (the ``EnosTriggerFlowOperator`` of the same run).

    :param flow_instance_id: templated; or ``start_task_id``.
    :param enos_conn_id: templated.
    :param user_id: templated; overrides the connection's ``user_id`` (empty: the connection's).
    :param org_id: templated; overrides the connection's ``org_id`` (empty: the connection's).
    """

    template_fields = ("flow_instance_id", "enos_conn_id", "user_id", "org_id")

    def __init__(
        self,
        flow_instance_id: str | None = None,
        enos_conn_id: str = "enos_default",
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.flow_instance_id = flow_instance_id
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id
