"""Callback that cancels an EnOS Batch Processing flow instance."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.notifications._base import BaseCancelNotifier
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator


class EnosCancelFlowInstanceNotifier(BaseCancelNotifier):
    """Cancel an EnOS flow instance from ``on_failure_callback`` (task or DAG level).

    Example::

        on_failure_callback=EnosCancelFlowInstanceNotifier(
            flow_instance_id="{{ ti.xcom_pull(task_ids='trigger', key='instance_id') }}"
        )

    :param flow_instance_id: templated; an empty rendering, or a placeholder such as
        ``None``, is logged and skipped.
    :param enos_conn_id: templated.
    :param user_id: templated; overrides the connection's ``user_id`` (empty: the connection's).
    :param org_id: templated; overrides the connection's ``org_id`` (empty: the connection's).
    :param wait_for_termination: wait (at most ``timeout`` s) for EnOS to confirm; off by default.
    """

    template_fields = ("flow_instance_id", "enos_conn_id", "user_id", "org_id")
    operator_class = EnosCancelFlowInstanceOperator

    def __init__(
        self,
        flow_instance_id: str,
        enos_conn_id: str = EnosHook.default_conn_name,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        wait_for_termination: bool = False,
        timeout: float = 60,
        poll_interval: float = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            flow_instance_id=flow_instance_id,
            enos_conn_id=enos_conn_id,
            user_id=user_id,
            org_id=org_id,
            wait_for_termination=wait_for_termination,
            timeout=timeout,
            poll_interval=poll_interval,
            **kwargs,
        )
