"""Trigger that waits for a Domo Workflow instance to end."""

from __future__ import annotations

from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.triggers._base import InstanceStatusTrigger


class DomoInstanceTrigger(InstanceStatusTrigger):
    """Poll a Domo Workflow instance (``GET /instances/{id}``) until it is terminal; see
    :class:`~airflow_provider_wfcancel.triggers._base.InstanceStatusTrigger` for the events."""

    hook_class = DomoHook
