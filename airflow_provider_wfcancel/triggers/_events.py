"""Event triggers for ``AssetWatcher``: an event each time an instance of one Domo model or EnOS flow ends.

A watcher's trigger never ends. Each poll is one bounded listing (:mod:`..hooks._finished`); every
instance in it that has ended and was not seen before is marked seen and, unless ``only_success`` rules
it out, becomes one ``TriggerEvent`` (the asset event's ``extra["payload"]``):
``{"service", "instance_id", "final_status", "is_success", "is_cancelled", "url", "ended_at", ...}`` plus
the subject (``model_id``/``model_version`` or ``flow_id``). No secret: ids, statuses, times, the web URL.

The first poll takes a baseline: what has already ended is seen, not fired, and so is anything it did not
list (a baseline cut short by a bound) whose answer says it ended more than :data:`CLOCK_MARGIN` before
the baseline. Then, once per instance:

- Airflow 3.3+: the seen ids live in the watched asset's state store (key :meth:`state_key`), so a
  triggerer restart, a moved trigger or a re-created one (a new ``poll_interval``, a paused and resumed
  DAG) goes on from them: instances that ended meanwhile (inside ``lookback``) fire once, nothing fires
  twice. The ids of a poll are written at the start of the next one, after its events had a poll interval
  to reach the metadata database: a triggerer dying in between repeats those events (same ``instance_id``:
  a duplicate is visible), it never loses them.
- Airflow 3.0-3.2 (no state store): the seen ids live in the trigger; a restarted or re-created trigger
  takes a new baseline, so an instance that ended while no trigger ran fires never (never twice).

A failed poll (connection, service, bound) is logged without secrets and retried at the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from airflow.triggers.base import TriggerEvent

from airflow_provider_wfcancel._protocol.times import parse_instance_time
from airflow_provider_wfcancel._validation import check_conn_id, check_seconds
from airflow_provider_wfcancel.exceptions import InvalidInputError, WfCancelError
from airflow_provider_wfcancel.hooks._finished import Finished
from airflow_provider_wfcancel.hooks._listing import LISTING_DEADLINE, ListingBounds
from airflow_provider_wfcancel.version_compat import (
    BaseEventTrigger,
    redact,
    require_airflow,
    watcher_state_store,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_wfcancel._protocol.model import InstanceState

#: Pages one poll may read (all flow types of an EnOS flow together).
MAX_PAGES_PER_POLL = 10
#: Seconds one poll may take in all; a poll still running then is abandoned and logged.
POLL_TIMEOUT = LISTING_DEADLINE + 60.0
#: Ids kept seen at most (oldest dropped first); ids of instances started before the window are dropped
#: sooner, as no listing can show them again.
MAX_SEEN = 20_000
STATE_VERSION = 1
#: The longest state store key written as is (Airflow's key column holds 512 characters).
MAX_STATE_KEY = 250
#: Seconds an end time the service reports may be off from this machine's clock (and its whole seconds).
CLOCK_MARGIN = 300.0
#: Seconds back a poll reads by default (one day).
DEFAULT_LOOKBACK = 86400.0


class FinishedInstanceEventTrigger(BaseEventTrigger):
    """Base of the service event triggers; a subclass supplies the hook, the subject and the listing."""

    #: What ``require_airflow`` names; the connection's keyword (``domo_conn_id``); the connection type.
    mechanism: ClassVar[str]
    conn_field: ClassVar[str]
    service: ClassVar[str]

    def __init__(self, *, conn_id: Any, only_success: bool, poll_interval: float, lookback: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # BaseTrigger is untyped
        require_airflow((3, 0), f"{self.mechanism} (event-driven scheduling with an AssetWatcher)")
        self.conn_id = check_conn_id(self.conn_field, conn_id)
        if not isinstance(only_success, bool):
            raise InvalidInputError(f"only_success must be True or False, got {only_success!r}")
        self.only_success = only_success
        self.poll_interval = check_seconds("poll_interval", poll_interval, minimum=0.05, maximum=86400)
        self.lookback = check_seconds("lookback", lookback, minimum=60)
        if self.lookback < 2 * self.poll_interval:
            # A poll lists what started inside the window: one that started and ended between two polls
            # further apart than the window is never listed, and never fires.
            raise InvalidInputError(
                f"lookback must be at least twice poll_interval ({self.poll_interval:g} s), got "
                f"{self.lookback:g}: an instance that starts and ends between two polls must still be "
                "inside the window at the second"
            )
        self.bounds = ListingBounds(max_pages=MAX_PAGES_PER_POLL)
        self._seen: dict[str, float] | None = (
            None  # id -> start (epoch s, 0 unknown); None before the baseline
        )
        #: When the baseline was taken (epoch s): an instance that ended earlier is never an event, even
        #: one a baseline cut short by a bound did not list.
        self._since = 0.0
        self._unsaved = False
        self._store: Any | None = None
        self._hook: Any | None = None

    # -- what a service supplies ----------------------------------------------------------------------------

    def subject(self) -> dict[str, Any]:
        """The serialized kwargs besides the connection and polling (what is watched)."""
        raise NotImplementedError

    def build_hook(self) -> Any:
        raise NotImplementedError

    async def finished(self, hook: Any, window_start: datetime, known: Callable[[str], bool]) -> Finished:
        """One poll's listing (``known``: whether an id is seen already)."""
        raise NotImplementedError

    def event_fields(self, state: InstanceState) -> dict[str, Any]:
        """What an event says about the subject, from the instance itself."""
        return {}

    # -- BaseTrigger --------------------------------------------------------------------------------------------

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.conn_field: self.conn_id,
                **self.subject(),
                "only_success": self.only_success,
                "poll_interval": self.poll_interval,
                "lookback": self.lookback,
            },
        )

    @property
    def hook(self) -> Any:
        if self._hook is None:
            self._hook = self.build_hook()
        return self._hook

    def state_key(self) -> str:
        """The asset state store key of this watcher's seen ids: the connection, the subject and
        ``only_success`` (not the polling: a new ``poll_interval`` goes on from the same ids)."""
        parts = [
            self.conn_id,
            *(str(v) for v in self.subject().values()),
            f"only_success={self.only_success}",
        ]
        key = f"wfcancel.{self.service}.seen:" + ":".join(parts)
        if len(key) <= MAX_STATE_KEY:
            return key
        # The store's key column holds 512 characters: a long subject is named by its digest.
        return f"wfcancel.{self.service}.seen:sha256:" + hashlib.sha256(key.encode()).hexdigest()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; one event per instance that ended (see the module docstring)."""
        failures = 0
        while True:
            payloads: list[dict[str, Any]] = []
            try:
                async with asyncio.timeout(POLL_TIMEOUT):
                    payloads = await self.poll()
                failures = 0
            except TimeoutError:
                failures += 1
                self.log.warning("Poll %d in a row failed: it took more than %g s", failures, POLL_TIMEOUT)
            except WfCancelError as error:
                failures += 1
                self.log.warning("Poll %d in a row failed: %s", failures, redact(str(error)))
            except Exception as error:  # a bug: still log it and poll again, never end the watcher
                failures += 1
                self.log.warning(
                    "Poll %d in a row failed unexpectedly: %s: %s",
                    failures,
                    type(error).__name__,
                    redact(str(error)),
                )
            for payload in payloads:
                yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
            await asyncio.sleep(self.poll_interval)

    async def poll(self) -> list[dict[str, Any]]:
        """One poll: the payloads of the instances that ended since the last one (oldest first)."""
        hook = self.hook
        await self._save()  # the previous poll's ids: its events had a poll interval to be recorded
        if self._seen is None:
            self._seen = await self._load()
        baseline = self._seen is None
        seen = self._seen if self._seen is not None else {}
        now = time.time()
        if baseline:
            self._since = now
        window_start = datetime.fromtimestamp(now - self.lookback, UTC)
        finished = await self.finished(hook, window_start, seen.__contains__)
        if finished.stopped_short:
            self.log.warning("This poll read part of the listing only: %s", finished.stopped_short)
        # Only instances started inside the window: one started before it (Domo lists a model's instances
        # with no time filter) would be pruned below and fire again at the next poll that lists it.
        new = [s for s in finished.states if s.instance_id not in seen and not _before(s, window_start)]
        for state in new:
            seen[state.instance_id] = state.started_at.timestamp() if state.started_at else 0.0
        self._seen = _pruned(seen, now - self.lookback - 86400)
        self._unsaved = self._unsaved or bool(new) or baseline
        if baseline:
            self.log.info(
                "Watching %s: %d instance(s) that ended before this watcher are not events",
                self.state_key(),
                len(new),
            )
            await self._save()  # no event rides on a baseline: keep it at once
            return []
        fired = [
            s
            for s in reversed(new)
            if (s.is_success or not self.only_success) and not _ended_before(s, self._since)
        ]
        for state in fired:
            self.log.info("%s instance %s ended %s", state.service, state.instance_id, state.status_label)
        return [self._payload(state) for state in fired]

    def _payload(self, state: InstanceState) -> dict[str, Any]:
        raw = state.raw
        payload = {
            "service": self.service,
            "instance_id": state.instance_id,
            "final_status": state.status,
            "is_success": state.is_success,
            "is_cancelled": state.is_cancelled,
            "url": state.url,
            "ended_at": raw.get("endTime") or raw.get("updatedOn"),
            **self.event_fields(state),
        }
        return cast("dict[str, Any]", redact(payload))

    # -- the seen ids in the asset state store (Airflow 3.3+) ---------------------------------------------------

    async def _load(self) -> dict[str, float] | None:
        store = self._store = watcher_state_store(self)
        if store is None:
            return None
        try:
            value = await store.aget(self.state_key())
        except ValueError:  # several assets watch with this very trigger: one accessor cannot be chosen
            self.log.warning("This trigger serves several assets: its seen ids stay in memory only")
            self._store = None
            return None
        except Exception as error:
            self.log.warning("Could not read the seen ids (retried next poll): %s", redact(str(error)))
            raise WfCancelError("the asset state store could not be read") from None
        if value is None:
            return None
        seen = value.get("seen") if isinstance(value, dict) else None
        if not isinstance(seen, dict) or value.get("version") != STATE_VERSION:
            self.log.warning("The stored seen ids have an unknown shape: taking a new baseline")
            return None
        since = value.get("since")
        self._since = float(since) if isinstance(since, int | float) and not isinstance(since, bool) else 0.0
        self.log.info("Going on from %d seen id(s) in the asset state store", len(seen))
        return {str(k): float(v) if isinstance(v, int | float) else 0.0 for k, v in seen.items()}

    async def _save(self) -> None:
        if not self._unsaved or self._store is None or self._seen is None:
            return
        try:
            state = {"version": STATE_VERSION, "seen": self._seen, "since": self._since}
            await self._store.aset(self.state_key(), state)
        except Exception as error:  # kept in memory and written again next poll
            self.log.warning("Could not write the seen ids (retried next poll): %s", redact(str(error)))
            return
        self._unsaved = False


def _before(state: InstanceState, window_start: datetime) -> bool:
    """``state`` started (Domo: was created; EnOS: was triggered) before ``window_start``, as far as known."""
    return state.started_at is not None and state.started_at < window_start


def _ended_before(state: InstanceState, since: float) -> bool:
    """``state`` ended well before ``since`` (epoch s), as far as its answer tells (EnOS ``endTime``, Domo
    ``updatedOn``), :data:`CLOCK_MARGIN` allowed for the service's clock and whole-second times; unknown:
    no."""
    ended = parse_instance_time(state.raw.get("endTime") or state.raw.get("updatedOn"))
    return ended is not None and ended.timestamp() < since - CLOCK_MARGIN


def _pruned(seen: dict[str, float], started_before: float) -> dict[str, float]:
    """``seen`` without ids of instances started before ``started_before`` (no listing shows them again),
    then at most :data:`MAX_SEEN`, newest kept."""
    kept = {k: v for k, v in seen.items() if not 0 < v < started_before}
    return dict(list(kept.items())[-MAX_SEEN:])
