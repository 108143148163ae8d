"""What the Remote instances page does, without HTTP: thin over the hooks and the one bulk path.

- :func:`hook_for`: the hook for a connection, by its type (``domo`` or ``enos``);
- :func:`list_instances`: Domo: a model's instances (running, or all on the first page), optionally of
  one version; EnOS: the organization's running flow instances, optionally of one flow or matching a text;
- :func:`cancel`: a selection through :func:`.._bulk_path.run` (ids validated before any request, each
  distinct id once, optionally waiting until terminal);
- :func:`row`: one instance as the page shows it (no raw answer, so nothing the service echoed leaks).

Errors are the provider's own (:mod:`..exceptions`); the app maps them to HTTP statuses in one place.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any, TypedDict

from airflow_provider_wfcancel import _bulk_path
from airflow_provider_wfcancel._validation import as_bool, blank_as_none, check_conn_id
from airflow_provider_wfcancel.exceptions import InvalidInputError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._bulk_path import BulkResult
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

log = logging.getLogger(__name__)

#: The connection types the page works with.
SERVICES = ("domo", "enos")
#: At most this many instances per listing, and per cancel request.
MAX_LIMIT = 500
MAX_SELECTION = 100
#: The longest a cancel request may wait for its instances to end, in seconds.
MAX_WAIT = 120


class InstanceRow(TypedDict):
    """One instance as the page shows it."""

    instance_id: str
    service: str
    name: str | None
    version: str | None
    status: str | None
    is_terminal: bool
    is_cancelled: bool
    is_success: bool
    started: str | None
    url: str | None


def hook_class(conn_type: str | None) -> type[WorkflowServiceHook[Any]]:
    from airflow_provider_wfcancel.hooks.domo import DomoHook
    from airflow_provider_wfcancel.hooks.enos import EnosHook

    classes: dict[str, type[WorkflowServiceHook[Any]]] = {"domo": DomoHook, "enos": EnosHook}
    if conn_type not in classes:
        raise InvalidInputError(
            f"connection_id: the connection is of type {conn_type!r}; this page works with "
            "'domo' and 'enos' connections"
        )
    return classes[conn_type]


def hook_for(conn_id: Any) -> WorkflowServiceHook[Any]:
    """The hook for ``conn_id``: its type picks the service. A missing connection raises
    :class:`ConnectionNotFoundError` (no request is sent)."""
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    conn_id = check_conn_id("connection_id", conn_id)
    # Any service hook reads a connection the same way (the base's reading and its errors).
    conn = DomoHook.read_connection(conn_id)
    return hook_class(conn.conn_type).for_task(conn_id)


def check_limit(value: Any) -> int:
    """``limit``: a whole number from 1 to :data:`MAX_LIMIT` (its text, as a query string sends it)."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {value!r}")
    return int(text)


def list_instances(
    hook: WorkflowServiceHook[Any],
    *,
    model_id: Any = None,
    version: Any = None,
    flow_id: Any = None,
    search: Any = None,
    include_finished: Any = False,
    limit: Any = 100,
) -> tuple[list[InstanceState], bool]:
    """The instances the filters select, newest first where the service sorts, and whether there were
    more than ``limit``."""
    from airflow_provider_wfcancel.hooks.domo import DomoHook
    from airflow_provider_wfcancel.hooks.enos import EnosHook

    limit = check_limit(limit)  # each listing collects one more than limit, to tell there were more
    version = blank_as_none(version)
    if version is not None and not isinstance(version, str):
        raise InvalidInputError(f"version must be a string, got {version!r}")
    if isinstance(hook, DomoHook):
        if as_bool("include_finished", include_finished):
            found = [
                state
                for state in hook.list_instances(model_id, limit=min(limit + 1, MAX_LIMIT))
                if version is None or state.raw.get("modelVersion") == version
            ]
        else:
            found = hook.running_instances(model_id, version=version, limit=limit)
    elif isinstance(hook, EnosHook):
        if blank_as_none(flow_id) is not None:
            found = hook.running_flow_instances(flow_id, limit=limit)
        else:
            found = hook.search_running(expression=blank_as_none(search) or "", limit=limit)
    else:  # pragma: no cover - hook_for builds only these
        raise InvalidInputError(f"no listing for {hook.service}")
    return found[:limit], len(found) > limit


def row(state: InstanceState) -> InstanceRow:
    raw = state.raw
    domo = "modelId" in raw
    started = raw.get("createdOn") if domo else raw.get("startTime") or raw.get("triggerTime")
    name = raw.get("modelName") if domo else raw.get("flowName")
    version = raw.get("modelVersion") if domo else None
    return InstanceRow(
        instance_id=state.instance_id,
        service=state.service,
        name=None if name is None else str(name),
        version=None if version is None else str(version),
        status=state.status,
        is_terminal=state.is_terminal,
        is_cancelled=state.is_cancelled,
        is_success=state.is_success,
        started=None if started is None else str(started),
        url=state.url,
    )


def cancel(hook: WorkflowServiceHook[Any], instance_ids: Any, *, wait: Any, timeout: Any) -> BulkResult:
    """Cancel a selection: every id is checked before the first request, each distinct id is cancelled
    once, and with ``wait`` the result waits (at most ``timeout`` seconds) for each to end."""
    ids = _bulk_path.check_id_list(instance_ids)
    if len(ids) > MAX_SELECTION:
        raise InvalidInputError(f"instance_ids holds {len(ids)} ids; at most {MAX_SELECTION} per request")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > MAX_WAIT:
        raise InvalidInputError(f"timeout must be at most {MAX_WAIT} seconds, got {timeout!r}")
    plan = _bulk_path.BulkPlan.checked(wait=wait, timeout=timeout, poll_interval=1.0, deadline=MAX_WAIT)
    return _bulk_path.run(hook, ids, plan, log=log)


def environment_connections() -> dict[str, str]:
    """``conn_id -> conn_type`` of the ``AIRFLOW_CONN_*`` variables of a page's type (only the type is
    read: no secret is parsed)."""
    found: dict[str, str] = {}
    for name, value in os.environ.items():
        if not name.startswith("AIRFLOW_CONN_") or len(name) == len("AIRFLOW_CONN_"):
            continue
        conn_type: Any = None
        text = value.strip()
        if text.startswith("{"):
            try:
                conn_type = json.loads(text).get("conn_type")
            except (ValueError, AttributeError):
                continue
        elif "://" in text:
            conn_type = text.split("://", 1)[0].replace("-", "_")
        if conn_type in SERVICES:
            found[name.removeprefix("AIRFLOW_CONN_").lower()] = conn_type
    return found
