"""A pass-through spy on the sleeps polling code asks for, and the schedule step each one is on.

``record(mocker)`` wraps ``time.sleep`` and ``asyncio.sleep`` (both still sleep) and keeps, in order, the
durations requested by the provider's code or Airflow's sensor loop; other callers (the emulator's server
thread, Airflow's own loops) are left out by the caller's module. The HTTP layer binds its sleep when
imported (``_http/transport.py``), so its retry and rate-limit waits are not among them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

#: The provider, and the sensor loop of Airflow 3 (the task SDK) and of Airflow 2.11.
POLLING_CODE = ("airflow_provider_wfcancel.", "airflow.sdk.bases.sensor", "airflow.sensors.base")
#: A grown interval may be this much shorter than its step's (the schedule's jitter).
JITTER = 0.1


def record(mocker: Any) -> list[float]:
    requested: list[float] = []

    def spy(real: Callable[..., Any]) -> Callable[..., Any]:
        def sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
            if sys._getframe(1).f_globals.get("__name__", "").startswith(POLLING_CODE):
                requested.append(delay)
            return real(delay, *args, **kwargs)

        return sleep

    mocker.patch.object(time, "sleep", new=spy(time.sleep))
    mocker.patch.object(asyncio, "sleep", new=spy(asyncio.sleep))
    return requested


def steps_of(sleeps: Sequence[float], bases: Sequence[float]) -> list[int]:
    """The step each sleep is on: ``bases[step]`` less at most :data:`JITTER` (the bands must not overlap);
    fails on a sleep on no step."""
    steps = []
    for delay in sleeps:
        matching = [n for n, base in enumerate(bases) if base * (1 - JITTER) - 1e-9 <= delay <= base + 1e-9]
        assert len(matching) == 1, f"sleep {delay} is on no step of {list(bases)}: {list(sleeps)}"
        steps.append(matching[0])
    return steps
