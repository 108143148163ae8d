"""Sensor for Domo Workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_wfcancel._service_task import DomoInstanceTarget
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.sensors._base import BaseInstanceSensor

if TYPE_CHECKING:
    from airflow_provider_wfcancel.hooks.domo import DomoHook  # noqa: F401  # the type argument below


class DomoWorkflowInstanceSensor(DomoInstanceTarget, BaseInstanceSensor["DomoHook"]):
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
