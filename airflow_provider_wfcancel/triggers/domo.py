"""Triggers of Domo Workflows: waiting for one instance to end; an event whenever one of a model ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_provider_wfcancel._protocol import domo
from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel._validation import validate_id
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks._finished import Finished, domo_finished
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.triggers._base import InstanceStatusTrigger
from airflow_provider_wfcancel.triggers._events import DEFAULT_LOOKBACK, FinishedInstanceEventTrigger


class DomoInstanceTrigger(InstanceStatusTrigger):
    """Poll a Domo Workflow instance (``GET /instances/{id}``) until it is terminal; see
    :class:`~airflow_provider_wfcancel.triggers._base.InstanceStatusTrigger` for the events."""

    hook_class = DomoHook


class DomoWorkflowFinishedTrigger(FinishedInstanceEventTrigger):
    """For an ``AssetWatcher``: an event each time an instance of a Domo Workflow model (of one version, if
    given) ends, once per instance; see :mod:`._events` (baseline, dedupe, what an event holds) and
    docs/howto/event-scheduling.md. Needs Airflow 3.0+.

    :param model_id: the workflow model.
    :param model_version: only instances of this version (default: every version).
    :param only_success: only instances that ended ``COMPLETED``.
    :param domo_conn_id: the Domo connection.
    :param poll_interval: seconds between two polls (one listing each).
    :param lookback: seconds; a poll reads the instances created this long ago or later (an instance that
        runs longer is not seen ending).
    """

    mechanism = "DomoWorkflowFinishedTrigger"
    conn_field = "domo_conn_id"
    service = DomoHook.conn_type

    def __init__(
        self,
        model_id: str,
        model_version: str | None = None,
        only_success: bool = False,
        domo_conn_id: str = DomoHook.default_conn_name,
        poll_interval: float = 60.0,
        lookback: float = DEFAULT_LOOKBACK,
    ) -> None:
        super().__init__(
            conn_id=domo_conn_id, only_success=only_success, poll_interval=poll_interval, lookback=lookback
        )
        self.model_id = validate_id(model_id, field="model_id", pattern=domo.INSTANCE_ID)
        if model_version is not None and (not isinstance(model_version, str) or not model_version.strip()):
            raise InvalidInputError(
                f"model_version must be a non-empty string or None, got {model_version!r}"
            )
        self.model_version = model_version

    def subject(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "model_version": self.model_version}

    def build_hook(self) -> DomoHook:
        return DomoHook(self.conn_id)

    async def finished(self, hook: Any, window_start: datetime, known: Callable[[str], bool]) -> Finished:
        return await domo_finished(hook, self.model_id, self.model_version, window_start, self.bounds)

    def event_fields(self, state: InstanceState) -> dict[str, Any]:
        return {"model_id": self.model_id, "model_version": state.raw.get("modelVersion")}
