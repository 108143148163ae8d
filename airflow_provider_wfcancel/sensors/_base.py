"""What both instance sensors share: poke, reschedule or defer, and the one rule for how a wait ends.

Each poke is one status read (``hook.get_state``). A running instance means "not yet"; a terminal one is
judged by :func:`.._wait_path.settle`: the service's success (or a status listed in ``accepted_statuses``)
ends the sensor with a :class:`~.._wait_path.WaitResult` in XCom, any other end fails the task without
retry. ``deferrable`` makes the first poke hand the wait to the service's trigger (the one the deferrable
operators use) instead of sleeping; the task resumes in :meth:`BaseInstanceSensor.execute_complete`, which
validates the trigger's event and applies the same rule.

``poke_interval``, ``timeout``, ``mode``, ``soft_fail``, ``exponential_backoff`` and the rest are
``BaseSensorOperator``'s. Deferred, the trigger polls every ``poke_interval`` seconds until ``timeout``
(capped by ``execution_timeout``).

Backoff: ``max_poll_interval`` makes the interval grow on the provider's schedule
(:mod:`.._poll_schedule`) from ``poke_interval`` to it, in every mode: poke (the step is the poke count),
reschedule (the step is recovered from the time since the first poke, as Airflow's own backoff does) and
deferrable (the trigger). It replaces Airflow's ``exponential_backoff``/``max_wait``, which it refuses
alongside: Airflow's first interval is below ``poke_interval``, whole seconds only, and a deferred sensor
would not follow it; without ``max_poll_interval`` they keep Airflow's behaviour in poke and reschedule
mode, and the trigger polls at a constant ``poke_interval``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_wfcancel._failure_path import End, failure_detail
from airflow_provider_wfcancel._poll_schedule import PollSchedule
from airflow_provider_wfcancel._service_task import HookT, ServiceTask
from airflow_provider_wfcancel._validation import as_bool, check_duration
from airflow_provider_wfcancel._wait_path import WaitResult, accepted_statuses, settle
from airflow_provider_wfcancel.assets import add_to_outlet_events
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.version_compat import (
    DEFER_TIMEOUT_ERROR,
    TRIGGER_FAIL_REPR,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
    push_xcom,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaseInstanceSensor(ServiceTask[HookT], BaseSensorOperator):
    """Waits for one remote instance to end; succeeds when it ends successfully.

    :param accepted_statuses: terminal statuses that count as success instead of the service's own
        (Domo ``COMPLETED``, EnOS ``SUCCESS``), e.g. ``["COMPLETED", "CANCELED"]``; names are checked
        before any request. Any other end fails the task without retry, naming the status.
    :param deferrable: wait in the triggerer instead of a worker slot (default: ``[operators]
        default_deferrable``); the XCom result is the same.
    :param poke_interval: seconds (or a ``timedelta``) between status reads (>= 0.01; default 60).
    :param max_poll_interval: seconds (or a ``timedelta``, >= ``poke_interval``): while the instance runs,
        the interval doubles after each read (less up to 10 % jitter) up to this, in every mode. Default
        ``None``: constant ``poke_interval`` (or Airflow's ``exponential_backoff``, which cannot be combined
        with it).
    :param timeout: seconds (or a ``timedelta``) the sensor may wait before it fails with
        ``AirflowSensorTimeout`` (skipped with ``soft_fail``); default ``[sensors] default_timeout``.

    Pushes ``instance_id`` and ``url`` at the first read (of each run, in reschedule mode), logs each
    status change, and returns the final state (``service``, ``instance_id``, ``final_status``, ``url``,
    ``failure_detail``). An instance that failed has why pushed as ``failure_detail`` and logged first.
    """

    ui_color = "#c6dbef"

    def __init__(
        self,
        *,
        accepted_statuses: list[str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float | timedelta = 60,
        timeout: float | timedelta | None = None,
        max_poll_interval: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        if timeout is not None:  # else BaseSensorOperator's default, [sensors] default_timeout
            kwargs["timeout"] = check_duration("timeout", timeout, minimum=0)
        poke = check_duration("poke_interval", poke_interval, minimum=0.01)
        schedule: PollSchedule | None = None
        if max_poll_interval is not None:
            if kwargs.get("exponential_backoff") or kwargs.get("max_wait") is not None:
                raise InvalidInputError(
                    "max_poll_interval replaces exponential_backoff and max_wait; give one or the other"
                )
            cap = check_duration("max_poll_interval", max_poll_interval, minimum=0.01)
            schedule = PollSchedule.checked(poke, cap, poll_field="poke_interval")
        super().__init__(poke_interval=poke, **kwargs)
        self.poll_schedule = schedule
        self.max_poll_interval = schedule.max_poll_interval if schedule else None
        self.accepted_statuses = accepted_statuses
        self.deferrable = deferrable
        self._checked: tuple[str, frozenset[str] | None] | None = None
        self._last_status: tuple[str | None] | None = None

    @abstractmethod
    def instance_id_value(self) -> Any:
        """The (rendered) id to watch."""

    def checked(self) -> tuple[str, frozenset[str] | None]:
        """The validated instance id and accepted statuses (before any request; once per execution)."""
        if self._checked is None:
            accepted = accepted_statuses(self.hook, self.accepted_statuses)
            self._checked = (self.hook.validate_instance_id(self.instance_id_value()), accepted)
        return self._checked

    def execute(self, context: Context) -> Any:
        instance_id, _ = self.checked()
        as_bool("deferrable", self.deferrable)
        try:
            return super().execute(context)
        except AirflowSensorTimeout as timeout:  # Airflow's message does not say what the sensor saw
            if self._last_status is None:
                raise
            (status,) = self._last_status
            last = status if status is not None else "null"
            raise AirflowSensorTimeout(
                f"{timeout}; {self.hook.service} instance {instance_id}: last status {last}"
            ) from timeout

    def poke(self, context: Context) -> bool | PokeReturnValue:
        instance_id, accepted = self.checked()
        state = self.hook.get_state(instance_id)
        if self._last_status is None:  # a rescheduled sensor's XCom is cleared: push at each run's first read
            context["ti"].xcom_push(key="instance_id", value=instance_id)
            push_xcom(context["ti"], "url", state.url)
        if self._last_status != (state.status,):
            self.log_status(state)
            self._last_status = (state.status,)
        if not state.is_terminal:
            if as_bool("deferrable", self.deferrable):
                self.defer_until_terminal(
                    context,
                    instance_id=instance_id,
                    timeout=self.timeout,
                    poll_interval=self.poke_interval,
                    max_poll_interval=self.max_poll_interval,
                    resume={"instance_id": instance_id, "url": state.url},
                )
            return False
        result = settle(
            self.hook,
            instance_id=instance_id,
            final_status=state.status,
            is_success=state.is_success,
            url=state.url,
            accepted=accepted,
            failure_detail=failure_detail(self.hook, End.of(state), self.log, context["ti"].xcom_push),
        )
        return PokeReturnValue(is_done=True, xcom_value=add_to_outlet_events(self, context, result))

    def _get_next_poke_interval(
        self, started_at: datetime | float, run_duration: Callable[[], float], poke_count: int
    ) -> float:
        """With ``max_poll_interval``, the provider's schedule (overrides ``BaseSensorOperator``'s, same
        signature on Airflow 3.0-3.3): step ``poke_count - 1`` in poke mode; in reschedule mode every run
        is a first poke, so the step comes from the time since the first one. Never past ``timeout``."""
        if self.poll_schedule is None:
            return float(super()._get_next_poke_interval(started_at, run_duration, poke_count))
        elapsed = run_duration()
        step = self.poll_schedule.step_at(elapsed) if self.reschedule else poke_count - 1
        return min(self.poll_schedule.interval(step), max(0.0, self.timeout - elapsed))

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> WaitResult:
        """Resume after a deferred wait: the same result, or the same failure, as a poke that saw the end."""
        _, accepted = self.checked()
        payload, data = self.resumed(event, resume)
        end = End.from_event(data["instance_id"], payload)
        result = settle(
            self.hook,
            instance_id=end.instance_id,
            final_status=end.status,
            is_success=end.is_success,
            url=data.get("url") or payload.get("url"),
            accepted=accepted,
            failure_detail=failure_detail(self.hook, end, self.log, context["ti"].xcom_push),
        )
        return add_to_outlet_events(self, context, result)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Airflow's defer timeout ends as a sensor timeout, skipped with ``soft_fail`` or ``never_fail``,
        on every version (Airflow 3.0's sensor raises the timeout even with ``soft_fail``; 2.11's fails with
        ``TaskDeferralError``)."""
        if next_method == TRIGGER_FAIL_REPR and (next_kwargs or {}).get("error") == DEFER_TIMEOUT_ERROR:
            error = AirflowSensorTimeout(
                f"{self.task_id}: Airflow's defer timeout passed before the trigger ended"
            )
            for flag in ("soft_fail", "never_fail"):
                if getattr(self, flag, False):
                    raise AirflowSkipException(f"Skipping due to {flag} is set to True.") from error
            raise error
        return super().resume_execution(next_method, next_kwargs, context)

    def wait_timed_out(self, instance_id: str, message: str) -> NoReturn:
        """The trigger's deadline passed: Airflow's sensor timeout, as in poke mode (no retry; skipped
        with ``soft_fail``)."""
        raise AirflowSensorTimeout(message)
