"""The polling loop every instance trigger shares.

A trigger watches one remote instance from the triggerer's event loop and yields exactly one event:

- ``{"status": "success", "final_status": ..., "is_cancelled": ..., "is_success": ..., "url": ...}``
  when the instance reached a terminal status (whatever it is; the operator decides what it means);
- ``{"status": "timeout", "last_status": ..., "message": ...}`` when the absolute ``deadline`` (epoch
  seconds) passed first;
- ``{"status": "error", "error_class": ..., "message": ...}`` when the connection could not be read or the
  service kept failing (after the HTTP layer's retries); the message carries no secret.

Every event also has ``instance_id`` and echoes ``resume``: opaque, JSON-safe data of the deferring task.
The task gets the same data through the defer ``kwargs``; the echo is a fallback for runners that drop
those kwargs on resume (``dag.test()`` on older Airflow; see docs/design.md).

All I/O is async: the connection comes from the async connection API (``hook.asettings()``), state
from ``hook.aget_state()``. Subclasses only say how to build their hook (class and keyword arguments).

``on_kill`` (Airflow 3.3+; called only when a user marks the deferred task failed or success, or clears
it) cancels the instance when ``cancel_on_kill`` is set, which start operators do; cancel operators never
set it. ``cleanup()`` is left alone: it also runs when a trigger merely moves to another triggerer.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol, Self

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_wfcancel._poll_schedule import PollSchedule, check_step
from airflow_provider_wfcancel.exceptions import InvalidInputError, WfCancelError
from airflow_provider_wfcancel.hooks._base import CancelAck, InstanceState
from airflow_provider_wfcancel.version_compat import redact

EventStatus = Literal["success", "timeout", "error"]
EVENT_STATUSES: frozenset[str] = frozenset({"success", "timeout", "error"})
#: How long ``on_kill`` may take in all: the cancel with its retries, then waiting for the service to
#: confirm it. Below the triggerer's own bound (``[triggerer] on_kill_timeout``, 30 s by default), so
#: the log says how the cancel ended.
KILL_BUDGET_SECONDS = 20.0
#: A poll may always take this long, even once the deadline has passed (the first poll of a short wait).
MIN_POLL_SECONDS = 5.0


class AsyncInstanceHook(Protocol):
    """What a trigger needs from a service hook."""

    @property
    def service(self) -> str: ...

    async def asettings(self) -> Any: ...

    async def aget_state(self, instance_id: str) -> InstanceState: ...

    async def arequest_cancel(self, instance_id: str) -> CancelAck: ...


def _safe_message(text: str) -> str:
    """Messages leave the triggerer (event table, task log): pass them through Airflow's secrets masker."""
    return str(redact(text))


class InstanceStatusTrigger(BaseTrigger):
    """Poll one remote instance until it is terminal, the deadline passes, or polling fails.

    :param conn_id: the service connection, read with the async connection API.
    :param instance_id: the instance to watch.
    :param deadline: absolute deadline, epoch seconds; a ``timeout`` event once it passed without a
        terminal status (the instance is always polled at least once). A poll still running at the
        deadline is abandoned then (after at least :data:`MIN_POLL_SECONDS`).
    :param poll_interval: seconds between two polls.
    :param max_poll_interval: the interval doubles after each poll while the instance runs (less up to 10 %
        jitter) until it reaches this (default: ``poll_interval``, constant); see :mod:`.._poll_schedule`.
    :param poll_started: epoch seconds the wait began (default: now); with ``poll_step``, where in its
        growth the schedule is. Airflow keeps the kwargs a trigger was created with, so a trigger restarted
        in another triggerer takes its step from the time since ``poll_started``, not from the start.
    :param poll_step: polls done before this trigger was created (0 from a deferral; Airflow stores the
        kwargs once, so a restarted trigger recovers its step from ``poll_started``).
    :param cancel_on_kill: cancel the instance in :meth:`on_kill` (a user killed the deferred task).
    :param resume: JSON-safe data echoed untouched in the event.
    """

    hook_class: ClassVar[Callable[..., AsyncInstanceHook]]

    def __init__(
        self,
        *,
        conn_id: str,
        instance_id: str,
        deadline: float,
        poll_interval: float = 5.0,
        max_poll_interval: float | None = None,
        poll_started: float | None = None,
        poll_step: int = 0,
        cancel_on_kill: bool = False,
        resume: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # BaseTrigger is untyped
        self.schedule = PollSchedule.checked(poll_interval, max_poll_interval)
        self.deadline = _epoch("deadline", deadline)
        self.poll_started = time.time() if poll_started is None else _epoch("poll_started", poll_started)
        self.poll_step = check_step(poll_step)
        self.conn_id = conn_id
        self.instance_id = instance_id
        self.poll_interval = self.schedule.poll_interval
        self.max_poll_interval = self.schedule.max_poll_interval
        self.cancel_on_kill = bool(cancel_on_kill)
        self.resume = dict(resume) if resume is not None else None
        self._hook: AsyncInstanceHook | None = None

    # -- what a service trigger supplies ------------------------------------------------------------

    def hook_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``hook_class`` besides the connection id; serialized with the trigger."""
        return {}

    @classmethod
    def from_hook(cls, hook: Any, **kwargs: Any) -> Self:
        """A trigger that rebuilds ``hook`` (same connection and options) in the triggerer."""
        return cls(conn_id=hook.conn_id, **kwargs)

    # -- BaseTrigger ------------------------------------------------------------------------------------

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "instance_id": self.instance_id,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "poll_started": self.poll_started,
                "poll_step": self.poll_step,
                "cancel_on_kill": self.cancel_on_kill,
                "resume": self.resume,
                **self.hook_kwargs(),
            },
        )

    @property
    def hook(self) -> AsyncInstanceHook:
        """One hook per trigger, shared by ``run`` and ``on_kill`` (the connection is read once)."""
        if self._hook is None:
            self._hook = type(self).hook_class(self.conn_id, **self.hook_kwargs())
        return self._hook

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self.poll())  # type: ignore[no-untyped-call]

    async def poll(self) -> dict[str, Any]:
        """The loop; returns the one event payload. Cancellation (``CancelledError``) propagates."""
        try:
            # where in its schedule this trigger is: further than created, when it ran elsewhere before
            self.poll_step = self.schedule.resumed_step(self.poll_step, time.time() - self.poll_started)
            hook = self.hook
            await hook.asettings()  # async connection API; a missing connection is an error event
            state: InstanceState | None = None
            while True:
                try:
                    async with asyncio.timeout(max(self.deadline - time.time(), MIN_POLL_SECONDS)):
                        state = await hook.aget_state(self.instance_id)
                except TimeoutError:
                    return self._timeout(hook.service, state)
                if state.is_terminal:
                    self.log.info("%s instance %s is %s", state.service, self.instance_id, state.status_label)
                    return self._payload(
                        "success",
                        final_status=state.status,
                        is_cancelled=state.is_cancelled,
                        is_success=state.is_success,
                        url=state.url,
                    )
                remaining = self.deadline - time.time()
                if remaining <= 0:
                    return self._timeout(hook.service, state)
                await asyncio.sleep(min(self.schedule.interval(self.poll_step), remaining))
                self.poll_step += 1
        except WfCancelError as error:
            return self._error(error)
        except Exception as error:  # anything else still ends the wait with one event, never a crash
            self.log.exception("Unexpected error while polling instance %s", self.instance_id)
            return self._error(error)

    async def on_kill(self) -> None:
        """Best-effort cancel when a user killed the deferred task (only with ``cancel_on_kill``)."""
        if not self.cancel_on_kill:
            return
        cancel_sent = False
        try:
            async with asyncio.timeout(KILL_BUDGET_SECONDS):
                hook = self.hook
                self.log.info(
                    "Task killed while deferred: cancelling %s instance %s (cancel_on_kill=True)",
                    hook.service,
                    self.instance_id,
                )
                ack = await hook.arequest_cancel(self.instance_id)
                cancel_sent = True
                if ack.already_finished:
                    self.log.info("%s instance %s had already finished", hook.service, self.instance_id)
                    return
                while not (state := await hook.aget_state(self.instance_id)).is_terminal:
                    await asyncio.sleep(min(self.poll_interval, 2.0))
                self.log.info("%s instance %s is now %s", hook.service, self.instance_id, state.status_label)
        except TimeoutError:
            self.log.warning(
                "Instance %s: %s within %g s of the kill",
                self.instance_id,
                "the cancel was accepted but not confirmed" if cancel_sent else "could not cancel",
                KILL_BUDGET_SECONDS,
            )
        except Exception as error:  # best-effort: log, never raise
            self.log.warning(
                "Could not cancel instance %s on kill: %s", self.instance_id, _safe_message(str(error))
            )

    # -- events -------------------------------------------------------------------------------------------

    def _timeout(self, service: str, state: InstanceState | None) -> dict[str, Any]:
        last = "no status could be read" if state is None else f"last status {state.status_label}"
        return self._payload(
            "timeout",
            last_status=state.status if state is not None else None,
            message=(
                f"{service} instance {self.instance_id} did not reach a terminal status "
                f"by the deadline ({_iso(self.deadline)}); {last}"
            ),
        )

    def _payload(self, status: EventStatus, **fields: Any) -> dict[str, Any]:
        return {"status": status, "instance_id": self.instance_id, **fields, "resume": self.resume}

    def _error(self, error: Exception) -> dict[str, Any]:
        text = str(error) if isinstance(error, WfCancelError) else f"{type(error).__name__}: {error}"
        return self._payload(
            "error",
            error_class=type(error).__name__ if isinstance(error, WfCancelError) else "WfCancelError",
            message=_safe_message(f"waiting for instance {self.instance_id} failed: {text}"),
        )


def _epoch(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be epoch seconds, got {value!r}")
    return float(value)


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="seconds")


def validate_event(event: Any) -> dict[str, Any]:
    """The payload a task resumed with, checked loudly: ``None``, a non-dict or an unknown status is an error
    (never a silent success; compare dbt's ``validate_execute_complete_event``)."""
    if event is None:
        raise WfCancelError("the task resumed without a trigger event; cannot tell how the wait ended")
    if not isinstance(event, dict):
        raise WfCancelError(f"the trigger event must be a dict, got {type(event).__name__}")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise WfCancelError(
            f"the trigger event has an unknown status {status!r}; expected one of {sorted(EVENT_STATUSES)}"
        )
    if status == "success" and "final_status" not in event:
        raise WfCancelError("the trigger's success event carries no final_status")
    return event
