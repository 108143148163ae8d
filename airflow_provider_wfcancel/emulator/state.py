"""In-memory, thread-safe state of the emulator.

Statuses are never advanced by background work: each run stores a :class:`Lifecycle` (timestamps) and the status
is derived from the injectable clock whenever it is read.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .faults import Fault
from .ratelimit import RateLimitSpec, TokenBucket

if TYPE_CHECKING:
    from starlette.requests import Request

    from .enos_flows import FlowPlan, TaskRun

DEFAULT_DOMO_TOKEN = "emulator-domo-token"
DEFAULT_DOMO_USER_ID = "8811501"
DEFAULT_ENOS_APP_KEY = "emulator-app-key"
DEFAULT_ENOS_APP_SECRET = "emulator-app-secret"
DEFAULT_ENOS_ORG_ID = "o15000000000001"
DEFAULT_ENOS_USER_ID = "u15000000000001"

Phase = Literal["pending", "running", "finished", "canceled"]

DOMO_RUNNING = "IN_PROGRESS"
DOMO_CANCELED = "CANCELED"
#: EnOS FlowInstanceStatus codes and names. Not imported from the hook (``hooks/enos.py`` ``STATUS_NAMES``)
#: on purpose: the two are independent readings of the spec, so a misreading cannot hide in shared code.
ENOS_STATUS_NAMES: dict[int, str] = {
    -1: "FAIL",
    0: "INIT",
    1: "SUCCESS",
    2: "RUNNING",
    3: "SUSPEND",
    4: "INTERNAL_ERROR",
    5: "WAIT",
    6: "READY",
    7: "TIMEOUT",
    8: "CANCEL",
    9: "RERUN",
    10: "SKIP",
}
ENOS_INIT, ENOS_RUNNING, ENOS_CANCEL = 0, 2, 8
ENOS_TERMINAL = frozenset({-1, 1, 4, 7, 8, 10})


class EmulatorConfig(BaseModel):
    """Runtime settings (durations in seconds). Immutable; change them with ``EmulatorState.configure``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    domo_start_delay: float = Field(default=0.2, ge=0, description="status null -> IN_PROGRESS")
    domo_run_seconds: float = Field(default=3600.0, ge=0, description="IN_PROGRESS -> final status")
    domo_final_status: str = Field(
        default="COMPLETED", min_length=1, description="final status of started instances"
    )
    domo_cancel_delay: float = Field(default=0.5, ge=0, description="cancel request -> CANCELED")
    domo_cancel_terminal: Literal["noop", "conflict"] = "noop"
    enos_token_lifetime: int = Field(default=7200, ge=1, description="seconds an access token stays valid")
    enos_refresh_revokes_old: bool = True
    enos_timestamp_window: float = Field(
        default=300.0, ge=0, description="allowed clock skew of client timestamps"
    )
    enos_start_delay: float = Field(default=0.2, ge=0, description="INIT(0) -> RUNNING(2)")
    enos_run_seconds: float = Field(default=3600.0, ge=0, description="RUNNING(2) -> final status")
    enos_final_status: int = Field(
        default=1, description="final status of triggered instances (1 SUCCESS, -1 FAIL)"
    )
    enos_cancel_delay: float = Field(default=0.5, ge=0, description="cancel request -> CANCEL(8)")
    enos_cancel_terminal_code: int = Field(
        default=62102, ge=0, description="code for cancelling a finished run; 0 = no-op"
    )
    request_log_limit: int = Field(
        default=10000, ge=0, description="request log entries kept (counts are unlimited)"
    )


@dataclass
class Lifecycle:
    """Timeline of one run: pending until ``start_at``, running until ``end_at``, then ``final_status``.

    ``held_status`` replaces the running status (a forced non-terminal status). A cancel request sets
    ``cancel_at``; it wins only if it falls before ``end_at``.
    """

    created_at: float
    start_at: float
    end_at: float
    final_status: Any
    held_status: Any = None
    cancel_at: float | None = None

    @classmethod
    def start(cls, now: float, start_delay: float, runs_for: float, final_status: Any) -> Lifecycle:
        return cls(now, now + start_delay, now + start_delay + runs_for, final_status)

    def phase(self, now: float) -> tuple[Phase, float]:
        """Return the phase at ``now`` and the time it began."""
        if self.cancel_at is not None and self.cancel_at <= now and self.cancel_at < self.end_at:
            return "canceled", self.cancel_at
        if now >= self.end_at:
            return "finished", self.end_at
        if now >= self.start_at:
            return "running", self.start_at
        return "pending", self.created_at

    def is_terminal(self, now: float) -> bool:
        return self.phase(now)[0] in ("finished", "canceled")

    def request_cancel(self, now: float, delay: float) -> None:
        """Schedule cancellation; a repeated request keeps the first schedule."""
        if self.cancel_at is None:
            self.cancel_at = now + delay

    def force(self, now: float, status: Any, *, running: Any, pending: Any, terminal: bool) -> None:
        """Make ``status`` the current status from ``now`` on."""
        if status == pending:
            self.start_at = self.end_at = math.inf
            self.held_status = None
        elif terminal:
            self.start_at = min(self.start_at, now)
            self.end_at, self.final_status = now, status
        else:
            self.start_at = min(self.start_at, now)
            self.held_status = None if status == running else status
            if self.held_status is not None:
                self.end_at = math.inf


@dataclass
class DomoToken:
    user_id: str
    workflow_grant: bool


@dataclass
class DomoInstance:
    id: str
    model_id: str
    model_name: str
    model_version: str
    created_by: str
    life: Lifecycle
    is_test_run: bool = False
    #: ``errorMessage`` of the record once it ended in failure (assumption 33).
    failure_reason: str | None = None


@dataclass
class EnosApp:
    secret: str
    token: str | None = None


@dataclass
class EnosToken:
    app_key: str
    expires_at: float
    revoked: bool = False


@dataclass
class EnosInstance:
    instance_id: str
    flow_id: int
    flow_name: str
    owner: str
    org_id: str
    trigger_time: float
    life: Lifecycle
    #: Its task nodes, the one it runs from, and where and why it fails (``enos_flows.TaskRun``; ``None``:
    #: the default flow's, from the first).
    tasks: TaskRun | None = None


@dataclass
class _Data:
    """Everything :meth:`EmulatorState.reset` forgets."""

    domo_tokens: dict[str, DomoToken] = field(default_factory=dict)
    domo_instances: dict[str, DomoInstance] = field(default_factory=dict)
    enos_apps: dict[str, EnosApp] = field(default_factory=dict)
    enos_tokens: dict[str, EnosToken] = field(default_factory=dict)
    enos_used_encryptions: dict[str, float] = field(default_factory=dict)
    enos_users: dict[str, str] = field(default_factory=dict)
    enos_instances: dict[str, EnosInstance] = field(default_factory=dict)
    enos_flows: dict[int, FlowPlan] = field(default_factory=dict)  # flow id -> its tasks and planned failure
    faults: list[Fault] = field(default_factory=list)
    rate_limits: list[TokenBucket] = field(default_factory=list)
    request_log: deque[dict[str, Any]] = field(default_factory=deque)
    counts: Counter[str] = field(default_factory=Counter)


class EmulatorState:
    """All emulator data behind one re-entrant lock.

    Routers hold ``lock`` (via :meth:`locked`) for read-modify-write sequences; the helpers below lock themselves.
    """

    def __init__(self, config: EmulatorConfig | None = None, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.initial_config = config or EmulatorConfig()
        self.config = self.initial_config
        self.data = _Data()
        self._next_domo_user = int(DEFAULT_DOMO_USER_ID)
        self.reset()

    def now(self) -> float:
        return self.clock()

    @contextmanager
    def locked(self) -> Iterator[float]:
        """Hold the lock and yield the current time."""
        with self.lock:
            yield self.clock()

    def reset(self) -> None:
        """Forget everything and restore the seeded credentials and the start-up config."""
        with self.lock:
            self.config = self.initial_config
            self.data = _Data(request_log=deque(maxlen=self.config.request_log_limit))
            self._next_domo_user = int(DEFAULT_DOMO_USER_ID)
            self.add_domo_token(DEFAULT_DOMO_TOKEN)
            self.add_enos_app(DEFAULT_ENOS_APP_KEY, DEFAULT_ENOS_APP_SECRET)
            self.add_enos_user(DEFAULT_ENOS_USER_ID, DEFAULT_ENOS_ORG_ID)

    def configure(self, **settings: Any) -> EmulatorConfig:
        """Validate and apply config changes (raises ``pydantic.ValidationError``)."""
        with self.lock:
            self.config = EmulatorConfig.model_validate({**self.config.model_dump(), **settings})
            if self.data.request_log.maxlen != self.config.request_log_limit:
                self.data.request_log = deque(self.data.request_log, maxlen=self.config.request_log_limit)
            return self.config

    # -- credentials -------------------------------------------------------------------------------------------

    def add_domo_token(self, token: str, *, workflow_grant: bool = True) -> DomoToken:
        """Register a developer token acting as a new numeric user id."""
        with self.lock:
            entry = DomoToken(str(self._next_domo_user), workflow_grant)
            self._next_domo_user += 1
            self.data.domo_tokens[token] = entry
            return entry

    def add_enos_app(self, app_key: str, app_secret: str) -> None:
        with self.lock:
            self.data.enos_apps[app_key] = EnosApp(app_secret)

    def add_enos_user(self, user_id: str, org_id: str) -> None:
        with self.lock:
            self.data.enos_users[user_id] = org_id

    # -- runs ----------------------------------------------------------------------------------------------------

    def create_domo_instance(
        self,
        *,
        model_id: str,
        model_name: str,
        model_version: str,
        created_by: str,
        runs_for: float | None = None,
        final_status: str | None = None,
        status: str | None = None,
        failure_reason: str | None = None,
    ) -> DomoInstance:
        """Start a Domo instance; ``status`` forces its current status (``IN_PROGRESS`` or terminal)."""
        with self.locked() as now:
            cfg = self.config
            life = Lifecycle.start(
                now,
                cfg.domo_start_delay,
                cfg.domo_run_seconds if runs_for is None else runs_for,
                final_status or cfg.domo_final_status,
            )
            if status is not None:
                life.force(now, status, running=DOMO_RUNNING, pending=None, terminal=status != DOMO_RUNNING)
            instance = DomoInstance(str(uuid.uuid4()), model_id, model_name, model_version, created_by, life)
            instance.failure_reason = failure_reason
            self.data.domo_instances[instance.id] = instance
            return instance

    def create_enos_instance(
        self,
        *,
        flow_id: int,
        owner: str,
        org_id: str,
        flow_name: str | None = None,
        trigger_time: float | None = None,
        runs_for: float | None = None,
        final_status: int | None = None,
        status: int | None = None,
    ) -> EnosInstance:
        """Create an EnOS flow instance with a unique ``{flowId}-{yyyyMMddHHmmss}`` id (seconds are bumped);
        ``enos_flows.start_run`` gives it its task nodes."""
        with self.locked() as now:
            cfg = self.config
            trigger = now if trigger_time is None else trigger_time
            id_time = int(trigger)
            while (instance_id := f"{flow_id}-{_id_digits(id_time)}") in self.data.enos_instances:
                id_time += 1
            life = Lifecycle.start(
                now,
                cfg.enos_start_delay,
                cfg.enos_run_seconds if runs_for is None else runs_for,
                cfg.enos_final_status if final_status is None else final_status,
            )
            if status is not None:
                life.force(
                    now, status, running=ENOS_RUNNING, pending=ENOS_INIT, terminal=status in ENOS_TERMINAL
                )
            instance = EnosInstance(
                instance_id, flow_id, flow_name or f"flow_{flow_id}", owner, org_id, trigger, life
            )
            self.data.enos_instances[instance_id] = instance
            return instance

    # -- faults and request log ---------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.data.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.data.faults.clear()

    def set_rate_limit(self, spec: RateLimitSpec) -> None:
        """Limit ``spec.scope`` (replacing an earlier limit on the same scope); the bucket starts full."""
        with self.lock:
            kept = [bucket for bucket in self.data.rate_limits if bucket.spec.scope != spec.scope]
            self.data.rate_limits = [*kept, TokenBucket.create(spec, self.clock())]

    def clear_rate_limits(self) -> None:
        with self.lock:
            self.data.rate_limits.clear()

    def take_rate_token(self, route: str) -> str | None:
        """Take a token from every limit covering ``route``; the ``Retry-After`` of the first that had none."""
        with self.lock:
            now = self.clock()
            for bucket in self.data.rate_limits:
                if bucket.spec.covers(route) and (retry_after := bucket.take(now)) is not None:
                    return retry_after
            return None

    def take_fault(self, route: str) -> Fault | None:
        """Return (and consume one use of) the first active fault for ``route``."""
        with self.lock:
            now = self.clock()
            self.data.faults = [f for f in self.data.faults if f.active(now)]
            for fault in self.data.faults:
                if fault.matches(route):
                    fault.consume()
                    return fault
            return None

    def log_request(self, entry: dict[str, Any], *, arrived_in: Any = None) -> None:
        """Log a finished request, unless the emulator was reset after it arrived (it belongs to the
        state before the reset, which a test that reset it must not see)."""
        with self.lock:
            if arrived_in is not None and arrived_in is not self.data:
                return
            entry["seq"] = self.data.counts.total() + 1
            entry["time"] = self.clock()
            self.data.request_log.append(entry)
            self.data.counts[entry["route"]] += 1

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.data.request_log if route is None or e["route"] == route]

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self.data.counts)


def _id_digits(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y%m%d%H%M%S")


def state_of(request: Request) -> EmulatorState:
    """The emulator state of the app serving ``request``."""
    state: EmulatorState = request.app.state.emulator
    return state
