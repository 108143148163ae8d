"""EnOS: the try after one whose flow instance failed reruns the flow from the failed task.

With ``rerun_failed_from_task=True`` on :class:`~.enos.EnosTriggerFlowOperator` (Airflow 3.3+), the task
keeps the id of the instance it works with (started, reused or reattached to) in Airflow's task state
store (key :data:`RERUN_KEY`) from the moment it has one until the task succeeds. Airflow clears a task's
XComs when a new try starts, so the store, which outlives the try, is where the next try finds it. The next
try (a retry, or a person's clear of the failed task) that starts an instance reads it and:

1. asks EnOS for that instance, through this task's own connection and identity, and goes on only when its
   id is well-formed and the service says it is of this task's flow (the rule of resumable starts,
   docs/security.md); any other record is logged, counted (``wfcancel.rerun_from_task.refused_records``),
   cleared, and the whole flow is triggered;
2. when the instance failed (FAIL, INTERNAL_ERROR, TIMEOUT) and its graph, as Get Flow Instance answers it,
   names exactly one failed task (with a task id), triggers the flow from that task (Trigger Flow From
   Task). The task id comes from the service, never from the record;
3. otherwise (the instance succeeded, was cancelled, is running; EnOS no longer knows it or refuses to read
   it; its graph names no failed task or several; EnOS refuses Trigger Flow From Task with a business
   error) triggers the whole flow, saying why. A failure that is no answer of the service (a timeout, a
   rate limit, an internal error) fails the try and keeps the record, so the next try asks again.

The new instance is then this task's like any start: pushed to XCom, recorded for a resumable retry and for
the next rerun, waited for, cancelled on kill. Before Airflow 3.3 there is no store: every try triggers the
whole flow, with a log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._protocol.enos.flows import FAILED_STATUSES
from airflow_provider_wfcancel._validation import as_bool
from airflow_provider_wfcancel.exceptions import ApiError, NotFoundError, PermissionDeniedError
from airflow_provider_wfcancel.operators._reattach import StartedRecord, StartRecorder

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel.hooks.enos import EnosHook
    from airflow_provider_wfcancel.operators._start import BaseStartOperator, StartResult

    _Start = BaseStartOperator[EnosHook]
else:
    _Start = object

#: The task state store key (renaming it loses the reruns of retries already in flight).
RERUN_KEY = "wfcancel_rerun_instance"


class RerunRecorder(StartRecorder):
    """The instance a try of this task worked with, for the next try's rerun (:mod:`._rerun`)."""

    key = RERUN_KEY
    where = "rerun_from_task"
    refusal = "Not rerunning from the record in the task state store (%s): cleared; triggering the whole flow"


class RerunFromFailedTask(_Start):
    """``rerun_failed_from_task`` for the EnOS start operator (see :mod:`._rerun`)."""

    rerun_failed_from_task: Any
    trigger_time_ms: int | None
    rerun: RerunRecorder | None = None

    def _rerun_recorder(self, context: Context) -> RerunRecorder:
        enabled = as_bool("rerun_failed_from_task", self.rerun_failed_from_task)
        self.rerun = RerunRecorder(context, durable=enabled, log=self.log)
        if enabled and context.get("task_state_store") is None:
            self.log.warning(
                "rerun_failed_from_task needs Airflow's task state store (Airflow 3.3+): a retry after a "
                "failed instance triggers the whole flow"
            )
        return self.rerun

    def execute(self, context: Context, **safeguard: Any) -> StartResult:
        # ``safeguard``: Airflow 2.11 calls ``execute`` with its ExecutorSafeguard's sentinel keyword, which
        # the operator's own (wrapped) ``execute`` takes; a mixin's is not wrapped, so it hands it on.
        recorder = self._rerun_recorder(context)
        result = super().execute(context, **safeguard)
        recorder.forget()  # the task succeeded: a later try (a person's clear) triggers the whole flow
        return result

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> StartResult:
        recorder = self._rerun_recorder(context)
        result = super().execute_complete(context, event, resume)
        recorder.forget()
        return result

    def _record(self, context: Context, instance_id: str, url: str | None) -> None:
        super()._record(context, instance_id, url)
        if self.rerun is not None:  # the instance the next try reruns from, should it fail
            self.rerun.remember(StartedRecord(instance_id=instance_id, url=url, status_at_start=None))

    def rerun_failed_task(self, flow_id: Any) -> str | None:
        """The id of a new instance of ``flow_id`` triggered from the task that failed in the instance an
        earlier try of this task worked with; ``None`` when there is none to rerun from (then the caller
        triggers the whole flow)."""
        recorder = self.rerun
        earlier = recorder.earlier() if recorder is not None else None
        if recorder is None or earlier is None or isinstance(flow_id, bool) or not isinstance(flow_id, int):
            return None
        instance_id = earlier["instance_id"]
        try:
            state = recorder.checked(self.hook, self.provenance, instance_id)
        except (NotFoundError, ApiError, PermissionDeniedError) as error:
            if not isinstance(error, NotFoundError) and error.service_code is None:
                raise  # not the service's answer about this instance: the next try reads it again
            recorder.forget()  # gone, or EnOS refuses to read it
            self.log.info(
                "EnOS instance %s, which an earlier try of this task worked with, could not be read (%s); "
                "triggering the whole flow",
                instance_id,
                error,
            )
            return None
        if state is None:  # refused: not this task's flow
            return None
        failed = self.hook.failed_tasks(state)
        task = failed[0] if len(failed) == 1 else None
        if task is None or task.task_id is None:
            why = (
                f"failed with {len(failed)} failed tasks in its graph (rerunning needs one, with a task id)"
                if state.status in FAILED_STATUSES
                else f"ended {state.status_label}, not failed"
                if state.is_terminal
                else f"is {state.status_label}, not ended"
            )
            self.log.info(
                "EnOS instance %s, which an earlier try of this task worked with, %s; triggering the whole flow",
                instance_id,
                why,
            )
            return None
        try:
            new_id = self.hook.trigger_flow_from_task(flow_id, task.task_id, self.trigger_time_ms)
        except ApiError as error:
            if error.service_code is None:  # no business refusal: the service may have acted
                raise
            self.log.warning(
                "EnOS refused to trigger flow %s from task %s (%s); triggering the whole flow",
                flow_id,
                task.task_id,
                error,
            )
            return None
        self.log.info(
            "EnOS instance %s, which an earlier try of this task worked with, failed at task %s (%s): "
            "triggered flow %s from that task, instance %s",
            instance_id,
            task.task_id,
            task.name or "unnamed",
            flow_id,
            new_id,
        )
        return new_id
