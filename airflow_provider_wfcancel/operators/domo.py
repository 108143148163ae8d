"""Operators for Domo Workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._service_task import DomoConnection, DomoInstanceTarget
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.operators._base import BaseCancelOperator
from airflow_provider_wfcancel.operators._start import BaseStartOperator, Started

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks.domo import DomoHook  # noqa: F401  # the type argument below

# Hooks are imported when a task runs, not when a DAG file imports the operator.
_TRIGGER = "airflow_provider_wfcancel.triggers.domo.DomoInstanceTrigger"


class DomoCancelWorkflowOperator(DomoInstanceTarget, BaseCancelOperator["DomoHook"]):
    """Cancel a running Domo Workflow instance and return a :class:`CancelResult` to XCom.

    Domo answers a cancel with the status at the moment of the request and finishes cancelling a
    moment later, so by default the operator waits (at most ``timeout`` seconds) until the instance
    reports a terminal status.

    :param instance_id: the instance (execution) id returned when the workflow started; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    :param wait_for_termination: wait until the instance is terminal (``CANCELED`` or another end);
        templated, so a UI form's boolean can drive it.

    ``timeout``, ``poll_interval``, ``fail_if_already_finished`` and ``deferrable``: see
    :class:`~airflow_provider_wfcancel.operators._base.BaseCancelOperator`.
    """

    template_fields = ("instance_id", "domo_conn_id", "wait_for_termination")
    operator_extra_links = (DomoWorkflowInstanceLink(),)
    trigger_class = _TRIGGER


class DomoStartWorkflowOperator(DomoConnection, BaseStartOperator["DomoHook"]):
    """Start a deployed Domo Workflow model version; push ``instance_id`` and ``url`` at once.

    :param model_id: workflow model id; templated.
    :param version: model version to run, e.g. ``1.3.10``; templated.
    :param message_name: message of the start event, usually ``Start <workflow name>``; templated.
    :param data: start inputs keyed by input name; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    :param wait_for_completion: wait until the instance ends; fail unless it ends ``COMPLETED``.

    ``timeout``, ``poll_interval``, ``cancel_on_kill``, ``cancel_on_run_failed``, ``durable``,
    ``if_running`` (templated) and ``deferrable``: see
    :class:`~airflow_provider_wfcancel.operators._start.BaseStartOperator`.
    """

    template_fields = (
        "model_id",
        "version",
        "message_name",
        "data",
        "domo_conn_id",
        "wait_for_completion",
        "if_running",
    )
    template_fields_renderers = {"data": "json"}
    operator_extra_links = (DomoWorkflowInstanceLink(),)
    trigger_class = _TRIGGER

    def __init__(
        self,
        *,
        model_id: str,
        version: str,
        message_name: str,
        data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_id = model_id
        self.version = version
        self.message_name = message_name
        self.data = data

    def running_instance(self) -> InstanceState | None:
        """The newest running instance of the model version (Domo lists a model's history newest first)."""
        running = self.hook.running_instances(self.model_id, version=self.version, limit=0)
        return running[0] if running else None

    def start_instance(self) -> Started:
        """Domo's start answer carries the new instance's status: no follow-up read."""
        state = self.hook.start_workflow(self.model_id, self.version, self.message_name, self.data)
        return Started(state.instance_id, state)
