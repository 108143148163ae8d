"""What every operator of this provider shares: wait settings, and waiting in the worker or the triggerer.

The hook built at execute time, deferral with an absolute deadline and the checked resume event are
:class:`~airflow_provider_wfcancel._service_task.ServiceTask`'s, shared with the sensors. The operator
sends its request synchronously, pushes ``instance_id``/``url``, then waits here or defers. The cancel
itself is :mod:`.._cancel_path`; starting is :mod:`._start`.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_wfcancel._cancel_path import (
    CancelPlan,
    CancelResult,
    Defer,
    cancel,
    conclude,
    result_from_event,
)
from airflow_provider_wfcancel._failure_path import End, failure_detail
from airflow_provider_wfcancel._poll_schedule import PollSchedule
from airflow_provider_wfcancel._service_task import DEFER_TIMEOUT_GRACE, HookT, ServiceTask
from airflow_provider_wfcancel._validation import as_bool, check_seconds
from airflow_provider_wfcancel.exceptions import WaitTimeoutError
from airflow_provider_wfcancel.operators._lineage import OpenLineageMixin
from airflow_provider_wfcancel.version_compat import conf, push_xcom

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel.hooks._base import InstanceState

__all__ = ["DEFER_TIMEOUT_GRACE", "BaseCancelOperator", "BaseServiceOperator", "HookT"]


class BaseServiceOperator(ServiceTask[HookT]):
    """Holds the wait settings; waits in the worker (:meth:`wait_in_worker`) or defers.

    :param timeout: seconds a wait for a terminal status may take (>= 0); each subclass passes its
        own default.
    :param poll_interval: seconds between status checks while waiting (>= 0.01); each subclass passes
        its own default.
    :param max_poll_interval: while the instance runs, the interval doubles after each check (less up to
        10 % jitter) until it reaches this many seconds (>= ``poll_interval``). Default: ``poll_interval``,
        a constant interval. Applies in the worker and in the triggerer alike.
    :param deferrable: wait in the triggerer instead of the worker (default: ``[operators]
        default_deferrable``).
    """

    def __init__(
        self,
        *,
        timeout: float,
        poll_interval: float,
        max_poll_interval: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.timeout = check_seconds("timeout", timeout, minimum=0)
        schedule = PollSchedule.checked(poll_interval, max_poll_interval)
        self.poll_interval = schedule.poll_interval
        self.max_poll_interval = schedule.max_poll_interval
        self.deferrable = deferrable

    def wait_in_worker(self, instance_id: str) -> InstanceState:
        """Poll from the worker until ``instance_id`` is terminal; on a timeout, call :meth:`on_wait_timeout`
        (as a deferred wait's timeout event does) and raise :class:`WaitTimeoutError`."""
        try:
            return self.hook.wait_for_terminal(
                instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                max_poll_interval=self.max_poll_interval,
                on_status_change=self.log_status,
            )
        except WaitTimeoutError:
            self.on_wait_timeout(instance_id)
            raise


class BaseCancelOperator(OpenLineageMixin, BaseServiceOperator[HookT]):
    """Base of the service cancel operators: the arguments of :mod:`.._cancel_path`, and its result.

    :param wait_for_termination: wait until the instance is terminal; templated, so a UI form's boolean
        can drive it.
    :param timeout: seconds to wait before failing with the last status seen (default 600).
    :param poll_interval: seconds between status checks while waiting (default 5).
    :param max_poll_interval: the interval grows to this many seconds while the instance runs (default:
        ``poll_interval``, constant); see :class:`BaseServiceOperator`.
    :param fail_if_already_finished: fail when the instance had already finished, instead of
        succeeding with outcome ``already_finished``.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    ui_color = "#f4a6a6"
    lineage_action = "cancel"

    def __init__(
        self,
        *,
        wait_for_termination: bool = True,
        timeout: float = 600,
        poll_interval: float = 5,
        fail_if_already_finished: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, poll_interval=poll_interval, **kwargs)
        self.wait_for_termination = wait_for_termination
        self.fail_if_already_finished = fail_if_already_finished

    @abstractmethod
    def instance_id_value(self) -> Any:
        """The (rendered) id to cancel."""

    def plan(self) -> CancelPlan:
        return CancelPlan.checked(
            wait=self.wait_for_termination,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            fail_if_already_finished=self.fail_if_already_finished,
            max_poll_interval=self.max_poll_interval,
        )

    def execute(self, context: Context) -> CancelResult:
        plan = self.plan()
        defer: Defer | None = None
        if as_bool("deferrable", self.deferrable):

            def defer(instance_id: str, resume: dict[str, Any]) -> NoReturn:
                self.defer_until_terminal(
                    context,
                    instance_id=instance_id,
                    timeout=plan.timeout,
                    poll_interval=plan.poll_interval,
                    max_poll_interval=plan.max_poll_interval,
                    resume=resume,
                )

        return cancel(
            self.hook,
            self.instance_id_value(),
            plan,
            log=self.log,
            push=functools.partial(push_xcom, context["ti"]),
            defer=defer,
        )

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> CancelResult:
        """Resume after a deferred wait: the same result as the non-deferred path, from ``resume`` + event."""
        payload, data = self.resumed(event, resume)
        end = End.from_event(data["instance_id"], payload)
        detail = failure_detail(self.hook, end, self.log, functools.partial(push_xcom, context["ti"]))
        result = result_from_event(self.hook.conn_type, payload, data, detail)
        return conclude(result, self.plan(), self.hook.service, self.log)
