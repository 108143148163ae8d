"""What the Domo and EnOS hooks have in common.

A service hook supplies four things: how to read its connection, how to ask for a cancel, how to read an
instance's state (sync and async), and a cheap authenticated probe. Everything built on top of those,
waiting for a terminal status, bulk cancel and ``test_connection``, is written once, here.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from airflow.sdk import BaseHook, Connection

from airflow_provider_wfcancel._connection import environment_connection_problem
from airflow_provider_wfcancel._http import (
    MAX_CONCURRENT_SYNC_REQUESTS,
    AsyncTransport,
    HttpSettings,
    SyncTransport,
)
from airflow_provider_wfcancel._validation import check_seconds
from airflow_provider_wfcancel.exceptions import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    UnexpectedError,
    WaitTimeoutError,
    WfCancelError,
)
from airflow_provider_wfcancel.version_compat import AirflowNotFoundException

log = logging.getLogger(__name__)

S = TypeVar("S")
R = TypeVar("R")
#: An exchange written once for sync and async: it yields steps (requests, for Domo; requests, token
#: lookups and secrets to mask, for EnOS), receives each step's result, or has its provider error thrown in.
Flow = Generator[S, Any, R]


def _unexpected(error: Exception) -> UnexpectedError:
    """A failure outside the hierarchy (a parser, an encoder, a bug), wrapped so that only provider
    errors leave a hook; the original stays chained as the cause."""
    text = str(error)
    return UnexpectedError(
        f"unexpected {type(error).__name__} while talking to the service"
        + (f": {text[:200]}" if text else "")
    )


def run_flow(flow: Flow[S, R], perform: Callable[[S], Any]) -> R:
    """Drive ``flow`` to its return value, performing each step synchronously."""
    result: Any = None
    error: WfCancelError | None = None
    try:
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                value: R = stop.value
                return value
            except WfCancelError:
                raise
            except Exception as exc:
                raise _unexpected(exc) from exc
            result, error = None, None
            try:
                result = perform(step)
            except WfCancelError as exc:
                error = exc
            except Exception as exc:
                error = _unexpected(exc)
                error.__cause__ = exc
    finally:
        flow.close()


async def arun_flow(flow: Flow[S, R], perform: Callable[[S], Awaitable[Any]]) -> R:
    """:func:`run_flow`, awaiting each step."""
    result: Any = None
    error: WfCancelError | None = None
    try:
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(result)
            except StopIteration as stop:
                value: R = stop.value
                return value
            except WfCancelError:
                raise
            except Exception as exc:
                raise _unexpected(exc) from exc
            result, error = None, None
            try:
                result = await perform(step)
            except WfCancelError as exc:
                error = exc
            except Exception as exc:
                error = _unexpected(exc)
                error.__cause__ = exc
    finally:
        flow.close()


def refused_cancel_of_finished(
    service: str,
    instance_id: str,
    refusal: WfCancelError,
    response: dict[str, Any],
    lookup: Flow[S, InstanceState],
) -> Flow[S, CancelAck]:
    """After a service refused a cancel: look the instance up (``lookup``); if it had already finished,
    that is no failure, so acknowledge ``already_finished`` with ``response`` (the refusal, for XCom);
    otherwise, or if the lookup fails, raise the refusal. Neither service documents why it refuses, and
    a finished instance is one plausible reason."""
    try:
        state = yield from lookup
    except WfCancelError:
        raise refusal from None
    if not state.is_terminal:
        raise refusal
    log.info(
        "%s refused the cancel of %s, which had already finished (%s)", service, instance_id, state.status
    )
    return CancelAck(
        instance_id,
        response,
        state_at_request=state,
        already_finished=True,
        earlier_attempt_may_have_applied=refusal.earlier_attempt_may_have_applied,
    )


@dataclass(frozen=True)
class InstanceState:
    """A remote instance's status as the service reported it, with its meaning spelled out."""

    service: str
    instance_id: str
    status: str | None
    is_terminal: bool
    is_cancelled: bool
    is_success: bool = False
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def status_label(self) -> str:
        return self.status if self.status is not None else "null"


@dataclass(frozen=True)
class CancelAck:
    """What the service answered to a cancel request.

    ``state_at_request`` is the status the service reported for the moment it received the request
    (Domo does; EnOS answers with an empty ``data`` and leaves it ``None``). ``already_finished`` is
    set when the service said the instance had already ended; with
    ``earlier_attempt_may_have_applied``, that may be this very cancel, resent after its answer was lost.
    """

    instance_id: str
    response: Any
    state_at_request: InstanceState | None = None
    already_finished: bool = False
    earlier_attempt_may_have_applied: bool = False


@dataclass(frozen=True)
class BulkCancelItem:
    """One line of a bulk cancel: the acknowledgement, or the error that stopped that one id."""

    instance_id: str
    ack: CancelAck | None = None
    error: WfCancelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


SettingsT = TypeVar("SettingsT", bound="ServiceSettings")


@dataclass(frozen=True)
class ServiceSettings:
    """Fields every parsed connection has; services extend it."""

    conn_id: str
    base_url: str
    http: HttpSettings


class WorkflowServiceHook(BaseHook, Generic[SettingsT]):
    """Base for the service hooks. Subclasses set the Airflow hook attributes and implement the
    abstract methods; the connection is read once per hook, on first use, never in ``__init__``."""

    service: ClassVar[str]

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._settings: SettingsT | None = None

    # -- connection -------------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def parse_connection(cls, conn: Connection) -> SettingsT:
        """Pure: a Connection in, typed settings out; raises :class:`InvalidInputError`."""

    @property
    def settings(self) -> SettingsT:
        if self._settings is None:
            self._settings = self.parse_connection(self._get_connection())
        return self._settings

    async def asettings(self) -> SettingsT:
        """The same settings, read with the async connection API (safe inside the triggerer)."""
        if self._settings is None:
            self._settings = self.parse_connection(await self._aget_connection())
        return self._settings

    def _get_connection(self) -> Connection:
        try:
            conn = self.get_connection(self.conn_id)
        except Exception as error:
            raise self._connection_error(error) from None
        return self._checked(conn)

    async def _aget_connection(self) -> Connection:
        try:
            conn = await self.aget_connection(self.conn_id)
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
            return InvalidInputError(
                f"connection {self.conn_id!r} is not defined; add it in the Airflow UI "
                f"(Admin > Connections) or as the environment variable {env_var}"
            )
        return InvalidInputError(f"connection {self.conn_id!r} could not be read: {error}")

    def get_conn(self) -> SyncTransport:
        return self.transport

    @cached_property
    def transport(self) -> SyncTransport:
        return SyncTransport(self.service, self.settings.http)

    async def atransport(self) -> AsyncTransport:
        return AsyncTransport(self.service, (await self.asettings()).http)

    # -- what each service implements -------------------------------------------------------------

    @classmethod
    @abstractmethod
    def validate_instance_id(cls, value: Any) -> str:
        """Return a usable id or raise :class:`InvalidInputError`, before any request."""

    @abstractmethod
    def request_cancel(self, instance_id: str) -> CancelAck:
        """Send one cancel request."""

    @abstractmethod
    async def arequest_cancel(self, instance_id: str) -> CancelAck:
        """Async twin of :meth:`request_cancel`, for triggers' ``on_kill``."""

    @abstractmethod
    def get_state(self, instance_id: str) -> InstanceState:
        """Read an instance's current status."""

    @abstractmethod
    async def aget_state(self, instance_id: str) -> InstanceState:
        """Async twin of :meth:`get_state`, for triggers."""

    @abstractmethod
    def probe(self) -> str:
        """A cheap authenticated call for ``test_connection``; returns a success message."""

    # -- built on top -------------------------------------------------------------------------------

    def wait_for_terminal(
        self,
        instance_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 5.0,
        on_status_change: Callable[[InstanceState], None] | None = None,
    ) -> InstanceState:
        """Poll until the instance reaches a terminal status; :class:`WaitTimeoutError` at ``timeout``."""
        timeout = check_seconds("timeout", timeout, minimum=0)
        poll_interval = check_seconds("poll_interval", poll_interval, minimum=0.001)
        deadline = time.monotonic() + timeout
        last: InstanceState | None = None
        while True:
            state = self.get_state(instance_id)
            if on_status_change is not None and (last is None or state.status != last.status):
                on_status_change(state)
            last = state
            if state.is_terminal:
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"{self.service} instance {instance_id} did not reach a terminal status within "
                    f"{timeout:g} s; last status {state.status_label}",
                    service=self.service,
                )
            time.sleep(min(poll_interval, remaining))

    def cancel_many(self, instance_ids: Iterable[str], *, max_workers: int = 8) -> list[BulkCancelItem]:
        """Cancel many instances with at most ``max_workers`` requests in flight.

        Every id is validated before the first request. One failure does not stop the others: each id
        gets its own :class:`BulkCancelItem`, in input order, whatever happened to it; once sending has
        started, nothing is raised.
        """
        if (
            isinstance(max_workers, bool)
            or not isinstance(max_workers, int)
            or not 1 <= max_workers <= MAX_CONCURRENT_SYNC_REQUESTS
        ):
            raise InvalidInputError(
                f"max_workers must be a whole number from 1 to {MAX_CONCURRENT_SYNC_REQUESTS}, got {max_workers!r}"
            )
        if isinstance(instance_ids, str):
            raise InvalidInputError("instance ids must be a list of ids, not one string")
        ids = [self.validate_instance_id(value) for value in instance_ids]
        # Read the connection and build the pooled session once, before the threads start:
        # ``cached_property`` has no lock on Python 3.12+, so racing workers could each build one.
        _ = self.transport

        def cancel_one(instance_id: str) -> BulkCancelItem:
            try:
                return BulkCancelItem(instance_id, ack=self.request_cancel(instance_id))
            except WfCancelError as error:
                return BulkCancelItem(instance_id, error=error)
            except Exception as error:  # a hook bug must not cost the other ids their results
                wrapped = _unexpected(error)
                wrapped.__cause__ = error
                return BulkCancelItem(instance_id, error=wrapped)

        if not ids:
            return []
        with ThreadPoolExecutor(max_workers=min(max_workers, len(ids))) as pool:
            return list(pool.map(cancel_one, ids))

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
