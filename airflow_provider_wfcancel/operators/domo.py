"""Operators for Domo Workflows."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks._base import InstanceState
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.operators._base import BaseCancelOperator, BaseStartOperator


class DomoCancelWorkflowOperator(BaseCancelOperator):
    """Cancel a running Domo Workflow instance and return a :class:`CancelResult` to XCom.

    Domo answers a cancel with the status at the moment of the request and finishes cancelling a
    moment later, so by default the operator waits (at most ``timeout`` seconds) until the instance
    reports a terminal status.

    :param instance_id: the instance (execution) id returned when the workflow started; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    :param wait_for_termination: wait until the instance is terminal (``CANCELED`` or another end);
        templated, so a UI form's boolean can drive it.
    :param timeout: seconds to wait before failing with the last status seen.
    :param poll_interval: seconds between status checks while waiting.
    :param fail_if_already_finished: fail when the instance had already finished, instead of
        succeeding with outcome ``already_finished``.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    template_fields = ("instance_id", "domo_conn_id", "wait_for_termination")
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


class DomoStartWorkflowOperator(BaseStartOperator):
    """Start a deployed Domo Workflow model version; push ``instance_id`` and ``url`` at once.

    :param model_id: workflow model id; templated.
    :param version: model version to run, e.g. ``1.3.10``; templated.
    :param message_name: message of the start event, usually ``Start <workflow name>``; templated.
    :param data: start inputs keyed by input name; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    :param wait_for_completion: wait until the instance ends; fail unless it ends ``COMPLETED``.
    :param timeout: seconds to wait for completion (default 3600) before failing with
        :class:`~airflow_provider_wfcancel.exceptions.WaitTimeoutError`.
    :param poll_interval: seconds between status checks while waiting (default 10).
    :param cancel_on_kill: cancel the instance when the task is killed (marked failed, cleared,
        ``execution_timeout``), and when a wait for completion times out, deferred or not; best-effort,
        with a confirmation wait of at most ``min(timeout, 60)`` seconds.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    template_fields = ("model_id", "version", "message_name", "data", "domo_conn_id", "wait_for_completion")
    template_fields_renderers = {"data": "json"}
    operator_extra_links = (DomoWorkflowInstanceLink(),)
    hook_class = DomoHook
    service_key = "domo"
    conn_id_field = "domo_conn_id"

    def __init__(
        self,
        *,
        model_id: str,
        version: str,
        message_name: str,
        data: dict[str, Any] | None = None,
        domo_conn_id: str = DomoHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_id = model_id
        self.version = version
        self.message_name = message_name
        self.data = data
        self.domo_conn_id = domo_conn_id

    @property
    def domo_hook(self) -> DomoHook:
        assert isinstance(self.hook, DomoHook)
        return self.hook

    def start_instance(self) -> InstanceState:
        """Domo's start answer carries the new instance's status: no follow-up read."""
        return self.domo_hook.start_workflow(self.model_id, self.version, self.message_name, self.data)
