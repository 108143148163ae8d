"""The one bulk path: cancel a list of ids, or every running instance a filter selects, with one result.

Used by the bulk and cancel-all-running operators and by the notifiers' cancel-by-filter. It builds on the
hooks (``cancel_many``: the gateway's limiter, the batch deadline, each distinct id once) and returns one
JSON-safe :class:`BulkResult`, the same schema for both services:

- ``counts``: how many ids ended with each outcome (``cancelled``, ``cancel_requested``,
  ``already_finished``, ``error``; ``would_cancel`` in a dry run);
- ``instances``: one row per distinct id, in input (or listing) order, with its outcome, last known status
  and, for an error, its reason (errors are redacted like every provider error); a cancel-all's dry run
  adds what the listing said of each (``status``, ``started_at``).

A bulk cancel takes its ids from a list, or from a cancel-all dry run's result (:func:`check_id_list`):
so a DAG can cancel exactly what a dry run listed and a person approved, never a fresh listing.

Every argument is checked before the first request, and a filter that matches more than ``max_instances``
instances fails before any cancel.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from airflow_provider_wfcancel._poll_schedule import PollSchedule
from airflow_provider_wfcancel._validation import as_bool, check_seconds
from airflow_provider_wfcancel.exceptions import InvalidInputError, WfCancelError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel._provenance import Expected
    from airflow_provider_wfcancel.hooks._base import BulkCancelItem, WorkflowServiceHook

BulkOutcome = Literal["cancelled", "cancel_requested", "already_finished", "error", "would_cancel"]
OUTCOMES: tuple[BulkOutcome, ...] = (
    "cancelled",
    "cancel_requested",
    "already_finished",
    "error",
    "would_cancel",
)


class BulkRow(TypedDict):
    instance_id: str
    outcome: BulkOutcome
    status: str | None
    error: str | None
    #: A cancel-all's dry run only: the start time the listing gave (ISO 8601), ``None`` when unreadable.
    started_at: NotRequired[str | None]


class ExcludedRow(TypedDict):
    """A running instance a cancel-all left alone although its filter matched, and why."""

    instance_id: str
    status: str | None
    reason: str


class BulkResult(TypedDict):
    """The XCom ``return_value`` of the bulk and cancel-all-running operators."""

    service: str
    dry_run: bool
    matched: int
    counts: dict[str, int]
    instances: list[BulkRow]
    #: Running instances outside the result because their start time could not be read (a time window
    #: fails closed); empty for a list of ids.
    excluded: list[ExcludedRow]


@dataclass(frozen=True)
class BulkPlan:
    """How to cancel many: concurrency, the batch deadline, whether to wait, whether to only list."""

    max_workers: int = 8
    deadline: float = 600.0
    wait: bool = False
    timeout: float = 600.0
    poll_interval: float = 5.0
    dry_run: bool = False
    max_poll_interval: float | None = None

    @classmethod
    def checked(cls, **values: Any) -> BulkPlan:
        """A plan from user input (templates render ``"True"``); bad values name their field."""
        workers = values.get("max_workers", 8)
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
            raise InvalidInputError(f"max_workers must be a whole number from 1 to 64, got {workers!r}")
        schedule = PollSchedule.checked(values.get("poll_interval", 5.0), values.get("max_poll_interval"))
        return cls(
            max_workers=workers,
            deadline=check_seconds("deadline", values.get("deadline", 600.0), minimum=1),
            wait=as_bool("wait_for_termination", values.get("wait", False)),
            timeout=check_seconds("timeout", values.get("timeout", 600.0), minimum=0),
            poll_interval=schedule.poll_interval,
            dry_run=as_bool("dry_run", values.get("dry_run", False)),
            max_poll_interval=schedule.max_poll_interval,
        )


def check_id_list(value: Any, *, field: str = "instance_ids", service: str | None = None) -> list[Any]:
    """A non-empty list of ids (a list, a tuple, or what an XComArg resolves to); not one string.

    With ``service`` (a connection type), a mapping is read as the result of that service's cancel-all
    dry run: its ids, in the order listed (:func:`planned_ids`; empty when the dry run matched nothing).
    """
    if service is not None and isinstance(value, Mapping):
        return planned_ids(value, service=service, field=field)
    if isinstance(value, str | bytes):
        raise InvalidInputError(f"{field} must be a list of ids, not one string ({value[:40]!r})")
    if not isinstance(value, list | tuple):
        raise InvalidInputError(f"{field} must be a list of ids, got {type(value).__name__}")
    if not value:
        raise InvalidInputError(f"{field} is empty: give at least one id")
    return list(value)


def planned_ids(result: Mapping[Any, Any], *, service: str, field: str = "instance_ids") -> list[Any]:
    """The ids a ``service`` cancel-all dry run listed: its ``would_cancel`` rows, in order.

    Anything else is refused before any request: a result that is not a dry run (it cancelled already),
    another service's, or rows that are not the dry run's own.
    """
    if result.get("dry_run") is not True or result.get("service") != service:
        keys = sorted(str(key) for key in result)[:8]
        raise InvalidInputError(
            f"{field} must be a list of ids or the result of a {service} cancel-all dry run "
            f"(dry_run true, service {service!r}); got a mapping with keys {keys}, "
            f"dry_run {result.get('dry_run')!r}, service {str(result.get('service'))[:40]!r}"
        )
    rows = result.get("instances")
    if not isinstance(rows, list) or not all(
        isinstance(row, Mapping) and row.get("outcome") == "would_cancel" for row in rows
    ):
        raise InvalidInputError(
            f"{field}: a dry run's instances must be a list of rows, each with outcome 'would_cancel'"
        )
    return [row.get("instance_id") for row in rows]


def check_max_instances(value: Any) -> int:
    """A whole number >= 1 (or its text, as a non-native template renders it)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"max_instances must be a whole number >= 1, got {value!r}")
    return value


#: A start time before this is no time a running instance has (an "unset" 0 reads as 1970).
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead of this machine's clock a start time may be (clock skew, a trigger queued for soon).
FUTURE_SKEW = timedelta(days=1)


@dataclass
class TimeWindow:
    """The optional start-time window of a cancel-all, applied to each listed instance; it fails closed.

    An instance whose start time the service did not report in a readable form
    (:attr:`InstanceState.started_at` is ``None``), or reported as a time no running instance can have
    (before :data:`EARLIEST_START`, or more than :data:`FUTURE_SKEW` ahead of now: an "unset" 0, a
    far-future placeholder), is outside any window: it is not cancelled, and it is kept in
    :attr:`unreadable` so that the result reports it.
    """

    after: datetime | None = None
    before: datetime | None = None
    unreadable: list[InstanceState] = field(default_factory=list)

    @classmethod
    def checked(cls, started_after: Any, started_before: Any) -> TimeWindow:
        """From user input: ISO-8601 text (what a form sends) or datetimes; a time without a zone is in
        Airflow's ``[core] default_timezone``, as Airflow reads naive times everywhere."""
        after = _as_datetime("started_after", started_after)
        before = _as_datetime("started_before", started_before)
        if after is not None and before is not None and before < after:
            raise InvalidInputError(
                f"started_before ({before.isoformat()}) is before started_after ({after.isoformat()})"
            )
        return cls(after, before)

    def __call__(self, state: InstanceState) -> bool:
        """Whether ``state`` started inside the window (always, when the window is open on both ends)."""
        if self.after is None and self.before is None:
            return True
        started = state.started_at
        if started is None or not EARLIEST_START <= started <= datetime.now(UTC) + FUTURE_SKEW:
            self.unreadable.append(state)
            return False
        return (self.after is None or started >= self.after) and (
            self.before is None or started <= self.before
        )


def _as_datetime(name: str, value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(f"{name} must be an ISO-8601 date and time, got {value!r}") from None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a date and time, got {type(value).__name__}")
    if value.tzinfo is not None:
        return value
    from airflow.settings import TIMEZONE  # [core] default_timezone

    return value.replace(tzinfo=TIMEZONE)


def select(matched: list[InstanceState], max_instances: int, service: str) -> list[str]:
    """The ids to cancel; fails (before any cancel) when more than ``max_instances`` matched."""
    matched = list({state.instance_id: state for state in matched}.values())  # a repeated id once
    if len(matched) > max_instances:
        raise InvalidInputError(
            f"{len(matched)} running {service} instances match, more than max_instances={max_instances}; "
            "nothing was cancelled (narrow the filter or raise max_instances)"
        )
    return [state.instance_id for state in matched]


def run(
    hook: WorkflowServiceHook[Any],
    ids: list[Any],
    plan: BulkPlan,
    *,
    log: logging.Logger | Any,
    window: TimeWindow | None = None,
    listed: Sequence[InstanceState] = (),
) -> BulkResult:
    """Cancel ``ids`` (validated first; a repeated id once), or in a dry run only list them; ``window``:
    the cancel-all's time window, whose excluded instances the result reports; ``listed``: what the
    cancel-all's listing said of each id, which a dry run's rows carry."""
    distinct = list(dict.fromkeys(hook.validate_instance_id(value) for value in ids))
    excluded = [] if window is None else _excluded(hook, window, log)
    if plan.dry_run:
        known = {state.instance_id: state for state in listed}
        rows = [_planned_row(i, known.get(i)) for i in distinct]
        return summarised(hook, rows, dry_run=True, log=log, excluded=excluded)
    rows = send(hook, distinct, plan, log=log)
    if plan.wait:
        _wait(hook, rows, plan, log)
    return summarised(hook, rows, dry_run=False, log=log, excluded=excluded)


def _planned_row(instance_id: str, state: InstanceState | None) -> BulkRow:
    row = BulkRow(instance_id=instance_id, outcome="would_cancel", status=None, error=None)
    if state is not None:
        row["status"] = state.status
        row["started_at"] = state.started_at.isoformat() if state.started_at else None
    return row


def check_provenance(hook: WorkflowServiceHook[Any], ids: list[Any], want: Expected, *, log: Any) -> None:
    """Before any cancel: the service must say each id is an instance of ``want``'s model (version) or
    flow (one read per distinct id); else nothing is cancelled. Bounds what an id list taken from an
    XCom (which users with DAG-run write can change) can reach to what the DAG itself names."""
    from airflow_provider_wfcancel._provenance import count_refused, instance_problem

    distinct = list(dict.fromkeys(hook.validate_instance_id(value) for value in ids))
    problems = [p for i in distinct if (p := instance_problem(hook.get_state(i), want)) is not None]
    if problems:
        count_refused("bulk_cancel")
        raise InvalidInputError(
            f"instance_ids: {len(problems)} of {len(distinct)} are not instances of "
            f"{want.describe()}; nothing was cancelled: " + "; ".join(problems[:5])
        )
    log.info("%s says all %d id(s) are instances of %s", hook.service, len(distinct), want.describe())


def send(hook: WorkflowServiceHook[Any], ids: list[str], plan: BulkPlan, *, log: Any) -> list[BulkRow]:
    """Send the cancels of ``ids`` (already validated), each once; one row per id."""
    log.info("Cancelling %d %s instance(s) at %s", len(ids), hook.service, hook.settings.base_url)
    items = hook.cancel_many(ids, max_workers=plan.max_workers, deadline=plan.deadline)
    return [_row(item) for item in items]


def _excluded(hook: WorkflowServiceHook[Any], window: TimeWindow, log: Any) -> list[ExcludedRow]:
    rows = {
        state.instance_id: ExcludedRow(
            instance_id=state.instance_id,
            status=state.status,
            reason="its start time is missing, unreadable or implausible: not inside the window",
        )
        for state in window.unreadable
    }
    for row in rows.values():
        log.warning(
            "Not cancelling running %s instance %s: %s", hook.service, row["instance_id"], row["reason"]
        )
    return list(rows.values())


def _row(item: BulkCancelItem) -> BulkRow:
    if item.error is not None or item.ack is None:
        return BulkRow(instance_id=item.instance_id, outcome="error", status=None, error=str(item.error))
    state = item.ack.state_at_request
    status = state.status if state else None
    if item.ack.already_finished:
        cancelled = item.ack.earlier_attempt_may_have_applied and state is not None and state.is_cancelled
        outcome: BulkOutcome = "cancelled" if cancelled else "already_finished"
        return BulkRow(instance_id=item.instance_id, outcome=outcome, status=status, error=None)
    return BulkRow(instance_id=item.instance_id, outcome="cancel_requested", status=status, error=None)


def _wait(hook: WorkflowServiceHook[Any], rows: list[BulkRow], plan: BulkPlan, log: Any) -> None:
    """Poll the requested cancels until each is terminal or ``timeout``; the limiter paces the polls."""
    ends = time.monotonic() + plan.timeout
    pending = [row for row in rows if row["outcome"] == "cancel_requested"]
    schedule = PollSchedule.checked(plan.poll_interval, plan.max_poll_interval)
    step = 0
    while pending:
        pending = poll(hook, pending, log)
        remaining = ends - time.monotonic()
        if not pending or remaining <= 0:
            break
        time.sleep(min(schedule.interval(step), remaining))
        step += 1
    if pending:
        log.warning("%d cancel(s) not confirmed within %g s", len(pending), plan.timeout)


def poll(hook: WorkflowServiceHook[Any], pending: list[BulkRow], log: Any) -> list[BulkRow]:
    """One round of a wait: read each pending row's instance once, settle those that ended; the rest."""
    still: list[BulkRow] = []
    for row in pending:
        try:
            state = hook.get_state(row["instance_id"])
        except WfCancelError as error:
            log.warning("Could not read %s instance %s: %s", hook.service, row["instance_id"], error)
            still.append(row)
            continue
        row["status"] = state.status
        if state.is_terminal:
            row["outcome"] = "cancelled" if state.is_cancelled else "already_finished"
        else:
            still.append(row)
    return still


def summarised(
    hook: WorkflowServiceHook[Any],
    rows: list[BulkRow],
    *,
    dry_run: bool,
    log: Any,
    excluded: list[ExcludedRow] | None = None,
) -> BulkResult:
    """The result of a bulk cancel (or dry run) over ``rows``; ``excluded``: instances a window left out."""
    excluded = excluded or []
    counts = Counter(row["outcome"] for row in rows)
    result = BulkResult(
        service=hook.conn_type,
        dry_run=dry_run,
        matched=len(rows),
        counts={outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        instances=rows,
        excluded=excluded,
    )
    summary = ", ".join(f"{outcome} {n}" for outcome, n in result["counts"].items() if n)
    log.info(
        "%s%s: %d instance(s): %s",
        hook.service,
        " (dry run)" if dry_run else "",
        len(rows),
        summary or "none",
    )
    if excluded:
        log.warning(
            "%d running %s instance(s) excluded: start time missing, unreadable or implausible",
            len(excluded),
            hook.service,
        )
    for row in rows:
        if row["outcome"] == "error":
            log.warning("%s instance %s: %s", hook.service, row["instance_id"], row["error"])
        elif dry_run:
            log.info("would cancel %s instance %s", hook.service, row["instance_id"])
    return result
