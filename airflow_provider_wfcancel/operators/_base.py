"""The cancel semantics every operator, notifier and callback shares.

1. Validate the id (before any request).
2. Send one cancel request (retried by the HTTP layer on transient failures only).
3. Push ``instance_id`` and ``url`` to XCom at once, so links and later tasks find them.
4. Optionally wait, bounded by ``timeout``, for a terminal status: in the worker, or (``deferrable``)
   in the triggerer, resuming in ``execute_complete``.
5. Return one JSON-safe result, the same shape for every service and either way of waiting (see
   :class:`CancelResult`).

Deferral: the operator sends the request synchronously, pushes ``instance_id``/``url``, then defers to
the service's trigger with an absolute deadline (epoch seconds: now + ``timeout``, capped by
``execution_timeout``, which Airflow does not apply to deferred time). Everything needed to rebuild the
result is carried in the defer ``kwargs`` (``resume``), because the operator is re-created on resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, TypedDict

from airflow.sdk import BaseOperator

from airflow_provider_wfcancel._validation import check_seconds
from airflow_provider_wfcancel.exceptions import (
    AlreadyFinishedError,
    InvalidInputError,
    RemoteInstanceFailedError,
    WaitTimeoutError,
    WfCancelError,
)
from airflow_provider_wfcancel.hooks._base import CancelAck, InstanceState, WorkflowServiceHook
from airflow_provider_wfcancel.version_compat import RenderEmptyTemplatesMixin, conf

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

#: Airflow's own trigger timeout fires this long after our deadline: only a backstop for a triggerer
#: that never ran the trigger; normally the trigger's ``timeout`` event comes first.
DEFER_TIMEOUT_GRACE = 120.0

Outcome = Literal["cancelled", "cancel_requested", "already_finished"]


class CancelResult(TypedDict):
    """The XCom ``return_value`` of every cancel operator."""

    service: str
    instance_id: str
    outcome: Outcome
    status_at_request: str | None
    final_status: str | None
    url: str | None
    response: Any


def build_result(
    service_key: str, ack: CancelAck, outcome: Outcome, final_status: str | None, url: str | None
) -> CancelResult:
    state = ack.state_at_request
    return CancelResult(
        service=service_key,
        instance_id=ack.instance_id,
        outcome=outcome,
        status_at_request=state.status if state else None,
        final_status=final_status,
        url=url,
        response=ack.response,
    )


def _as_bool(name: str, value: Any) -> bool:
    """Accept a real bool, or the text a non-native template renders (``"True"``, ``"false"``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise InvalidInputError(f"{name} must be true or false, got {value!r}")


class BaseServiceOperator(RenderEmptyTemplatesMixin, BaseOperator):
    """Holds the connection field and the wait settings, and builds the service hook lazily, at execute time.

    :param timeout: seconds a wait for a terminal status may take (>= 0); each subclass passes its
        own default.
    :param poll_interval: seconds between status checks while waiting (>= 0.01); each subclass passes
        its own default.
    :param deferrable: wait in the triggerer instead of the worker (default: ``[operators]
        default_deferrable``).
    """

    hook_class: ClassVar[type[WorkflowServiceHook[Any]]]
    service_key: ClassVar[str]
    conn_id_field: ClassVar[str]

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
    def hook(self) -> WorkflowServiceHook[Any]:
        conn_id = getattr(self, self.conn_id_field)
        if not isinstance(conn_id, str) or not conn_id.strip():
            raise InvalidInputError(f"{self.conn_id_field} must be a non-empty string, got {conn_id!r}")
        return self.make_hook(conn_id.strip())

    def make_hook(self, conn_id: str) -> WorkflowServiceHook[Any]:
        return self.hook_class(conn_id)

    def _log_status(self, state: InstanceState) -> None:
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
        from airflow_provider_wfcancel.triggers import trigger_class_for

        return trigger_class_for(self.hook).from_hook(
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
        runners that drop defer kwargs (``dag.test()`` before apache/airflow#69942).
        """
        from airflow_provider_wfcancel.triggers._base import validate_event

        service = self.hook_class.service
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
                on_status_change=self._log_status,
            )
        except WaitTimeoutError:
            self.on_wait_timeout(instance_id)
            raise

    def on_wait_timeout(self, instance_id: str) -> None:
        """Called before a wait (deferred or not) fails with :class:`WaitTimeoutError`; nothing by default."""


class BaseCancelOperator(BaseServiceOperator):
    """Base of the service cancel operators; subclasses name the hook, the id field and the service."""

    instance_id_field: ClassVar[str]
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

    @property
    def instance_id_value(self) -> Any:
        return getattr(self, self.instance_id_field)

    def execute(self, context: Context) -> CancelResult:
        deferrable = _as_bool("deferrable", self.deferrable)
        return self.cancel(push=context["ti"].xcom_push, defer_context=context if deferrable else None)

    def cancel(
        self, push: Callable[..., Any] | None = None, *, defer_context: Context | None = None
    ) -> CancelResult:
        """The whole cancel flow, shared by ``execute`` and the notifiers.

        :param push: ``ti.xcom_push``; called with ``instance_id`` and ``url`` right after the cancel is
            acknowledged, before any waiting.
        :param defer_context: the task context, to wait in the triggerer instead (raises ``TaskDeferred``;
            the result then comes from :meth:`execute_complete`).
        """
        instance_id = self.hook.validate_instance_id(self.instance_id_value)
        wait = _as_bool("wait_for_termination", self.wait_for_termination)
        service = self.hook.service
        self.log.info("Cancelling %s instance %s at %s", service, instance_id, self.hook.settings.base_url)
        ack = self.hook.request_cancel(instance_id)
        url = ack.state_at_request.url if ack.state_at_request else None
        if push is not None:
            push(key="instance_id", value=instance_id)
            push(key="url", value=url)
        if ack.state_at_request is not None:
            self.log.info(
                "%s reported status %s when it received the cancel",
                service,
                ack.state_at_request.status_label,
            )

        if ack.already_finished:
            state = ack.state_at_request
            if ack.earlier_attempt_may_have_applied and state is not None and state.is_cancelled:
                self.log.info(
                    "%s instance %s is %s: an earlier attempt of this cancel went through, its answer was lost",
                    service,
                    instance_id,
                    state.status_label,
                )
                return self._finish(ack, "cancelled", state.status, url)
            return self._finish(ack, "already_finished", state.status if state else None, url)
        if not wait:
            self.log.info(
                "Cancel requested; not waiting for %s to confirm (wait_for_termination=False)", service
            )
            return self._finish(ack, "cancel_requested", None, url)

        if defer_context is not None:
            state = ack.state_at_request
            self.defer_until_terminal(
                defer_context,
                instance_id=instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                resume={
                    "instance_id": ack.instance_id,
                    "status_at_request": state.status if state else None,
                    "url": url,
                    "response": ack.response,
                },
            )
        self.log.info("Waiting up to %g s for %s instance %s to stop", self.timeout, service, instance_id)
        final = self.wait_in_worker(instance_id)
        outcome: Outcome = "cancelled" if final.is_cancelled else "already_finished"
        return self._finish(ack, outcome, final.status, url or final.url)

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> CancelResult:
        """Resume after a deferred wait: the same result as the non-deferred path, from ``resume`` + event."""
        payload, data = self.resumed(event, resume)
        outcome: Outcome = "cancelled" if payload.get("is_cancelled") else "already_finished"
        return self._conclude(
            CancelResult(
                service=self.service_key,
                instance_id=data["instance_id"],
                outcome=outcome,
                status_at_request=data.get("status_at_request"),
                final_status=payload["final_status"],
                url=data.get("url") or payload.get("url"),
                response=data.get("response"),
            )
        )

    def _finish(
        self, ack: CancelAck, outcome: Outcome, final_status: str | None, url: str | None
    ) -> CancelResult:
        return self._conclude(build_result(self.service_key, ack, outcome, final_status, url))

    def _conclude(self, result: CancelResult) -> CancelResult:
        outcome, final_status = result["outcome"], result["final_status"]
        service = self.hook_class.service
        if outcome == "already_finished":
            message = (
                f"{service} instance {result['instance_id']} had already finished "
                f"(status {final_status or 'unknown'}); nothing to cancel"
            )
            if self.fail_if_already_finished:
                raise AlreadyFinishedError(message, service=service)
            self.log.warning("%s", message)
        else:
            self.log.info("Outcome: %s (final status %s)", outcome, final_status or "not awaited")
        return result


class StartResult(TypedDict):
    """The XCom ``return_value`` of every start operator."""

    service: str
    instance_id: str
    url: str | None
    status_at_start: str | None
    final_status: str | None


class BaseStartOperator(BaseServiceOperator):
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
    :param cancel_on_kill: cancel the instance when the task is killed or its wait times out.
    """

    ui_color = "#b6e3b6"

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        timeout: float = 3600,
        poll_interval: float = 10,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, poll_interval=poll_interval, **kwargs)
        self.wait_for_completion = wait_for_completion
        self.cancel_on_kill = cancel_on_kill
        self.started_instance_id: str | None = None

    def start_instance(self) -> InstanceState | str:
        """Validate the arguments and start one instance through ``self.hook``, sending only the start
        request: return the new instance's state when the start answer carries it (Domo), else its id
        (EnOS), and :meth:`execute` reads the status once the id is safely recorded."""
        raise NotImplementedError

    def execute(self, context: Context) -> StartResult:
        wait = _as_bool("wait_for_completion", self.wait_for_completion)
        started = self.start_instance()
        instance_id = started.instance_id if isinstance(started, InstanceState) else started
        url = started.url if isinstance(started, InstanceState) else None
        # Recorded before any further request, so on_kill, callbacks and retries can find the instance.
        self.started_instance_id = instance_id
        context["ti"].xcom_push(key="instance_id", value=instance_id)
        context["ti"].xcom_push(key="url", value=url)
        state = started if isinstance(started, InstanceState) else self._status_at_start(instance_id)
        url = url or (state.url if state is not None else None)
        service = self.hook.service
        self.log.info(
            "Started %s instance %s (status %s)",
            service,
            instance_id,
            state.status_label if state is not None else "unknown",
        )
        status_at_start = state.status if state is not None else None
        if wait and _as_bool("deferrable", self.deferrable):
            self.defer_until_terminal(
                context,
                instance_id=instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                cancel_on_kill=bool(self.cancel_on_kill),
                resume={"instance_id": instance_id, "url": url, "status_at_start": status_at_start},
            )
        final: InstanceState | None = None
        if wait:
            final = self.wait_in_worker(instance_id)
            if not final.is_success:
                raise RemoteInstanceFailedError(
                    f"{service} instance {instance_id} ended with status {final.status_label}",
                    service=service,
                )
        return StartResult(
            service=self.service_key,
            instance_id=instance_id,
            url=url or (final.url if final else None),
            status_at_start=status_at_start,
            final_status=final.status if final else None,
        )

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

    def execute_complete(
        self, context: Context, event: Any = None, resume: dict[str, Any] | None = None
    ) -> StartResult:
        """Resume after a deferred wait: the same result as the non-deferred path; fails unless the
        instance ended successfully (or on a timeout, after a best-effort cancel with ``cancel_on_kill``)."""
        payload, data = self.resumed(event, resume)
        instance_id = data["instance_id"]
        self.started_instance_id = instance_id  # for on_kill while resuming
        final_status = payload["final_status"]
        if not payload.get("is_success"):
            service = self.hook_class.service
            raise RemoteInstanceFailedError(
                f"{service} instance {instance_id} ended with status "
                f"{final_status if final_status is not None else 'null'}",
                service=service,
            )
        return StartResult(
            service=self.service_key,
            instance_id=instance_id,
            url=data.get("url") or payload.get("url"),
            status_at_start=data.get("status_at_start"),
            final_status=final_status,
        )

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
            if not ack.already_finished:
                final = self.hook.wait_for_terminal(
                    instance_id, timeout=min(self.timeout, 60.0), poll_interval=min(self.poll_interval, 2.0)
                )
                self.log.info("%s instance %s is now %s", self.hook.service, instance_id, final.status_label)
        except Exception as error:  # best-effort: never hide why the task was killed
            self.log.warning(
                "Could not cancel %s instance %s on %s: %s", self.hook.service, instance_id, on, error
            )


def _error_from_event(payload: dict[str, Any], service: str) -> WfCancelError:
    """The provider error a trigger's ``error`` event names (its class by name, from ``exceptions``)."""
    from airflow_provider_wfcancel import exceptions

    cls = getattr(exceptions, str(payload.get("error_class")), None)
    if not (isinstance(cls, type) and issubclass(cls, WfCancelError)):
        cls = WfCancelError
    return cls(str(payload.get("message") or "the trigger reported an error"), service=service)
