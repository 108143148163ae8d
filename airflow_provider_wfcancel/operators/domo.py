"""Operators for Domo Workflows."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.operators._base import BaseCancelOperator


class DomoCancelWorkflowOperator(BaseCancelOperator):
    """Cancel a running Domo Workflow instance and return a :class:`CancelResult` to XCom.

    Domo answers a cancel with the status at the moment of the request and finishes cancelling a
    moment later, so by default the operator waits (at most ``timeout`` seconds) until the instance
    reports a terminal status.

    :param instance_id: the instance (execution) id returned when the workflow started; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    :param wait_for_termination: wait until the instance is terminal (``CANCELED`` or another end).
    :param timeout: seconds to wait before failing with the last status seen.
    :param poll_interval: seconds between status checks while waiting.
    :param fail_if_already_finished: fail when the instance had already finished, instead of
        succeeding with outcome ``already_finished``.
    """

    template_fields = ("instance_id", "domo_conn_id")
    operator_extra_links = (DomoWorkflowInstanceLink(),)
    hook_class = DomoHook
    service_key = "domo"
    instance_id_field = "instance_id"
    conn_id_field = "domo_conn_id"

    def __init__(
        self, *, instance_id: str, domo_conn_id: str = DomoHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.instance_id = instance_id
        self.domo_conn_id = domo_conn_id
