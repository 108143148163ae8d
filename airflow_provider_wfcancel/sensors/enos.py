"""Sensor for the EnOS Batch Processing Service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_wfcancel._service_task import EnosInstanceTarget
from airflow_provider_wfcancel.sensors._base import BaseInstanceSensor

if TYPE_CHECKING:
    from airflow_provider_wfcancel.hooks.enos import EnosHook  # noqa: F401  # the type argument below


class EnosFlowInstanceSensor(EnosInstanceTarget, BaseInstanceSensor["EnosHook"]):
    """Wait for an EnOS Batch Processing flow instance to end; succeed when it is ``SUCCESS``.

    Any other end (``FAIL``, ``INTERNAL_ERROR``, ``TIMEOUT``, ``CANCEL``, ``SKIP``) fails the task without
    retry, naming the status, unless ``accepted_statuses`` lists it. A status code EnOS does not document
    counts as running (``UNKNOWN(<code>)``), so the sensor then ends at its ``timeout``, naming it.
    Returns ``{"service": "enos", "instance_id", "final_status", "url": None}``.

    :param flow_instance_id: the flow instance id, ``{flowId}-{digits}`` such as ``2438-201908081020``;
        templated.
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as (default, also when empty: the connection's ``user_id``
        extra); templated.
    :param org_id: EnOS Organization ID (default, also when empty: the connection's ``org_id`` extra);
        templated.

    ``accepted_statuses``, ``deferrable``, ``poke_interval``, ``timeout``, ``mode`` and ``soft_fail``: see
    :class:`~airflow_provider_wfcancel.sensors._base.BaseInstanceSensor`.
    """

    template_fields = ("flow_instance_id", "user_id", "org_id", "enos_conn_id")
    trigger_class = "airflow_provider_wfcancel.triggers.enos.EnosFlowInstanceTrigger"
