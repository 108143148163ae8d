"""What every operator of this provider shares: the connection, a hook built at execute time, and waiting.

Deferral: the operator sends its request synchronously, pushes ``instance_id``/``url``, then defers to the
service's trigger with an absolute deadline (epoch seconds: now + ``timeout``, capped by
``execution_timeout``, which Airflow does not apply to deferred time). Everything needed to rebuild the
result is carried in the defer ``kwargs`` (``resume``), because the operator is re-created on resume.
The cancel itself is :mod:`.._cancel_path`; starting is :mod:`._start`.
"""

from __future__ import annotations

import importlib
import time
from abc import abstractmethod
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_wfcancel._cancel_path import (
    CancelPlan,
    CancelResult,
    Defer,
    cancel,
    conclude,
    result_from_event,
)
from airflow_provider_wfcancel._validation import as_bool, check_seconds
from airflow_provider_wfcancel.exceptions import WaitTimeoutError, WfCancelError
from airflow_provider_wfcancel.version_compat import RenderEmptyTemplatesMixin, conf

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_wfcancel.hooks._base import InstanceState, WorkflowServiceHook

#: Airflow's own trigger timeout fires this long after our deadline: only a backstop for a triggerer
#: that never ran the trigger; normally the trigger's ``timeout`` event comes first.
DEFER_TIMEOUT_GRACE = 120.0

HookT = TypeVar("HookT", bound="WorkflowServiceHook[Any]")


class BaseServiceOperator(RenderEmptyTemplatesMixin, BaseOperator, Generic[HookT]):
    """Holds the wait settings and builds the service hook lazily, at execute time.

    :param timeout: seconds a wait for a terminal status may take (>= 0); each subclass passes its
        own default.
    :param poll_interval: seconds between status checks while waiting (>= 0.01); each subclass passes
        its own default.
    :param deferrable: wait in the triggerer instead of the worker (default: ``[operators]
        default_deferrable``).
    """

    #: Import path of the trigger that polls with this operator's hook (imported only when deferring).
    trigger_class: ClassVar[str]

    def __init__(
        self,
        *,
        timeout: float,
        poll_interval: float,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.timeout = check_seconds("timeout", timeout, minimum=0)
        self.poll_interval = check_seconds("poll_interval", poll_interval, minimum=0.01)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> HookT:
        return self.make_hook()

    @abstractmethod
    def make_hook(self) -> HookT:
        """The service hook for this task's (rendered) connection fields."""

    def log_status(self, state: InstanceState) -> None:
        self.log.info("%s instance %s is %s", state.service, state.instance_id, state.status_label)

    # -- deferral -----------------------------------------------------------------------------------

    def make_trigger(
        self,
        *,
        instance_id: str,
        deadline: float,
        poll_interval: float,
        cancel_on_kill: bool,
        resume: dict[str, Any],
    ) -> BaseTrigger:
        """The trigger that polls ``instance_id`` with a hook built like ``self.hook`` (same connection,
        and for EnOS the same ``user_id``/``org_id``). Override for a custom hook or trigger."""
        module, _, name = self.trigger_class.rpartition(".")
        trigger_class = getattr(importlib.import_module(module), name)
        return trigger_class.from_hook(  # type: ignore[no-any-return]
            self.hook,
            instance_id=instance_id,
            deadline=deadline,
            poll_interval=poll_interval,
            cancel_on_kill=cancel_on_kill,
            resume=resume,
        )

    def wait_deadline(self, context: Context, timeout: float, *, now: float) -> float:
        """Absolute deadline (epoch seconds): ``now + timeout``, capped by the end of ``execution_timeout``."""
        deadline = now + timeout
        if self.execution_timeout is not None:
            start = getattr(context.get("ti"), "start_date", None)
            started = start.timestamp() if isinstance(start, datetime) else now
            deadline = min(deadline, started + self.execution_timeout.total_seconds())
        return deadline

    def defer_until_terminal(
        self,
        context: Context,
        *,
        instance_id: str,
        timeout: float,
        poll_interval: float,
        resume: dict[str, Any],
        cancel_on_kill: bool = False,
    ) -> NoReturn:
        """Hand the wait to the triggerer; the task resumes in ``execute_complete(context, event, resume)``."""
        now = time.time()
        deadline = self.wait_deadline(context, timeout, now=now)
        trigger = self.make_trigger(
            instance_id=instance_id,
            deadline=deadline,
            poll_interval=poll_interval,
            cancel_on_kill=cancel_on_kill,
            resume=resume,
        )
        self.log.info(
            "Deferring: the triggerer polls %s instance %s every %g s for at most %g s",
            self.hook.service,
            instance_id,
            poll_interval,
            max(0.0, deadline - now),
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs={"resume": resume},
            timeout=timedelta(seconds=max(0.0, deadline - now) + DEFER_TIMEOUT_GRACE),
        )

    def resumed(self, event: Any, resume: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate the trigger's event; return ``(event, resume data)`` for a terminal status, raise otherwise.

        ``resume`` comes from the defer kwargs; the copy the trigger echoed in its event is the fallback for
        runners that drop defer kwargs (see docs/design.md).
        """
        from airflow_provider_wfcancel.triggers._base import validate_event

        service = self.hook.service
        payload = validate_event(event)
        data = resume if resume is not None else payload.get("resume")
        if not isinstance(data, dict) or not isinstance(data.get("instance_id"), str):
            raise WfCancelError(
                "the task resumed without the data it saved when it deferred; cannot build its result",
                service=service,
            )
        instance_id = data["instance_id"]
        if payload.get("instance_id") != instance_id:
            raise WfCancelError(
                f"the trigger event is about instance {payload.get('instance_id')!r}, not {instance_id!r}",
                service=service,
            )
        if payload["status"] == "error":
            raise _error_from_event(payload, service)
        if payload["status"] == "timeout":
            self.on_wait_timeout(instance_id)
            raise WaitTimeoutError(str(payload.get("message") or "the wait timed out"), service=service)
        return payload, data

    def wait_in_worker(self, instance_id: str) -> InstanceState:
        """Poll from the worker until ``instance_id`` is terminal; on a timeout, call :meth:`on_wait_timeout`
        (as a deferred wait's timeout event does) and raise :class:`WaitTimeoutError`."""
        try:
            return self.hook.wait_for_terminal(
                instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                on_status_change=self.log_status,
            )
        except WaitTimeoutError:
            self.on_wait_timeout(instance_id)
            raise

    def on_wait_timeout(self, instance_id: str) -> None:
        """Called before a wait (deferred or not) fails with :class:`WaitTimeoutError`; nothing by default."""


class BaseCancelOperator(BaseServiceOperator[HookT]):
    """Base of the service cancel operators: the arguments of :mod:`.._cancel_path`, and its result.

    :param wait_for_termination: wait until the instance is terminal; templated, so a UI form's boolean
        can drive it.
    :param timeout: seconds to wait before failing with the last status seen (default 600).
    :param poll_interval: seconds between status checks while waiting (default 5).
    :param fail_if_already_finished: fail when the instance had already finished, instead of
        succeeding with outcome ``already_finished``.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    ui_color = "#f4a6a6"

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
                    resume=resume,
                )

        return cancel(
            self.hook, self.instance_id_value(), plan, log=self.log, push=context["ti"].xcom_push, defer=defer
        )

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> CancelResult:
        """Resume after a deferred wait: the same result as the non-deferred path, from ``resume`` + event."""
        payload, data = self.resumed(event, resume)
        result = result_from_event(self.hook.conn_type, payload, data)
        return conclude(result, self.plan(), self.hook.service, self.log)


def _error_from_event(payload: dict[str, Any], service: str) -> WfCancelError:
    """The provider error a trigger's ``error`` event names (its class by name, from ``exceptions``)."""
    from airflow_provider_wfcancel import exceptions

    cls = getattr(exceptions, str(payload.get("error_class")), None)
    if not (isinstance(cls, type) and issubclass(cls, WfCancelError)):
        cls = WfCancelError
    return cls(str(payload.get("message") or "the trigger reported an error"), service=service)
