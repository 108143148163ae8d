"""Callback that cancels a Domo Workflow instance."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.notifications._base import BaseCancelNotifier
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator


class DomoCancelWorkflowNotifier(BaseCancelNotifier):
    """Cancel a Domo Workflow instance from ``on_failure_callback`` (task or DAG level).

    Example::

        on_failure_callback=DomoCancelWorkflowNotifier(
            instance_id="{{ ti.xcom_pull(task_ids='start', key='instance_id') }}"
        )

    :param instance_id: templated; an empty rendering, or a placeholder such as
        ``None``, is logged and skipped.
    :param domo_conn_id: templated.
    :param wait_for_termination: wait (at most ``timeout`` s) for Domo to confirm; off by default so
        callbacks stay short.
    """

    template_fields = ("instance_id", "domo_conn_id")
    operator_class = DomoCancelWorkflowOperator

    def __init__(
        self,
        instance_id: str,
        domo_conn_id: str = DomoHook.default_conn_name,
        *,
        wait_for_termination: bool = False,
        timeout: float = 60,
        poll_interval: float = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            instance_id=instance_id,
            domo_conn_id=domo_conn_id,
            wait_for_termination=wait_for_termination,
            timeout=timeout,
            poll_interval=poll_interval,
            **kwargs,
        )
