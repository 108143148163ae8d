"""Start operators: start a remote instance, record its id at once, optionally wait, cancel it when killed."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict

from airflow_provider_wfcancel._failure_path import End, failure_detail
from airflow_provider_wfcancel._provenance import Expected, expected, task_fields
from airflow_provider_wfcancel._validation import as_bool
from airflow_provider_wfcancel.assets import add_to_outlet_events
from airflow_provider_wfcancel.exceptions import (
    InstanceAlreadyRunningError,
    InvalidInputError,
    NotFoundError,
    RemoteInstanceCancelledError,
    RemoteInstanceFailedError,
)
from airflow_provider_wfcancel.operators._base import BaseServiceOperator, HookT
from airflow_provider_wfcancel.operators._lineage import OpenLineageMixin
from airflow_provider_wfcancel.operators._reattach import StartedRecord, StartRecorder
from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_3_PLUS, AIRFLOW_VERSION_TEXT, push_xcom

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel._protocol.failure import FailureDetail
    from airflow_provider_wfcancel.hooks._base import InstanceState


IfRunning = Literal["start", "reuse", "fail"]
IF_RUNNING: tuple[IfRunning, ...] = ("start", "reuse", "fail")


def check_if_running(value: Any) -> IfRunning:
    """``if_running``: one of :data:`IF_RUNNING` (a form's text, any surrounding blanks refused)."""
    if value not in IF_RUNNING:
        raise InvalidInputError(
            f"if_running must be one of {', '.join(map(repr, IF_RUNNING))}, got {value!r}"
        )
    return value  # type: ignore[no-any-return]


class Started(NamedTuple):
    """What a start request answered: the new id, and the instance's state when the answer carried it
    (Domo does; EnOS answers with the id only)."""

    instance_id: str
    state: InstanceState | None = None


class StartResult(TypedDict):
    """The XCom ``return_value`` of every start operator."""

    service: str
    instance_id: str
    url: str | None
    status_at_start: str | None
    final_status: str | None
    #: Always ``None`` here: a failed instance fails the task (the detail is pushed as ``failure_detail``).
    failure_detail: FailureDetail | None


class BaseStartOperator(OpenLineageMixin, BaseServiceOperator[HookT]):
    """Starts a remote instance, pushes its id at once, optionally waits, and cancels it when killed.

    The new id is kept for ``on_kill`` and pushed to XCom (``instance_id``, ``url``) as soon as the start
    request succeeds, before any other request; a status read that follows (for services whose start
    answer has no status) is best-effort: when it fails, ``status_at_start`` is ``None``.

    ``on_kill`` runs when the task is marked failed or success, cleared, or hits ``execution_timeout``;
    with ``cancel_on_kill`` (the default) it cancels the instance this task started, so a killed task
    does not leave a run behind. The same cancel runs when a wait for completion times out, deferred or
    not, before the task fails with :class:`WaitTimeoutError`. That cancel is best-effort (failures are
    logged, never raised) and bounded: one cancel request, resent by the HTTP layer only on transient
    failures within the connection's retry budget and request timeouts, then a wait for the instance to
    stop of at most ``min(timeout, 60)`` seconds.

    :param wait_for_completion: wait until the instance ends; fail unless it ends successfully.
    :param timeout: seconds to wait for completion (default 3600) before failing with
        :class:`WaitTimeoutError`.
    :param poll_interval: seconds between status checks while waiting (default 10).
    :param max_poll_interval: while the instance runs, the interval doubles after each check (less up to
        10 % jitter) up to this many seconds; default ``poll_interval`` (constant). E.g. ``poll_interval=10,
        max_poll_interval=300`` for a run of hours.
    :param cancel_on_kill: cancel the instance when the task is killed or its wait times out.
    :param cancel_on_run_failed: cancel the instance when the DAG run fails later, after this task
        finished: a later task fails it, or a person marks the run (or this task) failed, which runs no
        ``on_failure_callback``. Done by the provider's plugin in the API server and the scheduler.
    :param if_running: what to do when an instance of the same Domo model and version or EnOS flow is
        already running: ``"start"`` another anyway (the default), ``"reuse"`` it (this task's instance
        from then on: pushed, recorded, waited for, cancelled on kill, as if started here), or ``"fail"``
        before starting, naming it. Templated where the subclass says. (EnOS runs one instance of a flow
        at a time and queues the others: ``"start"`` then waits behind the running one.)
    :param durable: on Airflow 3.3+, a retry after a try that did not see its instance end (its worker
        died, a status read failed) reattaches to that instance instead of starting another, and an
        instance that ended meanwhile gives the task its outcome (see :mod:`._reattach`). ``False``: every
        try starts a new instance, as on older Airflow.
    """

    ui_color = "#b6e3b6"
    lineage_action = "start"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        timeout: float = 3600,
        poll_interval: float = 10,
        cancel_on_kill: bool = True,
        cancel_on_run_failed: bool = False,
        durable: bool = True,
        if_running: IfRunning = "start",
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, poll_interval=poll_interval, **kwargs)
        self.if_running = if_running
        self.wait_for_completion = wait_for_completion
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_run_failed = cancel_on_run_failed
        self.durable = durable
        self.started_instance_id: str | None = None
        self.recorder: StartRecorder | None = None

    @classmethod
    def get_serialized_fields(cls) -> frozenset[str]:
        """The serialized DAG keeps ``cancel_on_run_failed``: the run-failed listener reads it from the DAG's
        code (as the scheduler and API server know it), never from a record a user could write."""
        return frozenset(super().get_serialized_fields() | {"cancel_on_run_failed"})  # type: ignore[no-untyped-call]

    def provenance(self) -> Expected:
        """What an instance this task starts is (service, connection, model/version or flow, EnOS
        user/org), from its own rendered fields: what a recorded instance must match to be adopted."""
        service = self.hook.conn_type
        return expected(service, {name: getattr(self, name, None) for name in task_fields(service)})

    @abstractmethod
    def running_instance(self) -> InstanceState | None:
        """One running instance of what this task starts (Domo: the model and version; EnOS: the flow), or
        ``None``; for ``if_running``."""

    @abstractmethod
    def start_instance(self) -> Started:
        """Validate the arguments and start one instance through ``self.hook``, sending only the start
        request; :meth:`execute` reads the status (when the answer had none) once the id is recorded."""

    def execute(self, context: Context) -> StartResult:
        if_running = check_if_running(self.if_running)
        wait = as_bool("wait_for_completion", self.wait_for_completion)
        deferrable = as_bool("deferrable", self.deferrable)
        durable = as_bool("durable", self.durable)
        self.recorder = recorder = StartRecorder(context, durable=durable, log=self.log)
        self._say_what_this_airflow_lacks(context, durable=durable, deferred=wait and deferrable)
        earlier = self._earlier_instance(recorder)
        state: InstanceState | None
        if earlier is not None:
            instance_id, url, status_at_start, state = earlier
            self._record(context, instance_id, url)  # a new try starts without the XComs of the last one
        else:
            running = self._running_to_reuse(if_running)
            instance_id, state = (running.instance_id, running) if running else self.start_instance()
            url = state.url if state is not None else None
            self._record(context, instance_id, url)
            recorder.remember(  # for a retry, should this try not see the instance end
                StartedRecord(
                    instance_id=instance_id,
                    url=url,
                    status_at_start=state.status if state is not None else None,
                )
            )
            if state is None and (state := self._status_at_start(instance_id)) is not None:
                url = url or state.url
                recorder.remember(
                    StartedRecord(instance_id=instance_id, url=url, status_at_start=state.status)
                )
            status_at_start = state.status if state is not None else None
            self.log.info(
                "%s %s instance %s (status %s)",
                "Reusing the running" if running else "Started",
                self.hook.service,
                instance_id,
                state.status_label if state is not None else "unknown",
            )
        final: InstanceState | None = None
        if wait and state is not None and state.is_terminal:
            final = state  # already ended (an earlier try's instance may have ended while nobody watched)
        elif wait and deferrable:
            self.defer_until_terminal(
                context,
                instance_id=instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                max_poll_interval=self.max_poll_interval,
                cancel_on_kill=bool(self.cancel_on_kill),
                resume={"instance_id": instance_id, "url": url, "status_at_start": status_at_start},
            )
        elif wait:
            final = self.wait_in_worker(instance_id)
        recorder.forget()  # seen to end, or not waited for: a later try starts a new instance
        if final is not None and not final.is_success:
            failure_detail(self.hook, End.of(final), self.log, push=context["ti"].xcom_push)
            raise ended_unsuccessfully(self.hook.service, instance_id, final.status_label, final.is_cancelled)
        result = StartResult(
            service=self.hook.conn_type,
            instance_id=instance_id,
            url=url or (final.url if final else None),
            status_at_start=status_at_start,
            final_status=final.status if final else None,
            failure_detail=None,
        )
        return add_to_outlet_events(self, context, result)

    def _running_to_reuse(self, if_running: IfRunning) -> InstanceState | None:
        """The running instance ``if_running="reuse"`` takes over, or ``None`` to start one; with
        ``"fail"``, a running instance fails the task before anything is started."""
        if if_running == "start" or (running := self.running_instance()) is None:
            return None
        if if_running == "fail":
            raise InstanceAlreadyRunningError(
                f"{self.hook.service} instance {running.instance_id} of what this task starts is running "
                f"(status {running.status_label}); if_running='fail' starts no other",
                service=self.hook.service,
            )
        return running

    def _earlier_instance(
        self, recorder: StartRecorder
    ) -> tuple[str, str | None, str | None, InstanceState] | None:
        """The instance an earlier try started and did not conclude, with its state now: ``(id, url,
        status_at_start, state)``; ``None`` when there is none to reattach to. One that was cancelled (a
        killed deferred task's trigger cancelled it, or a person did) is concluded: this try starts anew.
        The store is writable over REST, so a record is adopted only when its id is well-formed and the
        service says the instance is of this task's model and version (Domo) or flow (EnOS), read through
        this task's own connection and identity; any other record is cleared and this try starts anew."""
        earlier = recorder.earlier()
        if earlier is None:
            return None
        instance_id = earlier["instance_id"]
        try:
            state = recorder.checked(self.hook, self.provenance, instance_id)
        except NotFoundError as error:  # the record is cleared; as for a cancelled one, start anew now
            self.log.warning(
                "%s instance %s, which an earlier try of this task started, is gone (%s); starting anew",
                self.hook.service,
                instance_id,
                error,
            )
            return None
        if state is None:  # refused: this try starts anew
            return None
        if state.is_cancelled:
            recorder.forget()
            self.log.info(
                "%s instance %s, which an earlier try of this task started, was cancelled; starting anew",
                self.hook.service,
                instance_id,
            )
            return None
        self.log.info(
            "Reattaching to %s instance %s (status %s): an earlier try of this task started it and did not "
            "see it end; not starting another",
            self.hook.service,
            instance_id,
            state.status_label,
        )
        return instance_id, earlier["url"] or state.url, earlier["status_at_start"], state

    def _record(self, context: Context, instance_id: str, url: str | None) -> None:
        """Record a started instance in XCom before any further request, so on_kill, callbacks and the
        run-failed listener can find it."""
        self.started_instance_id = instance_id
        context["ti"].xcom_push(key="instance_id", value=instance_id)
        push_xcom(context["ti"], "url", url)
        if self.cancel_on_run_failed:
            from airflow_provider_wfcancel.plugins.run_failed import RECORD_KEY, record

            context["ti"].xcom_push(key=RECORD_KEY, value=record(self.hook, instance_id))

    def _status_at_start(self, instance_id: str) -> InstanceState | None:
        """Best-effort status read right after the start: the instance exists either way, so a failure
        here is logged, not raised (a wait for completion polls again anyway)."""
        try:
            return self.hook.get_state(instance_id)
        except Exception as error:
            self.log.warning(
                "Could not read the status of %s instance %s after starting it: %s",
                self.hook.service,
                instance_id,
                error,
            )
            return None

    def _say_what_this_airflow_lacks(self, context: Context, *, durable: bool, deferred: bool) -> None:
        """Below Airflow 3.3 two mechanisms a start task relies on are missing: say so in the task log
        rather than leave the user to find out in an incident (docs/compatibility.md)."""
        if durable and not AIRFLOW_V_3_3_PLUS:
            self.log.info(
                "durable: Airflow %s has no task state store (3.3+), so a retry of this task starts a new "
                "instance instead of reattaching to this one",
                AIRFLOW_VERSION_TEXT,
            )
        if deferred and self.cancel_on_kill and not AIRFLOW_V_3_3_PLUS:
            self.log.info(
                "cancel_on_kill: Airflow %s never calls a trigger's on_kill (3.3+), so killing this task "
                "while it is deferred leaves the instance running (deferrable=False cancels on every kill)",
                AIRFLOW_VERSION_TEXT,
            )

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> StartResult:
        """Resume after a deferred wait: the same result as the non-deferred path; fails unless the
        instance ended successfully (or on a timeout, after a best-effort cancel with ``cancel_on_kill``)."""
        self.recorder = recorder = StartRecorder(
            context, durable=as_bool("durable", self.durable), log=self.log
        )
        payload, data = self.resumed(event, resume)
        instance_id = data["instance_id"]
        self.started_instance_id = instance_id  # for on_kill while resuming
        recorder.forget()  # the trigger saw it end
        final_status = payload["final_status"]
        if not payload.get("is_success"):
            end = End.from_event(instance_id, payload)
            failure_detail(self.hook, end, self.log, push=context["ti"].xcom_push)
            label = final_status if final_status is not None else "null"
            raise ended_unsuccessfully(
                self.hook.service, instance_id, label, bool(payload.get("is_cancelled"))
            )
        result = StartResult(
            service=self.hook.conn_type,
            instance_id=instance_id,
            url=data.get("url") or payload.get("url"),
            status_at_start=data.get("status_at_start"),
            final_status=final_status,
            failure_detail=None,
        )
        return add_to_outlet_events(self, context, result)

    def on_wait_timeout(self, instance_id: str) -> None:
        """A wait for completion timed out (deferred or not): cancel the instance (``cancel_on_kill``), so
        a retry does not leave a second run next to this one."""
        if self.cancel_on_kill:
            self._cancel_started(instance_id, on="timeout")

    def on_kill(self) -> None:
        instance_id = self.started_instance_id
        if not (self.cancel_on_kill and instance_id):
            return
        self._cancel_started(instance_id, on="kill")

    def _cancel_started(self, instance_id: str, *, on: Literal["kill", "timeout"]) -> None:
        """Best-effort cancel of the instance this task started, confirmed with a bounded wait."""
        self.log.info(
            "%s: cancelling %s instance %s (cancel_on_kill=True)",
            "Task killed" if on == "kill" else "Wait timed out",
            self.hook.service,
            instance_id,
        )
        try:
            ack = self.hook.request_cancel(instance_id)
            if self.recorder is not None:
                self.recorder.forget()  # this task cancelled it: a retry starts a new instance, as before
            if not ack.already_finished:
                final = self.hook.wait_for_terminal(
                    instance_id, timeout=min(self.timeout, 60.0), poll_interval=min(self.poll_interval, 2.0)
                )
                self.log.info("%s instance %s is now %s", self.hook.service, instance_id, final.status_label)
        except Exception as error:  # best-effort: never hide why the task was killed
            self.log.warning(
                "Could not cancel %s instance %s on %s: %s", self.hook.service, instance_id, on, error
            )


def ended_unsuccessfully(
    service: str, instance_id: str, status: str, cancelled: bool
) -> RemoteInstanceFailedError:
    """The error of a started instance that ended otherwise than in success (cancelled: its own class, which
    :class:`~airflow_provider_wfcancel.retry_policy.WfCancelRetryPolicy` does not retry)."""
    error_class = RemoteInstanceCancelledError if cancelled else RemoteInstanceFailedError
    return error_class(f"{service} instance {instance_id} ended with status {status}", service=service)
