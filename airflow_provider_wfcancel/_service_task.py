"""What every task of this provider shares, operator or sensor: a hook built at execute time, deferral to
the service's trigger, and the checked event a deferred task resumes with.

Deferral: the task defers to its service's trigger with an absolute deadline (epoch seconds: now +
``timeout``, capped by ``execution_timeout``, which Airflow does not apply to deferred time). Everything
needed to rebuild the result is carried in the defer ``kwargs`` (``resume``), because the task is
re-created on resume; the trigger echoes the same data in its event, for runners that drop those kwargs.
Operators (:mod:`.operators._base`) and sensors (:mod:`.sensors._base`) subclass :class:`ServiceTask`.
"""

from __future__ import annotations

import importlib
import time
from abc import abstractmethod
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar

from airflow_provider_wfcancel.exceptions import WaitTimeoutError, WfCancelError
from airflow_provider_wfcancel.version_compat import BaseOperator, RenderEmptyTemplatesMixin

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_wfcancel.hooks._base import InstanceState, WorkflowServiceHook
    from airflow_provider_wfcancel.hooks.domo import DomoHook
    from airflow_provider_wfcancel.hooks.enos import EnosHook

#: Airflow's own trigger timeout fires this long after our deadline: only a backstop for a triggerer
#: that never ran the trigger; normally the trigger's ``timeout`` event comes first.
DEFER_TIMEOUT_GRACE = 120.0

HookT = TypeVar("HookT", bound="WorkflowServiceHook[Any]")


class ServiceTask(RenderEmptyTemplatesMixin, BaseOperator, Generic[HookT]):
    """Builds the service hook lazily, at execute time, and hands waits to the service's trigger.

    Subclasses set :attr:`trigger_class`, implement :meth:`make_hook`, and resume in
    ``execute_complete(context, event, resume)``, which starts with :meth:`resumed`.
    """

    #: Import path of the trigger that polls with this task's hook (imported only when deferring).
    trigger_class: ClassVar[str]

    # No __init__ here: this class inherits RenderEmptyTemplatesMixin's, which only passes on, so Airflow's
    # operator metaclass leaves it unwrapped (one run of argument defaulting per task less at DAG parse;
    # were it to wrap the inherited BaseOperator.__init__, a sensor's BaseSensorOperator.__init__ would be
    # skipped).

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
        max_poll_interval: float | None = None,
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
            max_poll_interval=max_poll_interval,
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
        max_poll_interval: float | None = None,
    ) -> NoReturn:
        """Hand the wait to the triggerer; the task resumes in ``execute_complete(context, event, resume)``."""
        now = time.time()
        deadline = self.wait_deadline(context, timeout, now=now)
        trigger = self.make_trigger(
            instance_id=instance_id,
            deadline=deadline,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            cancel_on_kill=cancel_on_kill,
            resume=resume,
        )
        self.log.info(
            "Deferring: the triggerer polls %s instance %s every %g s (growing to %g s) for at most %g s",
            self.hook.service,
            instance_id,
            poll_interval,
            max_poll_interval or poll_interval,
            max(0.0, deadline - now),
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs={"resume": resume},
            timeout=timedelta(seconds=max(0.0, deadline - now) + DEFER_TIMEOUT_GRACE),
        )

    def resumed(self, event: Any, resume: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate the trigger's event; return ``(event, resume data)`` for a terminal status, raise otherwise
        (an ``error`` event as the provider error it names, a ``timeout`` event through :meth:`wait_timed_out`).

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
            self.wait_timed_out(instance_id, str(payload.get("message") or "the wait timed out"))
        return payload, data

    def wait_timed_out(self, instance_id: str, message: str) -> NoReturn:
        """A deferred wait ended with a ``timeout`` event: :meth:`on_wait_timeout`, then
        :class:`WaitTimeoutError` (sensors raise Airflow's sensor timeout instead)."""
        self.on_wait_timeout(instance_id)
        raise WaitTimeoutError(message, service=self.hook.service)

    def on_wait_timeout(self, instance_id: str) -> None:
        """Called before a wait (deferred or not) fails with :class:`WaitTimeoutError`; nothing by default."""


# -- instance targets: which service, connection and instance a task or notifier acts on ------------
#
# The connection id, the EnOS user/organization, the id field and the hook built from them are declared
# once per service here. ``DomoTarget``/``EnosTarget`` (plain classes) build the hook and read the id field,
# for tasks and notifiers alike. The ``__init__`` of the task mixins (``DomoConnection``/``EnosConnection``:
# the connection, for start operators and bulk cancels; ``DomoInstanceTarget``/``EnosInstanceTarget``: also
# the id, for cancel operators and sensors) is wrapped by Airflow's operator metaclass like any operator's, because
# the mixins are created with it: so ``default_args`` fill their arguments, ``partial()``/``expand()``
# accept them, and XComArg dependencies are set once, after the whole chain ran. A plain mixin's
# ``__init__`` would be none of these (and a class that defines no ``__init__`` is not wrapped at all).

DEFAULT_DOMO_CONN_ID = "domo_default"
DEFAULT_ENOS_CONN_ID = "enos_default"

if TYPE_CHECKING:
    from abc import ABCMeta as _OperatorMeta  # what Airflow's operator metaclass derives from
else:
    _OperatorMeta = type(BaseOperator)  # Airflow's operator metaclass, wherever the SDK defines it


class DomoTarget:
    """The Domo connection of a task or notifier (``domo_conn_id``), the hook built from it, the id field."""

    #: The name of the templated id argument.
    instance_id_field: ClassVar[str] = "instance_id"
    domo_conn_id: str

    def make_hook(self) -> DomoHook:
        from airflow_provider_wfcancel.hooks.domo import DomoHook

        return DomoHook.for_task(self.domo_conn_id)

    def instance_id_value(self) -> Any:
        return getattr(self, self.instance_id_field)


class EnosTarget:
    """``user_id``/``org_id`` given to an EnOS task or notifier become the hook's defaults for every call.

    An empty or whitespace-only value (what a UI form sends for an empty optional field, rendered at
    execute time) counts as not given: the connection's ``user_id``/``org_id`` extra applies.
    """

    #: The name of the templated id argument.
    instance_id_field: ClassVar[str] = "flow_instance_id"
    enos_conn_id: str
    user_id: str | None
    org_id: str | None

    def make_hook(self) -> EnosHook:
        from airflow_provider_wfcancel.hooks.enos import EnosHook

        return EnosHook.for_task(self.enos_conn_id, user_id=self.user_id, org_id=self.org_id)

    def instance_id_value(self) -> Any:
        return getattr(self, self.instance_id_field)


class DomoConnection(DomoTarget, metaclass=_OperatorMeta):
    """A task on a ``domo`` connection (``domo_conn_id``, default ``domo_default``)."""

    def __init__(self, *, domo_conn_id: str = DEFAULT_DOMO_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.domo_conn_id = domo_conn_id


class EnosConnection(EnosTarget, metaclass=_OperatorMeta):
    """A task on an ``enos`` connection (``enos_conn_id``, default ``enos_default``) as ``user_id`` in
    ``org_id`` (default, also when empty: the connection's)."""

    def __init__(
        self,
        *,
        enos_conn_id: str = DEFAULT_ENOS_CONN_ID,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.enos_conn_id, self.user_id, self.org_id = enos_conn_id, user_id, org_id


# The instance targets take the connection's arguments themselves instead of deriving from the classes
# above: each class in an operator's chain that defines ``__init__`` costs a run of Airflow's argument
# defaulting per task when a DAG is parsed.


class DomoInstanceTarget(DomoTarget, metaclass=_OperatorMeta):
    """A task on one Domo instance: ``instance_id`` and the connection (as :class:`DomoConnection`)."""

    def __init__(self, *, instance_id: str, domo_conn_id: str = DEFAULT_DOMO_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.domo_conn_id = domo_conn_id
        self.instance_id = instance_id


class EnosInstanceTarget(EnosTarget, metaclass=_OperatorMeta):
    """A task on one EnOS flow instance: ``flow_instance_id``, the connection, ``user_id`` and ``org_id``
    (as :class:`EnosConnection`)."""

    def __init__(
        self,
        *,
        flow_instance_id: str,
        enos_conn_id: str = DEFAULT_ENOS_CONN_ID,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.enos_conn_id, self.user_id, self.org_id = enos_conn_id, user_id, org_id
        self.flow_instance_id = flow_instance_id


def _error_from_event(payload: dict[str, Any], service: str) -> WfCancelError:
    """The provider error a trigger's ``error`` event names (its class by name, from ``exceptions``)."""
    from airflow_provider_wfcancel import exceptions

    cls = getattr(exceptions, str(payload.get("error_class")), None)
    if not (isinstance(cls, type) and issubclass(cls, WfCancelError)):
        cls = WfCancelError
    return cls(str(payload.get("message") or "the trigger reported an error"), service=service)
