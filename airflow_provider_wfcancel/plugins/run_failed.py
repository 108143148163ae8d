"""Listener: when a DAG run fails, cancel the instances its start tasks started with
``cancel_on_run_failed=True``; also when a person marks such a start task failed after it succeeded.

Airflow runs no ``on_failure_callback`` when a person marks a run or a task failed (in the UI or over
REST); it calls listeners, in the API server for a person's change and in the scheduler for a run that
failed on its own. Both load this plugin, so both cancel. A start task with ``cancel_on_run_failed`` pushes
a record (XCom :data:`RECORD_KEY`: which service, connection and instance); the listener reads the run's
records from the metadata DB and sends one cancel per instance, all from a small thread pool, never in the
calling thread (nor its DB session). Each cancel is bounded by the connection's request bounds (one attempt at most
``timeout`` + 10 s, retries at most 60 s); it does not wait for the instance to stop. Each instance is
cancelled once per process (marking a run failed also fails its running tasks). A cancel still queued
when the process is killed is lost (a normal shutdown works the queue off first); the log says which
were sent.
"""

from __future__ import annotations

import importlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

#: The XCom key of a start task's record: ``{"service", "conn_id", "options", "instance_id"}``.
RECORD_KEY = "wfcancel_cancel_on_run_failed"
#: The hooks a record may name (by connection type), and the options they may be rebuilt with: a record
#: is task-written data, so it never names code to import.
_HOOKS = {
    "domo": "airflow_provider_wfcancel.hooks.domo.DomoHook",
    "enos": "airflow_provider_wfcancel.hooks.enos.EnosHook",
}
_OPTIONS = frozenset({"user_id", "org_id"})
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wfcancel-run-failed")
_sent: set[Future[None]] = set()
_cancelled: set[tuple[str, str]] = set()
_cancelled_lock = threading.Lock()


def record(hook: Any, instance_id: str) -> dict[str, Any]:
    """What a start task pushes under :data:`RECORD_KEY` so that a failed run can cancel ``instance_id``."""
    return {
        "service": hook.conn_type,
        "conn_id": hook.conn_id,
        "options": hook.task_options(),
        "instance_id": instance_id,
    }


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    how = f": {msg}" if msg else ""
    _cancel_recorded(dag_run.dag_id, dag_run.run_id, None, None, f"DAG run {dag_run.run_id} failed{how}")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    # A person's change (UI, REST) comes with no previous state; a task failing as it runs comes from the
    # scheduler or the worker with ``running``, and its own cancel_on_kill covers it.
    if previous_state is not None and str(getattr(previous_state, "value", previous_state)) != "success":
        return
    ti = task_instance
    reason = f"task {ti.task_id} of run {ti.run_id} was marked failed"
    _cancel_recorded(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", -1), reason)


def _cancel_recorded(
    dag_id: str, run_id: str, task_id: str | None, map_index: int | None, reason: str
) -> None:
    """Hand the work to the pool at once: reading the records opens a DB session, which must not be the
    caller's (the scheduler and the API server call listeners in the middle of their own session)."""
    future = _pool.submit(_read_and_cancel, dag_id, run_id, task_id, map_index, reason)
    _sent.add(future)
    future.add_done_callback(_sent.discard)


def _read_and_cancel(
    dag_id: str, run_id: str, task_id: str | None, map_index: int | None, reason: str
) -> None:
    try:
        records = _records(dag_id, run_id, task_id, map_index)
    except Exception:  # a listener must never break anything; the log says what was not cancelled
        log.exception("Could not read the instances started by %s/%s", dag_id, run_id)
        return
    for entry in records:
        key = (str(entry.get("service")), str(entry.get("instance_id")))
        with _cancelled_lock:
            if key in _cancelled:
                continue
            _cancelled.add(key)
        _cancel(entry, reason)


def _records(dag_id: str, run_id: str, task_id: str | None, map_index: int | None) -> list[dict[str, Any]]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=run_id, dag_ids=dag_id, key=RECORD_KEY, task_ids=task_id, map_indexes=map_index
        )
        values = [XComModel.deserialize_value(row) for row in session.scalars(query)]
    return [value for value in values if isinstance(value, dict)]


def _cancel(entry: dict[str, Any], reason: str) -> None:
    instance_id = entry.get("instance_id")
    hook = None
    try:
        path = _HOOKS.get(str(entry.get("service")))
        if path is None:
            raise ValueError(f"unknown service {entry.get('service')!r} in the record")
        module, _, name = path.rpartition(".")
        options = {k: v for k, v in dict(entry.get("options") or {}).items() if k in _OPTIONS}
        hook = getattr(importlib.import_module(module), name).for_task(entry.get("conn_id"), **options)
        ack = hook.request_cancel(instance_id)
    except Exception as error:
        log.error("Could not cancel instance %s after %s: %s", instance_id, reason, error)
        return
    finally:
        if hook is not None and "transport" in vars(hook):
            hook.transport.close()
    status = ack.state_at_request.status_label if ack.state_at_request else "unknown"
    log.info(
        "Cancelled %s instance %s after %s (%s; status then %s)",
        hook.service,
        instance_id,
        reason,
        "it had already finished" if ack.already_finished else "cancel requested",
        status,
    )


def wait_for_cancels(timeout: float) -> bool:
    """Wait until every cancel sent so far is done; ``False`` if some still run after ``timeout``."""
    _, pending = wait(list(_sent), timeout=timeout)
    return not pending
