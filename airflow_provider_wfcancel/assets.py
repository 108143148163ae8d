"""Asset events that say which remote instance produced them, and how it ended.

A start operator or sensor with ``outlets`` puts :class:`RemoteInstanceExtra` (``instance_id``, ``service``,
``final_status``, ``url``) into the extra of the event of each asset among them
(``context["outlet_events"][asset].extra``), in the worker and after a deferred wait alike. Airflow emits
the events only when the task succeeds, so a remote instance that failed (which fails the task) emits none.
``final_status`` is the status the instance ended with; ``None`` when the task did not wait for the end (a
start with ``wait_for_completion=False``: the event says "started", not "finished"). ``url`` is the
instance page the task's extra link opens (``None`` for EnOS, which has none). An asset alias among the
outlets gets nothing: which asset its event names is the task author's to say, with ``add``.

A DAG scheduled on such an asset reads them with :func:`remote_instance_events` (on every Airflow version),
or from ``triggering_asset_events`` itself (docs/howto/assets-and-lineage.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from airflow_provider_wfcancel.version_compat import TRIGGERING_ASSET_EVENTS, is_asset_outlet

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

__all__ = ["RemoteInstanceExtra", "add_to_outlet_events", "remote_instance_events"]

R = TypeVar("R", bound=Mapping[str, Any])


class RemoteInstanceExtra(TypedDict):
    """The extra of an asset event a start operator or sensor emits."""

    instance_id: str
    #: ``"domo"`` or ``"enos"`` (the connection type, as in the task's XCom result).
    service: str
    #: The status the instance ended with; ``None`` when the task did not wait for the end.
    final_status: str | None
    url: str | None


def _extra_of(result: Mapping[str, Any]) -> RemoteInstanceExtra:
    return RemoteInstanceExtra(
        instance_id=str(result["instance_id"]),
        service=str(result["service"]),
        final_status=result.get("final_status"),
        url=result.get("url"),
    )


def add_to_outlet_events(task: BaseOperator, context: Mapping[str, Any], result: R) -> R:
    """Put what ``result`` (a start or sensor result) says of the instance into the extra of the event of
    every asset among ``task.outlets``, keeping any other key the extra holds; returns ``result``. The
    events are emitted by Airflow when the task succeeds."""
    outlets = [outlet for outlet in task.outlets or () if is_asset_outlet(outlet)]
    events = context.get("outlet_events")
    if outlets and events is not None:
        extra = _extra_of(result)
        for outlet in outlets:
            events[outlet].extra.update(extra)
    return result


def remote_instance_events(context: Mapping[str, Any]) -> list[RemoteInstanceExtra]:
    """The remote instances behind the asset events that triggered this DAG run, asset by asset in the
    order Airflow lists them: one per event a task emitted whose extra names an instance (``instance_id``
    and ``service``, as a start operator or sensor of this provider writes). Left out: other events, and
    those created over the REST API or in the UI (Airflow marks their extra ``from_rest_api``), whose
    extra whoever may create asset events writes. Any task can still write these keys: an extra says
    what a task reported, not which instance a DAG may act on. Empty for a run not triggered by assets."""
    found: list[RemoteInstanceExtra] = []
    for events in (context.get(TRIGGERING_ASSET_EVENTS) or {}).values():
        for event in events:
            extra = getattr(event, "extra", None)
            if (
                isinstance(extra, Mapping)
                and "instance_id" in extra
                and "service" in extra
                and not extra.get("from_rest_api")
            ):
                found.append(_extra_of(extra))
    return found
