"""Deferrable waiting: one trigger per service, all built on :class:`InstanceStatusTrigger`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_wfcancel.triggers._base import InstanceStatusTrigger


def trigger_class_for(hook: Any) -> type[InstanceStatusTrigger]:
    """The trigger class that polls with ``hook``'s service (imported only when a task defers)."""
    from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
    from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger

    for trigger_class in (DomoInstanceTrigger, EnosFlowInstanceTrigger):
        hook_class = trigger_class.hook_class
        if isinstance(hook_class, type) and isinstance(hook, hook_class):
            return trigger_class
    raise TypeError(f"no trigger polls with {type(hook).__name__}; override make_trigger()")
