"""What the Domo and EnOS hooks have in common: everything but the service's own protocol.

The base reads and checks the connection, drives the protocol layer's exchanges (:mod:`.._protocol`) with
the sync or the async transport, and owns the public API built on them: ``request_cancel`` / ``get_state``
and their async twins, ``wait_for_terminal``, ``failure_detail`` (and its twin), bulk ``cancel_many``,
``probe`` and ``test_connection``. A service hook supplies how to parse its connection, which exchange
answers which call, and how to perform any step of its own (EnOS: access tokens).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, ClassVar, Generic, Self, TypeVar

from airflow_provider_wfcancel._connection import environment_connection_problem
from airflow_provider_wfcancel._http import AsyncTransport, SyncTransport
from airflow_provider_wfcancel._http.ratelimit import gateway_key
from airflow_provider_wfcancel._poll_schedule import PollSchedule
from airflow_provider_wfcancel._protocol.exchange import (
    Exchange,
    Mask,
    Send,
    arun_exchange,
    run_exchange,
)
from airflow_provider_wfcancel._protocol.failure import DEFAULT_BOUNDS, DetailBounds, FailureDetail
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState, ServiceSettings
from airflow_provider_wfcancel._validation import blank_as_none, check_conn_id, check_seconds
from airflow_provider_wfcancel.exceptions import (
    AuthenticationError,
    ConnectionNotFoundError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    WaitTimeoutError,
    WfCancelError,
)
from airflow_provider_wfcancel.hooks._bulk import DEFAULT_BULK_DEADLINE, BulkCancelItem, cancel_many
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_2_PLUS,
    AirflowNotFoundException,
    BaseHook,
    Connection,
    aget_connection,
    amask_secret,
    legacy_connection_form_widgets,
    legacy_ui_field_behaviour,
    mask_secret,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

__all__ = ["BulkCancelItem", "CancelAck", "InstanceState", "ServiceSettings", "WorkflowServiceHook"]


class WorkflowServiceHook(BaseHook, Generic[SettingsT]):
    """Base for the service hooks. Subclasses set the Airflow hook attributes and implement the
    abstract methods; the connection is read once per hook, on first use, never in ``__init__``."""

    service: ClassVar[str]
    conn_type: ClassVar[str]
    conn_name_attr: ClassVar[str]
    #: What :meth:`probe` says when the host answers 404: a server, but not this service's API.
    not_found_message: ClassVar[str]
    #: The terminal statuses known by name, and the one that means success (from the protocol layer).
    terminal_statuses: ClassVar[frozenset[str]]
    success_status: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Airflow 3.1 draws a connection form from these methods, looked up on the hook class itself;
        # 3.2+ reads the provider info's conn-fields and would warn that they are deprecated.
        if not AIRFLOW_V_3_2_PLUS and "conn_type" in cls.__dict__:
            setattr(cls, "get_connection_form_widgets", classmethod(legacy_connection_form_widgets))  # noqa: B010
            setattr(cls, "get_ui_field_behaviour", classmethod(legacy_ui_field_behaviour))  # noqa: B010

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._settings: SettingsT | None = None

    def task_options(self) -> dict[str, Any]:
        """The options :meth:`for_task` rebuilds this hook with (EnOS: ``user_id``/``org_id``)."""
        return {}

    @classmethod
    def for_task(cls, conn_id: Any, **options: Any) -> Self:
        """The hook for a task's rendered fields: the connection id must be a non-empty string; an empty
        option (what a UI form sends for an empty optional field) means the connection's own value."""
        return cls(
            check_conn_id(cls.conn_name_attr, conn_id), **{k: blank_as_none(v) for k, v in options.items()}
        )

    # -- connection -------------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def parse_connection(cls, conn: Connection) -> SettingsT:
        """A Connection in, typed settings out (no request; reads only a ca_bundle file); raises
        :class:`InvalidInputError`."""

    @property
    def settings(self) -> SettingsT:
        """The parsed connection (read once); its secrets are registered with the secrets masker."""
        if self._settings is None:
            settings = self.parse_connection(self._get_connection())
            for secret in settings.secrets:
                mask_secret(secret)
            self._settings = settings
        return self._settings

    async def asettings(self) -> SettingsT:
        """The same settings, read with the async connection API and masked with the async masker (safe
        inside the triggerer)."""
        if self._settings is None:
            settings = self.parse_connection(await self._aget_connection())
            for secret in settings.secrets:
                await amask_secret(secret)
            self._settings = settings
        return self._settings

    def _get_connection(self) -> Connection:
        try:
            conn = self.get_connection(self.conn_id)
        except Exception as error:
            raise self._connection_error(error) from None
        return self._checked(conn)

    async def _aget_connection(self) -> Connection:
        try:
            conn = await aget_connection(self, self.conn_id)
        except Exception as error:
            raise self._connection_error(error) from None
        return self._checked(conn)

    def _checked(self, conn: Connection) -> Connection:
        """``conn``, unless its environment variable holds a value Airflow silently coerced."""
        if problem := environment_connection_problem(self.conn_id):
            raise InvalidInputError(problem)
        return conn

    def _connection_error(self, error: Exception) -> InvalidInputError:
        """Say once that the connection is missing and where to define it; other failures verbatim."""
        if problem := environment_connection_problem(self.conn_id, unreadable=True):
            return InvalidInputError(problem)
        if isinstance(error, AirflowNotFoundException):
            env_var = "AIRFLOW_CONN_" + self.conn_id.upper()
            return ConnectionNotFoundError(
                f"connection {self.conn_id!r} is not defined; add it in the Airflow UI "
                f"(Admin > Connections) or as the environment variable {env_var}"
            )
        return InvalidInputError(f"connection {self.conn_id!r} could not be read: {error}")

    @classmethod
    def read_connection(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` as Airflow resolves it, with this hook's errors: a missing one raises
        :class:`ConnectionNotFoundError` naming where to define it (no request is sent)."""
        return cls(check_conn_id(cls.conn_name_attr, conn_id))._get_connection()

    def get_conn(self) -> SyncTransport:
        return self.transport

    def gateway(self, settings: SettingsT) -> tuple[str, str, str]:
        """Whom a request goes to, for the rate limiter: every hook of this process (or event loop) with
        the same base URL and credentials shares one limiter (see :mod:`.._http.ratelimit`)."""
        return gateway_key(self.service, settings.base_url, settings.secrets)

    @cached_property
    def transport(self) -> SyncTransport:
        return SyncTransport(self.service, self.settings.http, gateway=self.gateway(self.settings))

    async def atransport(self) -> AsyncTransport:
        settings = await self.asettings()
        return AsyncTransport(self.service, settings.http, gateway=self.gateway(settings))

    # -- what each service supplies ----------------------------------------------------------------

    @classmethod
    @abstractmethod
    def validate_instance_id(cls, value: Any) -> str:
        """Return a usable id or raise :class:`InvalidInputError`, before any request."""

    @abstractmethod
    def cancel_exchange(self, settings: SettingsT, instance_id: str, **options: Any) -> Exchange[CancelAck]:
        """The protocol's cancel exchange for this call (``options``: the service's per-call settings)."""

    @abstractmethod
    def get_exchange(self, settings: SettingsT, instance_id: str, **options: Any) -> Exchange[InstanceState]:
        """The protocol's status-read exchange for this call."""

    @abstractmethod
    def failure_exchange(
        self, settings: SettingsT, state: InstanceState, bounds: DetailBounds, **options: Any
    ) -> Exchange[FailureDetail]:
        """The protocol's exchange that tells why the instance of ``state`` (a fresh read) failed."""

    @abstractmethod
    def _probe(self, settings: SettingsT) -> str:
        """A cheap authenticated call; returns a success message."""

    def perform(self, step: Any) -> Any:
        """Perform a step the base does not know (none by default)."""
        raise TypeError(f"{type(self).__name__} cannot perform {type(step).__name__}")

    async def aperform(self, step: Any) -> Any:
        """Async twin of :meth:`perform`."""
        raise TypeError(f"{type(self).__name__} cannot perform {type(step).__name__}")

    # -- driving exchanges --------------------------------------------------------------------------

    def run(self, exchange: Exchange[T]) -> T:
        """Drive ``exchange`` with the sync transport."""

        def perform(step: Any) -> Any:
            if isinstance(step, Send):
                return self.transport.send(step.request, step.auth, step.classify)
            if isinstance(step, Mask):
                return mask_secret(step.secret)
            return self.perform(step)

        return run_exchange(exchange, perform)

    async def arun(self, exchange: Exchange[T]) -> T:
        """Drive ``exchange`` with the async transport (triggers)."""
        transport = await self.atransport()

        async def perform(step: Any) -> Any:
            if isinstance(step, Send):
                return await transport.send(step.request, step.auth, step.classify)
            if isinstance(step, Mask):
                return await amask_secret(step.secret)
            return await self.aperform(step)

        return await arun_exchange(exchange, perform)

    # -- the public API -----------------------------------------------------------------------------

    def request_cancel(self, instance_id: str, **options: Any) -> CancelAck:
        """Send one cancel request (resent by the HTTP layer only on transient failures).

        When the service refuses and the instance turns out to be finished, the ack says
        ``already_finished`` with that status; otherwise the refusal is raised.
        """
        instance_id = self.validate_instance_id(instance_id)
        return self.run(self.cancel_exchange(self.settings, instance_id, **options))

    async def arequest_cancel(self, instance_id: str, **options: Any) -> CancelAck:
        """Async twin of :meth:`request_cancel`, for triggers' ``on_kill``."""
        instance_id = self.validate_instance_id(instance_id)
        return await self.arun(self.cancel_exchange(await self.asettings(), instance_id, **options))

    def get_state(self, instance_id: str, **options: Any) -> InstanceState:
        """Read an instance's current status."""
        instance_id = self.validate_instance_id(instance_id)
        return self.run(self.get_exchange(self.settings, instance_id, **options))

    async def aget_state(self, instance_id: str, **options: Any) -> InstanceState:
        """Async twin of :meth:`get_state`, for triggers."""
        instance_id = self.validate_instance_id(instance_id)
        return await self.arun(self.get_exchange(await self.asettings(), instance_id, **options))

    def failure_detail(
        self, instance_id: str, state: InstanceState | None = None, *, bounds: DetailBounds = DEFAULT_BOUNDS
    ) -> FailureDetail:
        """Why an instance failed (not redacted; each log its last ``bounds.max_lines`` whole lines, read
        from a bounded window: redact them before cutting them to ``bounds.max_bytes``, as the failure path
        does): ``state`` is its terminal state when the caller just read it (else it is read here). EnOS:
        the failed tasks and their logs' last lines; Domo: what the instance record holds."""
        instance_id = self.validate_instance_id(instance_id)
        state = state if state is not None and state.raw else self.get_state(instance_id)
        return self.run(self.failure_exchange(self.settings, state, bounds))

    async def afailure_detail(
        self, instance_id: str, state: InstanceState | None = None, *, bounds: DetailBounds = DEFAULT_BOUNDS
    ) -> FailureDetail:
        """Async twin of :meth:`failure_detail`."""
        instance_id = self.validate_instance_id(instance_id)
        state = state if state is not None and state.raw else await self.aget_state(instance_id)
        return await self.arun(self.failure_exchange(await self.asettings(), state, bounds))

    def wait_for_terminal(
        self,
        instance_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 5.0,
        on_status_change: Callable[[InstanceState], None] | None = None,
        max_poll_interval: float | None = None,
    ) -> InstanceState:
        """Poll until the instance reaches a terminal status; :class:`WaitTimeoutError` at ``timeout``.
        The interval grows from ``poll_interval`` to ``max_poll_interval`` (:mod:`.._poll_schedule`)."""
        timeout = check_seconds("timeout", timeout, minimum=0)
        schedule = PollSchedule.checked(poll_interval, max_poll_interval, minimum=0.001)
        deadline = time.monotonic() + timeout
        last: InstanceState | None = None
        step = 0
        while True:
            state = self.get_state(instance_id)
            if on_status_change is not None and (last is None or state.status != last.status):
                on_status_change(state)
            last = state
            if state.is_terminal:
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._wait_timeout(instance_id, timeout, state)
            time.sleep(min(schedule.interval(step), remaining))
            step += 1

    def _wait_timeout(self, instance_id: str, timeout: float, state: InstanceState) -> WaitTimeoutError:
        return WaitTimeoutError(
            f"{self.service} instance {instance_id} did not reach a terminal status within "
            f"{timeout:g} s; last status {state.status_label}",
            service=self.service,
        )

    async def await_terminal(
        self,
        instance_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 5.0,
        on_status_change: Callable[[InstanceState], None] | None = None,
        max_poll_interval: float | None = None,
    ) -> InstanceState:
        """Async twin of :meth:`wait_for_terminal` (callbacks that run in the triggerer)."""
        timeout = check_seconds("timeout", timeout, minimum=0)
        schedule = PollSchedule.checked(poll_interval, max_poll_interval, minimum=0.001)
        deadline = time.monotonic() + timeout
        last: InstanceState | None = None
        step = 0
        while True:
            state = await self.aget_state(instance_id)
            if on_status_change is not None and (last is None or state.status != last.status):
                on_status_change(state)
            last = state
            if state.is_terminal:
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._wait_timeout(instance_id, timeout, state)
            await asyncio.sleep(min(schedule.interval(step), remaining))
            step += 1

    def cancel_many(
        self, instance_ids: Iterable[str], *, max_workers: int = 8, deadline: float = DEFAULT_BULK_DEADLINE
    ) -> list[BulkCancelItem]:
        """Cancel many instances with at most ``max_workers`` requests in flight, within ``deadline``
        seconds for the whole batch.

        Every id is validated before the first request; a repeated id is cancelled once. Every distinct id
        gets exactly one :class:`BulkCancelItem`, in input order, whatever happened to it; once sending has
        started, nothing is raised. The gateway's limiter paces the batch (:mod:`.._http.ratelimit`), and
        an id the gateway throttled (429, 503) is sent again until the deadline: only then does it fail
        for that reason. Other failures are each id's own, after the transport's usual retries.
        """
        return cancel_many(self, instance_ids, max_workers=max_workers, deadline=deadline)

    def probe(self) -> str:
        """A cheap authenticated call for ``test_connection``; returns a success message."""
        settings = self.settings
        try:
            return self._probe(settings)
        except WfCancelError as error:
            if error.http_status == 404:
                raise error.replace(message=self.not_found_message) from None
            raise

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's Test button (needs ``[core] test_connection = Enabled``). Never raises."""
        try:
            return True, self.probe()
        except InvalidInputError as error:
            return False, f"Invalid connection settings: {error}"
        except AuthenticationError as error:
            return False, f"Credentials rejected by {self.service}: {error}"
        except PermissionDeniedError as error:
            return False, f"Credentials accepted but not allowed: {error}"
        except NotFoundError as error:
            return False, f"Reached a server, but not the {self.service} API (wrong host?): {error}"
        except (TransientError, RateLimitedError) as error:
            return False, f"Could not reach {self.service}: {error}"
        except WfCancelError as error:
            return False, f"{self.service} answered unexpectedly: {error}"
