"""Listener: when a DAG run fails, cancel the instances its start tasks started with
``cancel_on_run_failed=True``; also when a person marks such a start task failed after it succeeded.

Airflow runs no ``on_failure_callback`` when a person marks a run or a task failed (in the UI or over
REST); it calls listeners, in the API server for a person's change and in the scheduler for a run that
failed on its own. Both load this plugin, so both cancel. A start task with ``cancel_on_run_failed`` pushes
a record (XCom :data:`RECORD_KEY`: which hook, connection and instance); the listener reads the run's
records from the metadata DB and sends one cancel per instance, all from a small thread pool, never in the
calling thread (nor its DB session). Each cancel is bounded by the connection's request bounds (one attempt at most
``timeout`` + 10 s, retries at most 60 s); it does not wait for the instance to stop. A cancel still
queued when the process stops (an API server restart) is lost: the log says which were sent.
"""

from __future__ import annotations

import importlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

#: The XCom key of a start task's record: ``{"hook", "conn_id", "options", "instance_id"}``.
RECORD_KEY = "wfcancel_cancel_on_run_failed"
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wfcancel-run-failed")
_sent: set[Future[None]] = set()


def record(hook: Any, instance_id: str) -> dict[str, Any]:
    """What a start task pushes under :data:`RECORD_KEY` so that a failed run can cancel ``instance_id``."""
    cls = type(hook)
    return {
        "hook": f"{cls.__module__}.{cls.__qualname__}",
        "conn_id": hook.conn_id,
        "options": hook.task_options(),
        "instance_id": instance_id,
    }


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _cancel_recorded(dag_run.dag_id, dag_run.run_id, None, f"DAG run {dag_run.run_id} failed ({msg})")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    if str(previous_state) != "success":  # a task that fails while running cancels itself (cancel_on_kill)
        return
    reason = (
        f"task {task_instance.task_id} of run {task_instance.run_id} was marked failed after it succeeded"
    )
    _cancel_recorded(task_instance.dag_id, task_instance.run_id, task_instance.task_id, reason)


def _cancel_recorded(dag_id: str, run_id: str, task_id: str | None, reason: str) -> None:
    """Hand the work to the pool at once: reading the records opens a DB session, which must not be the
    caller's (the scheduler and the API server call listeners in the middle of their own session)."""
    future = _pool.submit(_read_and_cancel, dag_id, run_id, task_id, reason)
    _sent.add(future)
    future.add_done_callback(_sent.discard)


def _read_and_cancel(dag_id: str, run_id: str, task_id: str | None, reason: str) -> None:
    try:
        records = _records(dag_id, run_id, task_id)
    except Exception:  # a listener must never break anything; the log says what was not cancelled
        log.exception("Could not read the instances started by %s/%s", dag_id, run_id)
        return
    for entry in records:
        _cancel(entry, reason)


def _records(dag_id: str, run_id: str, task_id: str | None) -> list[dict[str, Any]]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=run_id, dag_ids=dag_id, key=RECORD_KEY, task_ids=task_id)
        values = [XComModel.deserialize_value(row) for row in session.scalars(query)]
    return [value for value in values if isinstance(value, dict)]


def _cancel(entry: dict[str, Any], reason: str) -> None:
    instance_id = entry.get("instance_id")
    try:
        module, _, name = str(entry["hook"]).rpartition(".")
        hook_class = getattr(importlib.import_module(module), name)
        hook = hook_class.for_task(entry["conn_id"], **dict(entry.get("options") or {}))
        ack = hook.request_cancel(instance_id)
    except Exception as error:
        log.error("Could not cancel instance %s after %s: %s", instance_id, reason, error)
        return
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
