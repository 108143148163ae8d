"""Sensor for Domo Workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.sensors._base import BaseInstanceSensor

if TYPE_CHECKING:
    from airflow_provider_wfcancel.hooks.domo import DomoHook


class DomoWorkflowInstanceSensor(BaseInstanceSensor["DomoHook"]):
    """Wait for a Domo Workflow instance to end; succeed when it is ``COMPLETED``.

    Any other end (``CANCELED``, ``FAILED``, a status Domo does not document) fails the task without
    retry, naming the status, unless ``accepted_statuses`` lists it (``COMPLETED``, ``CANCELED``,
    ``FAILED``). Returns ``{"service": "domo", "instance_id", "final_status", "url"}``.

    :param instance_id: the instance (execution) id, e.g. what a start task pushed as ``instance_id``;
        templated.
    :param domo_conn_id: ``domo`` connection; templated.

    ``accepted_statuses``, ``deferrable``, ``poke_interval``, ``timeout``, ``mode`` and ``soft_fail``: see
    :class:`~airflow_provider_wfcancel.sensors._base.BaseInstanceSensor`.
    """

    template_fields = ("instance_id", "domo_conn_id")
    operator_extra_links = (DomoWorkflowInstanceLink(),)
    trigger_class = "airflow_provider_wfcancel.triggers.domo.DomoInstanceTrigger"

    def __init__(self, *, instance_id: str, domo_conn_id: str = "domo_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance_id = instance_id
        self.domo_conn_id = domo_conn_id

    def make_hook(self) -> DomoHook:
        from airflow_provider_wfcancel.hooks.domo import DomoHook

        return DomoHook.for_task(self.domo_conn_id)

    def instance_id_value(self) -> Any:
        return self.instance_id
