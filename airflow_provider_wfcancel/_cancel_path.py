"""The one cancel path, shared by the cancel operators, the notifiers (and later sensors, bulk and the UI).

1. Validate the id (before any request).
2. Send one cancel request (retried by the HTTP layer on transient failures only).
3. Push ``instance_id`` and ``url`` at once, so links and later tasks find them.
4. Optionally wait, bounded by ``timeout``, for a terminal status: in the worker, or (``defer``) in the
   triggerer, the result then rebuilt from the trigger's event by :func:`result_from_event`.
5. Return one JSON-safe :class:`CancelResult`, the same shape for every service and either way of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypedDict

from airflow_provider_wfcancel._failure_path import End, afailure_detail, failure_detail
from airflow_provider_wfcancel._poll_schedule import PollSchedule
from airflow_provider_wfcancel._validation import as_bool, check_seconds
from airflow_provider_wfcancel.exceptions import AlreadyFinishedError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.failure import FailureDetail
    from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

Outcome = Literal["cancelled", "cancel_requested", "already_finished"]
#: ``ti.xcom_push``.
Push = Callable[..., Any]
#: Hands the wait to the triggerer: ``defer(instance_id, resume)`` raises ``TaskDeferred``.
Defer = Callable[[str, dict[str, Any]], NoReturn]


class CancelResult(TypedDict):
    """The XCom ``return_value`` of every cancel operator."""

    service: str
    instance_id: str
    outcome: Outcome
    status_at_request: str | None
    final_status: str | None
    url: str | None
    response: Any
    #: Why the instance failed, when it had ended in failure (see :mod:`._failure_path`), else ``None``.
    failure_detail: FailureDetail | None


@dataclass(frozen=True)
class CancelPlan:
    """How to cancel: whether and how long to wait (polling from ``poll_interval`` up to
    ``max_poll_interval``, ``None``: constant), and whether a finished instance is a failure."""

    wait: bool = True
    timeout: float = 600.0
    poll_interval: float = 5.0
    fail_if_already_finished: bool = False
    max_poll_interval: float | None = None

    @classmethod
    def checked(
        cls,
        *,
        wait: Any,
        timeout: Any,
        poll_interval: Any,
        fail_if_already_finished: Any = False,
        max_poll_interval: Any = None,
    ) -> CancelPlan:
        """A plan from user input (templates render ``"True"``); bad values name their field."""
        schedule = PollSchedule.checked(poll_interval, max_poll_interval)
        return cls(
            wait=as_bool("wait_for_termination", wait),
            timeout=check_seconds("timeout", timeout, minimum=0),
            poll_interval=schedule.poll_interval,
            fail_if_already_finished=bool(fail_if_already_finished),
            max_poll_interval=schedule.max_poll_interval,
        )


def cancel(
    hook: WorkflowServiceHook[Any],
    instance_id: Any,
    plan: CancelPlan,
    *,
    log: logging.Logger | Any,
    push: Push | None = None,
    defer: Defer | None = None,
) -> CancelResult:
    """Cancel ``instance_id`` through ``hook`` and return the result (see the module's steps)."""
    instance_id = hook.validate_instance_id(instance_id)
    log.info("Cancelling %s instance %s at %s", hook.service, instance_id, hook.settings.base_url)
    ack = hook.request_cancel(instance_id)
    if push is not None:
        push(key="instance_id", value=instance_id)
        push(key="url", value=_url(ack))
    ended = _ended_at_request(ack) if plan.wait else None  # a cancel that does not wait stays short
    detail = failure_detail(hook, ended, log, push) if ended else None
    if (settled := _settled_at_request(hook, ack, plan, log, detail)) is not None:
        return settled
    if defer is not None:
        state = ack.state_at_request
        defer(
            instance_id,
            {
                "instance_id": ack.instance_id,
                "status_at_request": state.status if state else None,
                "url": _url(ack),
                "response": ack.response,
            },
        )
    log.info("Waiting up to %g s for %s instance %s to stop", plan.timeout, hook.service, instance_id)
    final = hook.wait_for_terminal(
        instance_id,
        timeout=plan.timeout,
        poll_interval=plan.poll_interval,
        max_poll_interval=plan.max_poll_interval,
        on_status_change=_status_logger(log),
    )
    return _after_wait(hook, ack, final, plan, log, failure_detail(hook, End.of(final), log, push))


async def acancel(
    hook: WorkflowServiceHook[Any], instance_id: Any, plan: CancelPlan, *, log: logging.Logger | Any
) -> CancelResult:
    """:func:`cancel` on the hook's async path, for code that runs in the triggerer (Deadline Alert
    callbacks); no XCom, no deferral."""
    instance_id = hook.validate_instance_id(instance_id)
    log.info("Cancelling %s instance %s at %s", hook.service, instance_id, (await hook.asettings()).base_url)
    ack = await hook.arequest_cancel(instance_id)
    ended = _ended_at_request(ack) if plan.wait else None
    detail = await afailure_detail(hook, ended, log) if ended else None
    if (settled := _settled_at_request(hook, ack, plan, log, detail)) is not None:
        return settled
    log.info("Waiting up to %g s for %s instance %s to stop", plan.timeout, hook.service, instance_id)
    final = await hook.await_terminal(
        instance_id,
        timeout=plan.timeout,
        poll_interval=plan.poll_interval,
        max_poll_interval=plan.max_poll_interval,
        on_status_change=_status_logger(log),
    )
    return _after_wait(hook, ack, final, plan, log, await afailure_detail(hook, End.of(final), log))


def _ended_at_request(ack: CancelAck) -> End | None:
    """How the instance had ended when the cancel found it finished (``None``: it had not, or unknown)."""
    state = ack.state_at_request
    return End.of(state) if ack.already_finished and state is not None and state.is_terminal else None


def _url(ack: CancelAck) -> str | None:
    return ack.state_at_request.url if ack.state_at_request else None


def _status_logger(log: logging.Logger | Any) -> Callable[[InstanceState], None]:
    def status_changed(current: InstanceState) -> None:
        log.info("%s instance %s is %s", current.service, current.instance_id, current.status_label)

    return status_changed


def _settled_at_request(
    hook: WorkflowServiceHook[Any],
    ack: CancelAck,
    plan: CancelPlan,
    log: logging.Logger | Any,
    detail: FailureDetail | None,
) -> CancelResult | None:
    """The result when the cancel's answer already settles it (finished before, or not waiting); ``None``
    when the instance still has to be waited for."""
    service, state, url = hook.service, ack.state_at_request, _url(ack)
    if state is not None:
        log.info("%s reported status %s when it received the cancel", service, state.status_label)
    if ack.already_finished:
        if ack.earlier_attempt_may_have_applied and state is not None and state.is_cancelled:
            log.info(
                "%s instance %s is %s: an earlier attempt of this cancel went through, its answer was lost",
                service,
                ack.instance_id,
                state.status_label,
            )
            return conclude(_result(hook, ack, "cancelled", state.status, url), plan, service, log)
        final_status = state.status if state else None
        result = _result(hook, ack, "already_finished", final_status, url, detail)
        return conclude(result, plan, service, log)
    if not plan.wait:
        log.info("Cancel requested; not waiting for %s to confirm (wait_for_termination=False)", service)
        return conclude(_result(hook, ack, "cancel_requested", None, url), plan, service, log)
    return None


def _after_wait(
    hook: WorkflowServiceHook[Any],
    ack: CancelAck,
    final: InstanceState,
    plan: CancelPlan,
    log: logging.Logger | Any,
    detail: FailureDetail | None,
) -> CancelResult:
    outcome: Outcome = "cancelled" if final.is_cancelled else "already_finished"
    return conclude(
        _result(hook, ack, outcome, final.status, _url(ack) or final.url, detail), plan, hook.service, log
    )


def result_from_event(
    service_key: str,
    payload: dict[str, Any],
    resume: dict[str, Any],
    detail: FailureDetail | None = None,
) -> CancelResult:
    """The result of a deferred cancel, from its validated ``success`` event and what it saved to resume
    (``detail``: why the instance failed, when it did)."""
    return CancelResult(
        service=service_key,
        instance_id=resume["instance_id"],
        outcome="cancelled" if payload.get("is_cancelled") else "already_finished",
        status_at_request=resume.get("status_at_request"),
        final_status=payload["final_status"],
        url=resume.get("url") or payload.get("url"),
        response=resume.get("response"),
        failure_detail=detail,
    )


def conclude(result: CancelResult, plan: CancelPlan, service: str, log: logging.Logger | Any) -> CancelResult:
    """Log the outcome; an instance that had already finished fails only when the plan says so."""
    outcome, final_status = result["outcome"], result["final_status"]
    if outcome == "already_finished":
        message = (
            f"{service} instance {result['instance_id']} had already finished "
            f"(status {final_status or 'unknown'}); nothing to cancel"
        )
        if plan.fail_if_already_finished:
            raise AlreadyFinishedError(message, service=service)
        log.warning("%s", message)
    else:
        log.info("Outcome: %s (final status %s)", outcome, final_status or "not awaited")
    return result


def _result(
    hook: WorkflowServiceHook[Any],
    ack: CancelAck,
    outcome: Outcome,
    final_status: str | None,
    url: str | None,
    detail: FailureDetail | None = None,
) -> CancelResult:
    state = ack.state_at_request
    return CancelResult(
        service=hook.conn_type,
        instance_id=ack.instance_id,
        outcome=outcome,
        status_at_request=state.status if state else None,
        final_status=final_status,
        url=url,
        response=ack.response,
        failure_detail=detail,
    )
