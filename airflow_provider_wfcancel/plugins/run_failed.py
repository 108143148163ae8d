"""Listener: when a DAG run fails, cancel the instances its start tasks started with
``cancel_on_run_failed=True``; also when a person marks such a start task failed after it succeeded.

Airflow runs no ``on_failure_callback`` when a person marks a run or a task failed (in the UI or over
REST); it calls listeners, in the API server for a person's change and in the scheduler for a run that
failed on its own. Both load this plugin, so both cancel. A start task with ``cancel_on_run_failed`` pushes
a record (XCom :data:`RECORD_KEY`: which service, connection and instance); the listener reads the run's
records from the metadata DB and works them off in a small thread pool, never in the calling thread (nor
its DB session).

**Provenance** (:mod:`._records`, :mod:`.._provenance`): a record is acted on only when the serialized
task it is on is a start operator with ``cancel_on_run_failed=True`` and the record agrees with that
task's service, connection and EnOS user/org; the hook is built from the task, never from the record;
then the service must say the instance is of the task's model and version (Domo) or flow (EnOS). Any
other record is logged, counted (:data:`.._provenance.REFUSED`), written to the audit log and deleted.

**At least once, and visible**: each instance is keyed by (connection, service, instance id). A cancel
that fails with a transient error is retried with the HTTP layer's backoff, at most
:data:`ATTEMPTS` times and within its retry budget (each attempt itself bounded by the connection's
request bounds); one that still fails is left for a later marking (the run, then its tasks, or a person
again), since the key is set only once a cancel was accepted or the instance is known to have ended.
Every attempt and outcome is a log line and a row in Airflow's audit log (event
:data:`.._audit.LISTENER_EVENT`). A cancel still queued when the process is killed is lost (a normal
shutdown works the queue off first); the log and audit log say which were sent.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from airflow.listeners import hookimpl

from airflow_provider_wfcancel import _audit
from airflow_provider_wfcancel._provenance import count_refused, instance_problem
from airflow_provider_wfcancel.exceptions import (
    NotFoundError,
    RateLimitedError,
    TransientError,
    WfCancelError,
)
from airflow_provider_wfcancel.plugins import _records
from airflow_provider_wfcancel.plugins._records import RECORD_KEY, Record

__all__ = ["ATTEMPTS", "RECORD_KEY", "record", "wait_for_cancels"]

log = logging.getLogger(__name__)

#: Attempts of one cancel per marking (a transient failure is retried with backoff in between).
ATTEMPTS = 3
#: ``Log.owner`` of the listener's audit rows.
AUDIT_OWNER = "wfcancel run-failed listener"
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wfcancel-run-failed")
_sent: set[Future[None]] = set()
#: Keys of instances whose cancel was accepted or that are known to have ended; and those in flight.
_done: set[tuple[str, str, str]] = set()
_in_flight: set[tuple[str, str, str]] = set()
_lock = threading.Lock()


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
        records = _records.read(dag_id, run_id, task_id, map_index)
    except Exception:  # a listener must never break anything; the log says what was not cancelled
        log.exception("Could not read the instances started by %s/%s", dag_id, run_id)
        return
    for entry in records:
        try:
            _handle(entry, reason)
        except Exception:
            log.exception(
                "Could not handle the record of %s/%s/%s", entry.dag_id, entry.run_id, entry.task_id
            )


def _handle(entry: Record, reason: str) -> None:
    if entry.want is None or entry.problem is not None:
        _refuse(entry, str(entry.problem), reason)
        return
    key = (entry.want.conn_id, entry.want.service, entry.instance_id)
    with _lock:
        if key in _done or key in _in_flight:
            return
        _in_flight.add(key)
    try:
        if _cancel(entry, reason):
            with _lock:
                _done.add(key)
    finally:
        with _lock:
            _in_flight.discard(key)


def _cancel(entry: Record, reason: str) -> bool:
    """Verify the instance against the task, then cancel it; ``True`` once it is settled (cancel
    accepted, instance ended, or record refused), ``False`` when a later marking should try again."""
    from airflow_provider_wfcancel._http import retry

    want = entry.want
    assert want is not None
    hook = _records.hook_class(want.service).for_task(want.conn_id, **want.options)
    policy, started, attempt = retry.DEFAULT_RETRY_POLICY, time.monotonic(), 0
    try:
        while True:
            attempt += 1
            try:
                state = hook.get_state(entry.instance_id)
                if (problem := instance_problem(state, want)) is not None:
                    _refuse(entry, problem, reason)
                    return True
                if state.is_terminal:
                    _outcome(entry, reason, attempt, "already_finished", status=state.status_label)
                    return True
                ack = hook.request_cancel(entry.instance_id)
            except NotFoundError as error:
                _refuse(entry, f"{want.describe()} knows no instance {entry.instance_id}: {error}", reason)
                return True
            except WfCancelError as error:
                delay = policy.next_delay(attempt=attempt, elapsed=time.monotonic() - started)
                if (
                    not isinstance(error, (TransientError, RateLimitedError))
                    or attempt >= ATTEMPTS
                    or delay is None
                ):
                    _outcome(entry, reason, attempt, "failed", error=error)
                    return False
                _outcome(entry, reason, attempt, "retrying", error=error, retry_in=round(delay, 3))
                time.sleep(delay)
                continue
            status = ack.state_at_request.status_label if ack.state_at_request else None
            _outcome(
                entry,
                reason,
                attempt,
                "already_finished" if ack.already_finished else "cancel_requested",
                status=status,
            )
            return True
    finally:
        if "transport" in vars(hook):
            hook.transport.close()


def _outcome(entry: Record, reason: str, attempt: int, outcome: str, **details: Any) -> None:
    """One attempt's outcome: a log line and an audit-log row."""
    want = entry.want
    assert want is not None
    error = details.get("error")
    text = {
        "cancel_requested": "cancel requested",
        "already_finished": "it had already finished",
        "retrying": f"failed ({error}); retrying in {details.get('retry_in')} s",
        "failed": f"failed ({error}); a later marking of the run or task tries again",
    }[outcome]
    level = logging.INFO if outcome in ("cancel_requested", "already_finished") else logging.ERROR
    log.log(
        level,
        "Cancel of %s instance %s (%s) after %s, attempt %d: %s (status %s)",
        want.service,
        entry.instance_id,
        want.describe(),
        reason,
        attempt,
        text,
        details.get("status") or "unknown",
    )
    _audit_row(entry, reason, outcome, attempt=attempt, **{**details, "error": str(error) if error else None})


def _refuse(entry: Record, problem: str, reason: str) -> None:
    """A record that is not its task's: logged, counted, audited and deleted, never acted on."""
    log.warning(
        "Not cancelling instance %s recorded on %s/%s/%s after %s: %s; the record is deleted",
        entry.instance_id,
        entry.dag_id,
        entry.run_id,
        entry.task_id,
        reason,
        problem,
    )
    count_refused("run_failed")
    _audit_row(entry, reason, "refused", error=problem)
    try:
        _records.clear(entry)
    except Exception:
        log.exception(
            "Could not delete the refused record on %s/%s/%s", entry.dag_id, entry.run_id, entry.task_id
        )


def _audit_row(entry: Record, reason: str, outcome: str, **details: Any) -> None:
    want = entry.want
    row = {
        "connection_id": want.conn_id if want else None,
        "service": want.service if want else None,
        "instance_id": entry.instance_id,
        "outcome": outcome,
        **details,
        "reason": reason,
        "source": "run-failed listener",
    }
    try:
        _audit.write_in_new_session(
            _audit.LISTENER_EVENT, [row], owner=AUDIT_OWNER, task_instance=entry.where
        )
    except Exception:  # the log line above says it all the same
        log.exception("Could not write the audit-log row for instance %s", entry.instance_id)


def wait_for_cancels(timeout: float) -> bool:
    """Wait until every cancel sent so far is done; ``False`` if some still run after ``timeout``."""
    _, pending = wait(list(_sent), timeout=timeout)
    return not pending


def forget_cancels() -> None:
    """Forget which instances this process settled (tests: an emulator reset may reuse an id)."""
    with _lock:
        _done.clear()
