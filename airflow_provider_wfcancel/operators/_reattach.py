"""Resumable starts: a retry of a start task reattaches to the instance an earlier try left running.

A start task whose worker dies (OOM, node loss, a deploy) while it waits leaves its instance running, and
nothing runs ``on_kill``; Airflow's retry would start a second instance next to the first. On Airflow 3.3+
the task keeps a record in Airflow's task state store (``context["task_state_store"]``, scoped to the DAG
run, task and map index, so it outlives the try) from the moment the start request succeeded until the
try *concludes* the instance:

- the instance was seen to end (success or not), or the task ended without waiting for it;
- the task cancelled it (``cancel_on_kill`` on a kill or a timed-out wait: once the cancel was accepted).

A try that ends any other way (its worker died, a status read failed, a wait timed out without a cancel)
leaves the record, and the next try reattaches: it reads the instance's status and waits for it instead
of starting another; an instance that already ended gives the task its outcome at once. A cancelled one
(a killed deferred task's trigger cancels in the triggerer, which cannot clear the record; or a person
cancelled it) is concluded, and the retry starts anew; a recorded instance the service no longer knows
fails the try and clears the record.

The store is writable over REST by anyone who may edit the DAG's task instances, so a record is adopted
only when its id is well-formed and the service, asked through this task's own connection and identity,
says the instance is of this task's model and version (Domo) or flow (EnOS) (:mod:`.._provenance`); any
other record is logged, counted, cleared, and the try starts a new instance.

Why not Airflow's ``ResumableJobMixin``: it starts a fresh job when the recorded one failed, and because
its record outlives the try that succeeded, a person's re-run (a clear) of a finished task would return
the old result instead of starting a new run. Here the record exists only while an instance is
unconcluded, so a clear after a normal end starts a new instance, as it always did.

Before Airflow 3.3 there is no store: starts behave as before (a retry starts a new instance).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypedDict

from airflow_provider_wfcancel._provenance import (
    Expected,
    Refused,
    count_refused,
    instance_id_problem,
    instance_problem,
)
from airflow_provider_wfcancel.exceptions import NotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context

    from airflow_provider_wfcancel.hooks._base import InstanceState, WorkflowServiceHook

#: The task state store key (renaming it breaks the reattachment of retries already in flight).
STATE_KEY = "wfcancel_started_instance"


class StartedRecord(TypedDict):
    """What a start task keeps in the store while its instance is unconcluded."""

    instance_id: str
    url: str | None
    status_at_start: str | None


class StartRecorder:
    """The task state store of one try, or nothing (``durable=False``, or Airflow before 3.3).

    A subclass keeps another record the same way (:class:`~._rerun.RerunRecorder`): its own ``key``, the
    ``where`` its refusals are counted under, and the ``refusal`` it logs.
    """

    key = STATE_KEY
    where = "resumable_start"
    refusal = "Not adopting the start record in the task state store (%s): cleared; starting a new instance"

    def __init__(self, context: Context, *, durable: bool, log: logging.Logger | Any) -> None:
        self._store: Any = context.get("task_state_store") if durable else None
        self._log = log

    def earlier(self) -> StartedRecord | None:
        """The instance an earlier try of this task started and did not conclude, if any.

        A store that cannot be read fails the task (as Airflow's own resumable operators do): starting
        anyway could leave a second instance next to the first.
        """
        if self._store is None:
            return None
        value = self._store.get(self.key)
        if value is None:
            return None
        if not (
            isinstance(value, dict) and isinstance(value.get("instance_id"), str) and value["instance_id"]
        ):
            self.refuse(f"unreadable record {value!r}")
            return None
        return StartedRecord(
            instance_id=value["instance_id"],
            url=value["url"] if isinstance(value.get("url"), str) else None,
            status_at_start=value["status_at_start"]
            if isinstance(value.get("status_at_start"), str)
            else None,
        )

    def checked(
        self, hook: WorkflowServiceHook[Any], want: Callable[[], Expected], instance_id: str
    ) -> InstanceState | None:
        """The state of the recorded ``instance_id`` now, when its id is well-formed and the service, asked
        through this task's own ``hook``, says it is what the task starts (``want``: the task's
        provenance); otherwise the record is refused and ``None`` returned. An instance the service no
        longer knows clears the record, and its :class:`NotFoundError` is the caller's to handle."""
        problem = instance_id_problem(type(hook), instance_id)
        if problem is None:
            try:
                state = hook.get_state(instance_id)
            except NotFoundError:
                self.forget()
                raise
            try:
                problem = instance_problem(state, want())
            except Refused as error:
                problem = str(error)
        if problem is not None:  # not this task's instance: a forged or stale record
            self.refuse(problem)
            return None
        return state

    def remember(self, record: StartedRecord) -> None:
        """Keep ``record`` until the instance is concluded. Best-effort: the instance is started and its id
        is in XCom already, so a store that refuses the write is logged, and the task goes on."""
        if self._store is None:
            return
        try:
            self._store.set(self.key, dict(record))
        except Exception as error:
            self._log.warning(
                "Could not record instance %s in the task state store (a retry will not reattach): %s",
                record["instance_id"],
                error,
            )

    def refuse(self, problem: str) -> None:
        """A record this task did not write, or that names no instance of this task's model or flow (the
        store is writable over REST): logged, counted, cleared, never adopted; this try starts anew."""
        self._log.warning(self.refusal, problem)
        count_refused(self.where)
        self.forget()

    def forget(self) -> None:
        """The instance is concluded: a later try (a retry, or a person's clear) starts a new one."""
        if self._store is None:
            return
        try:
            self._store.delete(self.key)
        except Exception as error:
            self._log.warning("Could not clear the start record in the task state store: %s", error)
