"""Triggers of EnOS Batch Processing: waiting for one flow instance to end; an event whenever one of a
flow ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Self

from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.hooks._finished import Finished, enos_finished
from airflow_provider_wfcancel.hooks.enos import EnosHook, validate_flow_id
from airflow_provider_wfcancel.triggers._base import InstanceStatusTrigger
from airflow_provider_wfcancel.triggers._events import DEFAULT_LOOKBACK, FinishedInstanceEventTrigger


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


class EnosFlowFinishedTrigger(FinishedInstanceEventTrigger):
    """For an ``AssetWatcher``: an event each time an instance of an EnOS flow ends, once per instance; see
    :mod:`._events` (baseline, dedupe, what an event holds) and docs/howto/event-scheduling.md. Needs
    Airflow 3.0+.

    :param flow_id: the flow (every flow type: manual, periodic, temporary).
    :param only_success: only instances that ended ``SUCCESS``.
    :param enos_conn_id: the EnOS connection.
    :param poll_interval: seconds between two polls (one listing each).
    :param lookback: seconds; a poll reads the instances triggered this long ago or later.
    :param user_id: EnOS User ID the listing runs as (default: the connection's ``user_id`` extra).
    :param org_id: EnOS Organization ID (default: the connection's ``org_id`` extra).
    """

    mechanism = "EnosFlowFinishedTrigger"
    conn_field = "enos_conn_id"
    service = EnosHook.conn_type

    def __init__(
        self,
        flow_id: int | str,
        only_success: bool = False,
        enos_conn_id: str = EnosHook.default_conn_name,
        poll_interval: float = 60.0,
        lookback: float = DEFAULT_LOOKBACK,
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> None:
        super().__init__(
            conn_id=enos_conn_id, only_success=only_success, poll_interval=poll_interval, lookback=lookback
        )
        self.flow_id = validate_flow_id(flow_id)
        self.user_id = user_id
        self.org_id = org_id

    def subject(self) -> dict[str, Any]:
        return {"flow_id": self.flow_id, "user_id": self.user_id, "org_id": self.org_id}

    def build_hook(self) -> EnosHook:
        return EnosHook(self.conn_id, user_id=self.user_id, org_id=self.org_id)

    async def finished(self, hook: Any, window_start: datetime, known: Callable[[str], bool]) -> Finished:
        return await enos_finished(hook, self.flow_id, window_start, known, self.bounds)

    def event_fields(self, state: InstanceState) -> dict[str, Any]:
        return {"flow_id": self.flow_id, "flow_name": state.raw.get("flowName")}
