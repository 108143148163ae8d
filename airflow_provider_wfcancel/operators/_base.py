"""The cancel semantics every operator, notifier and callback shares.

1. Validate the id (before any request).
2. Send one cancel request (retried by the HTTP layer on transient failures only).
3. Push ``instance_id`` and ``url`` to XCom at once, so links and later tasks find them.
4. Optionally wait, bounded by ``timeout``, for a terminal status.
5. Return one JSON-safe result, the same shape for every service (see :class:`CancelResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

from airflow.sdk import BaseOperator

from airflow_provider_wfcancel.exceptions import (
    AlreadyFinishedError,
    InvalidInputError,
    RemoteInstanceFailedError,
)
from airflow_provider_wfcancel.hooks._base import CancelAck, InstanceState, WorkflowServiceHook

if TYPE_CHECKING:
    from airflow.sdk import Context

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


def _check_seconds(name: str, value: Any, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise InvalidInputError(f"{name} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


class BaseServiceOperator(BaseOperator):
    """Holds the connection field and builds the service hook lazily, at execute time."""

    hook_class: ClassVar[type[WorkflowServiceHook[Any]]]
    service_key: ClassVar[str]
    conn_id_field: ClassVar[str]

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
        super().__init__(**kwargs)
        self.wait_for_termination = wait_for_termination
        self.timeout = _check_seconds("timeout", timeout, minimum=0)
        self.poll_interval = _check_seconds("poll_interval", poll_interval, minimum=0.01)
        self.fail_if_already_finished = fail_if_already_finished

    @property
    def instance_id_value(self) -> Any:
        return getattr(self, self.instance_id_field)

    def request_cancel(self, instance_id: str) -> CancelAck:
        return self.hook.request_cancel(instance_id)

    def execute(self, context: Context) -> CancelResult:
        return self.cancel(push=context["ti"].xcom_push)

    def cancel(self, push: Callable[..., Any] | None = None) -> CancelResult:
        """The whole cancel flow, shared by ``execute`` and the notifiers.

        :param push: ``ti.xcom_push``; called with ``instance_id`` and ``url`` right after the cancel is
            acknowledged, before any waiting.
        """
        instance_id = self.hook.validate_instance_id(self.instance_id_value)
        wait = _as_bool("wait_for_termination", self.wait_for_termination)
        service = self.hook.service
        self.log.info("Cancelling %s instance %s at %s", service, instance_id, self.hook.settings.base_url)
        ack = self.request_cancel(instance_id)
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
            return self._finish(ack, "already_finished", state.status if state else None, url)
        if not wait:
            self.log.info(
                "Cancel requested; not waiting for %s to confirm (wait_for_termination=False)", service
            )
            return self._finish(ack, "cancel_requested", None, url)

        self.log.info("Waiting up to %g s for %s instance %s to stop", self.timeout, service, instance_id)
        final = self.hook.wait_for_terminal(
            instance_id,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            on_status_change=self._log_status,
        )
        outcome: Outcome = "cancelled" if final.is_cancelled else "already_finished"
        return self._finish(ack, outcome, final.status, url or final.url)

    def _finish(
        self, ack: CancelAck, outcome: Outcome, final_status: str | None, url: str | None
    ) -> CancelResult:
        result = build_result(self.service_key, ack, outcome, final_status, url)
        if outcome == "already_finished":
            message = (
                f"{self.hook.service} instance {ack.instance_id} had already finished "
                f"(status {final_status or 'unknown'}); nothing to cancel"
            )
            if self.fail_if_already_finished:
                raise AlreadyFinishedError(message, service=self.hook.service)
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

    ``on_kill`` runs when the task is marked failed or success, cleared, or hits ``execution_timeout``;
    with ``cancel_on_kill`` (the default) it cancels the instance this task started, best-effort and
    bounded by ``timeout`` (at most 60 s), so a killed task does not leave a run behind.
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
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.timeout = _check_seconds("timeout", timeout, minimum=0)
        self.poll_interval = _check_seconds("poll_interval", poll_interval, minimum=0.01)
        self.cancel_on_kill = cancel_on_kill
        self.started_instance_id: str | None = None

    def start_instance(self) -> InstanceState:
        """Validate the arguments and start one instance through ``self.hook``."""
        raise NotImplementedError

    def execute(self, context: Context) -> StartResult:
        wait = _as_bool("wait_for_completion", self.wait_for_completion)
        state = self.start_instance()
        self.started_instance_id = state.instance_id
        context["ti"].xcom_push(key="instance_id", value=state.instance_id)
        context["ti"].xcom_push(key="url", value=state.url)
        self.log.info(
            "Started %s instance %s (status %s)", state.service, state.instance_id, state.status_label
        )
        final: InstanceState | None = None
        if wait:
            final = self.hook.wait_for_terminal(
                state.instance_id,
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                on_status_change=self._log_status,
            )
            if not final.is_success:
                raise RemoteInstanceFailedError(
                    f"{state.service} instance {state.instance_id} ended with status {final.status_label}",
                    service=state.service,
                )
        return StartResult(
            service=self.service_key,
            instance_id=state.instance_id,
            url=state.url or (final.url if final else None),
            status_at_start=state.status,
            final_status=final.status if final else None,
        )

    def on_kill(self) -> None:
        instance_id = self.started_instance_id
        if not (self.cancel_on_kill and instance_id):
            return
        self.log.info(
            "Task killed: cancelling %s instance %s (cancel_on_kill=True)", self.hook.service, instance_id
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
                "Could not cancel %s instance %s on kill: %s", self.hook.service, instance_id, error
            )
