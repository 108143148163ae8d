"""What the Remote instances page does, without HTTP: thin over the hooks and the one bulk path.

- :func:`hook_for`: the hook for the connection a request resolved (:mod:`.identity`), by its type
  (``domo`` or ``enos``), bound to that connection;
- :func:`list_instances`: Domo: a model's instances (running, or all on the first page), optionally of
  one version; EnOS: the organization's running flow instances, optionally of one flow or matching a text;
- :func:`send_cancels`, :func:`wait_for`: a selection through the one bulk path (ids validated before
  any request, each distinct id once), optionally waiting until terminal without holding a thread;
- :func:`row`: one instance as the page shows it (no raw answer, so nothing the service echoed leaks).

Errors are the provider's own (:mod:`..exceptions`); the app maps them to HTTP statuses in one place.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypedDict, cast

from airflow_provider_wfcancel import _bulk_path
from airflow_provider_wfcancel._validation import as_bool, blank_as_none
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.ui.pool import ClientGone

if TYPE_CHECKING:
    from airflow.models.connection import Connection

    from airflow_provider_wfcancel._bulk_path import BulkResult, BulkRow
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook
    from airflow_provider_wfcancel.ui.identity import PageConnection

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


_PAGE_HOOKS: dict[str, type[WorkflowServiceHook[Any]]] = {}


def _page_hook_class(base: type[WorkflowServiceHook[Any]]) -> type[WorkflowServiceHook[Any]]:
    """``base`` bound to the connection the request resolved (and checked), never looked up again; with
    a stop flag, each exchange (one page of a listing) first checks it."""

    class PageHook(base):  # type: ignore[valid-type,misc]
        found: Connection
        stop: threading.Event | None = None

        def _get_connection(self) -> Connection:
            return cast("Connection", self._checked(self.found))

        def run(self, exchange: Any) -> Any:
            if self.stop is not None and self.stop.is_set():
                exchange.close()
                raise ClientGone(f"{self.service}: the client disconnected; nothing more is requested")
            return super().run(exchange)

    PageHook.__name__ = PageHook.__qualname__ = f"Page{base.__name__}"
    return _PAGE_HOOKS.setdefault(base.__name__, PageHook)


def hook_for(found: PageConnection, stop: threading.Event | None = None) -> WorkflowServiceHook[Any]:
    """The hook for the resolved connection: its type picks the service; it uses that connection."""
    base = hook_class(found.conn_type)
    page_class = _PAGE_HOOKS.get(base.__name__) or _page_hook_class(base)
    hook = page_class.for_task(found.conn_id)
    hook.found = found.connection  # type: ignore[attr-defined]
    hook.stop = stop  # type: ignore[attr-defined]
    return hook


def exact(field: str, value: Any, normalised: Any) -> None:
    """Refuse an id its check would change (surrounding whitespace, a leading zero): the id acted on and
    audited is the one sent, never a silent variant of it."""
    if isinstance(value, str) and str(normalised) != value:
        raise InvalidInputError(
            f"{field} {value[:80]!r} is not written exactly as the id {str(normalised)[:80]!r} "
            "(whitespace around it, padding); send the id exactly"
        )


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
    from airflow_provider_wfcancel.hooks.enos import EnosHook, validate_flow_id

    limit = check_limit(limit)  # each listing collects one more than limit, to tell there were more
    version = blank_as_none(version)
    if version is not None and not isinstance(version, str):
        raise InvalidInputError(f"version must be a string, got {version!r}")
    if isinstance(hook, DomoHook):
        exact("model_id", model_id, model_id.strip() if isinstance(model_id, str) else model_id)
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
            exact("flow_id", flow_id, validate_flow_id(flow_id))
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


def send_cancels(
    hook: WorkflowServiceHook[Any], instance_ids: Any, *, wait: Any, timeout: Any
) -> tuple[list[BulkRow], _bulk_path.BulkPlan]:
    """Send the cancels of a selection: every id is checked before the first request (and refused if
    its check would change it), each distinct id is cancelled once. The plan says whether and how long to
    wait (:func:`wait_for`)."""
    ids = _bulk_path.check_id_list(instance_ids)
    if len(ids) > MAX_SELECTION:
        raise InvalidInputError(f"instance_ids holds {len(ids)} ids; at most {MAX_SELECTION} per request")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > MAX_WAIT:
        raise InvalidInputError(f"timeout must be at most {MAX_WAIT} seconds, got {timeout!r}")
    plan = _bulk_path.BulkPlan.checked(wait=wait, timeout=timeout, poll_interval=1.0, deadline=MAX_WAIT)
    checked = []
    for value in ids:
        checked.append(hook.validate_instance_id(value))
        exact("instance_id", value, checked[-1])
    return _bulk_path.send(hook, list(dict.fromkeys(checked)), plan, log=log), plan


async def wait_for(
    hook: WorkflowServiceHook[Any],
    rows: list[BulkRow],
    plan: _bulk_path.BulkPlan,
    run: Callable[..., Awaitable[Any]],
    gone: Callable[[], bool],
) -> BulkResult:
    """With ``plan.wait``, poll the requested cancels until each ended, ``plan.timeout`` passed or the
    client left: each round on a thread (``run``), the pauses on the event loop (no thread is held)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + plan.timeout
    pending = [row for row in rows if row["outcome"] == "cancel_requested"] if plan.wait else []
    while pending and loop.time() < ends:
        pending = await run(_bulk_path.poll, hook, pending, log)
        if not pending or gone():
            break
        await asyncio.sleep(max(0.0, min(plan.poll_interval, ends - loop.time())))
    if plan.wait and pending:
        log.warning("%d cancel(s) not confirmed while the request waited", len(pending))
    return _bulk_path.summarised(hook, rows, dry_run=False, log=log)


def environment_connections() -> dict[str, str]:
    """``conn_id -> conn_type`` of the ``AIRFLOW_CONN_*`` variables of a page's type (only the type is
    read: no secret is parsed)."""
    found: dict[str, str] = {}
    for name, value in os.environ.items():
        if (
            not name.startswith("AIRFLOW_CONN_")
            or name.startswith("AIRFLOW_CONN__")
            or name == "AIRFLOW_CONN_"
        ):
            continue  # AIRFLOW_CONN__<TEAM>___<ID> is a team's: its id alone does not say which team
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
