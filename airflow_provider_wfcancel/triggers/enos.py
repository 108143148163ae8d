"""Trigger that waits for an EnOS Batch Processing flow instance to end."""

from __future__ import annotations

from typing import Any, Self

from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.triggers._base import InstanceStatusTrigger


class EnosFlowInstanceTrigger(InstanceStatusTrigger):
    """Poll an EnOS flow instance (Get Flow Instance) until it is terminal; see
    :class:`~airflow_provider_wfcancel.triggers._base.InstanceStatusTrigger` for the events.

    Access tokens come from the hook's process-wide cache, so every trigger of one connection in a
    triggerer shares one token.

    :param user_id: EnOS User ID to act as (default: the connection's ``user_id`` extra).
    :param org_id: EnOS Organization ID (default: the connection's ``org_id`` extra).
    """

    hook_class = EnosHook

    def __init__(self, *, user_id: str | None = None, org_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_id = user_id
        self.org_id = org_id

    def hook_kwargs(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "org_id": self.org_id}

    @classmethod
    def from_hook(cls, hook: Any, **kwargs: Any) -> Self:
        return super().from_hook(hook, user_id=hook.user_id, org_id=hook.org_id, **kwargs)
