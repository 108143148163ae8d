"""Backoff polling through ``dag.test()`` (tests/dags/wfcancel_backoff.py) against the emulator: while the
instance runs, a start operator waiting in the worker, a deferred start's trigger and a sensor (poke mode,
and deferred) poll after 0.05 s, then 0.1, 0.2, 0.4 and 0.8 s, and stay at the 0.8 s cap until it ends.

The intervals asserted are the sleeps the polling loops asked for (``time.sleep`` from the hook's wait and
from Airflow's sensor loop, ``asyncio.sleep`` from the trigger; tests/poll_sleeps.py). A grown interval may
be up to 10 % shorter (jitter); the first is exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.poll_sleeps import record, steps_of
from tests.unit.sensors.harness import ends_once_read

pytestmark = pytest.mark.dagtest
#: The schedule of tests/dags/wfcancel_backoff.py (POLL 0.05, CAP 0.8), written out: doubling to the cap.
BASES = [0.05, 0.1, 0.2, 0.4, 0.8]
#: The instance ends once read this often: after the cap is reached (5 reads), a few more at the cap.
READS = 7


@pytest.fixture
def sleeps(mocker: Any) -> list[float]:
    return record(mocker)


def assert_grows_to_the_cap(sleeps: list[float], *, deferred: bool = False) -> None:
    """One step further after each read, from the first (a worker's wait: step 0, exactly ``POLL``) to the
    cap, and at the cap for the rest. A trigger's schedule counts from the deferral: the time dag.test()
    took to run the trigger may have moved it on (as for a trigger resumed in another triggerer)."""
    steps = steps_of(sleeps, BASES)
    cap = len(BASES) - 1
    first = steps[0]
    assert first < cap if deferred else first == 0, sleeps
    assert steps == [min(first + n, cap) for n in range(len(steps))], sleeps
    assert steps.count(cap) >= 2, f"the wait did not stay at the cap: {sleeps}"
    if first == 0:
        assert sleeps[0] == BASES[0]  # no jitter on poll_interval itself


def test_start_operator_waiting_in_the_worker(
    run_dag: Any, emu: Any, domo_conn: str, sleeps: list[float]
) -> None:
    emu.control.configure(domo_start_delay=0)
    with ends_once_read(emu, "domo", None, "COMPLETED", reads=READS):
        report = run_dag("wfcancel_test_backoff_start_worker")
    assert report.task_states == {"start": "success"}
    assert report.xcom("start")["final_status"] == "COMPLETED"
    assert_grows_to_the_cap(sleeps)


def test_deferred_start_operator_trigger(run_dag: Any, emu: Any, enos_conn: str, sleeps: list[float]) -> None:
    emu.control.configure(enos_start_delay=0)
    with ends_once_read(emu, "enos", None, 1, reads=READS):
        report = run_dag("wfcancel_test_backoff_start_deferred")
    assert report.task_states == {"start": "success"}
    assert report.xcom("start")["final_status"] == "SUCCESS"
    assert_grows_to_the_cap(sleeps, deferred=True)


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_sensor(run_dag: Any, emu: Any, domo_conn: str, sleeps: list[float], mode: str) -> None:
    instance_id = emu.control.create_domo_instance(runs_for=3600)["id"]
    with ends_once_read(emu, "domo", instance_id, "COMPLETED", reads=READS):
        report = run_dag(f"wfcancel_test_backoff_sensor_{mode}", {"instance_id": instance_id})
    assert report.task_states == {"wait": "success"}
    assert report.xcom("wait")["final_status"] == "COMPLETED"
    assert_grows_to_the_cap(sleeps, deferred=mode == "deferrable")
