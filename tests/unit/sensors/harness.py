"""Runs a sensor the way Airflow's task runner does, in each of its three modes, outside a DAG run.

- ``poke``: ``execute`` (BaseSensorOperator's loop: poke, sleep, poke ...).
- ``reschedule``: ``execute`` raises ``AirflowRescheduleException`` while the instance runs; each run is a
  NEW sensor object, the task instance reports when the first rescheduled run started (what
  ``ti.get_first_reschedule_date`` reads from the metadata DB), and XCom is cleared between runs, as
  Airflow does when the task runs again.
- ``deferrable``: ``execute`` raises ``TaskDeferred``; the trigger is re-created from its serialized form
  and run; a NEW sensor resumes through ``resume_execution`` (which applies ``soft_fail``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.airflow_compat import (
    AirflowRescheduleException,
    TaskDeferred,
    deserialize,
    import_string,
    needs_airflow,
    serialize,
)
from tests.conftest import FakeTaskInstance

MODE_NAMES = ("poke", "reschedule", "deferrable")
#: The modes to run a sensor in. The harness's reschedule mode hands the sensor the first reschedule date as
#: Airflow 3's task runner does (``ti.get_first_reschedule_date``); Airflow 2.11's sensor reads it from the
#: metadata DB instead, so there reschedule mode is proven by tests/integration/test_sensor_dags.py.
RESCHEDULED_BY_THE_TASK_RUNNER = needs_airflow((3, 0), "the task runner's first reschedule date")
MODES = ("poke", pytest.param("reschedule", marks=RESCHEDULED_BY_THE_TASK_RUNNER), "deferrable")


class SensorTaskInstance(FakeTaskInstance):
    """Adds what a rescheduled sensor asks its task instance."""

    def __init__(self) -> None:
        super().__init__()
        self.first_reschedule_date: datetime | None = None
        self.reschedules = 0
        self.deferrals = 0

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule_date


def new_context() -> dict[str, Any]:
    return {"ti": SensorTaskInstance(), "params": {}}


def mode_kwargs(mode: str) -> dict[str, Any]:
    return {"mode": "reschedule" if mode == "reschedule" else "poke", "deferrable": mode == "deferrable"}


@contextmanager
def ends_once_read(
    emulator: Any, service: str, instance_id: str | None, final: Any, *, reads: int = 1
) -> Iterator[None]:
    """While in the block, the instance (created running) ends with ``final`` as soon as the emulator has
    answered ``reads`` status reads of it (``instance_id=None``: of whichever instance is read first):
    whatever the machine's speed, a sensor sees it running that many times first."""
    from airflow_provider_wfcancel.emulator.state import DOMO_RUNNING

    route = "domo.get" if service == "domo" else "enos.flowinstance.get"
    done = threading.Event()

    def read_enough() -> str | None:
        seen: list[str] = []
        for entry in emulator.control.requests(route):
            read = entry["path"].rsplit("/", 1)[-1] if service == "domo" else entry["query"].get("flowInstId")
            if instance_id is None or read == instance_id:
                seen.append(str(read))
        return seen[0] if len(seen) >= reads and seen.count(seen[0]) >= reads else None

    def watch() -> None:
        while (read := read_enough()) is None:
            if done.wait(0.02):
                return
        state = emulator.app_state
        with state.locked() as now:
            if service == "domo":
                life = state.data.domo_instances[read].life
                life.force(now, final, running=DOMO_RUNNING, pending=None, terminal=True)
            else:
                life = state.data.enos_instances[read].life
                life.force(now, final, running=2, pending=0, terminal=True)

    watcher = threading.Thread(target=watch, name="ends-once-read", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=10)


async def run_trigger(deferred: TaskDeferred) -> dict[str, Any]:
    """What the triggerer does: rebuild the trigger from its serialized form, take its one event."""
    classpath, kwargs = deferred.trigger.serialize()
    trigger = import_string(classpath)(**deserialize(serialize(kwargs)))
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = deserialize(serialize(events[0]))
    return payload


async def run_sensor(make: Callable[[], Any], context: dict[str, Any], *, max_runs: int = 500) -> Any:
    """Run the sensor ``make()`` builds to its end like the task runner; return what it returned."""
    ti: SensorTaskInstance = context["ti"]
    for _ in range(max_runs):
        started = datetime.now(UTC)
        try:
            return make().execute(context)
        except AirflowRescheduleException as reschedule:
            ti.reschedules += 1
            ti.first_reschedule_date = ti.first_reschedule_date or started
            ti.xcoms.clear()
            time.sleep(max(0.0, (reschedule.reschedule_date - datetime.now(UTC)).total_seconds()))
        except TaskDeferred as deferred:
            ti.deferrals += 1
            event = await run_trigger(deferred)
            next_kwargs = {"event": event, **deserialize(serialize(deferred.kwargs or {}))}
            return make().resume_execution(deferred.method_name, next_kwargs, context)
    raise AssertionError(f"the sensor was still rescheduling after {max_runs} runs")
