"""1,000 triggers in one event loop (a busy triggerer): all finish, none polls faster than its interval.

The emulator runs in its own process here, as a real service would: in-process it would compete with
the 1,000 triggers for the test process's GIL and measure that contention instead.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN, EmulatorControl
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from tests.conftest import connection_json

TRIGGERS = 1000
POLL = 1.0
LONG_RUN = 10.0  # every 10th instance outlives the first polling round, so it is polled several times


def runs_for(i: int) -> float:
    """Staggered run times: 0.0, 0.1, ... 0.9 s, and ``LONG_RUN`` for every 10th instance."""
    return LONG_RUN if i % 10 == 0 else (i % 10) * 0.1


@pytest.fixture
def emu_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorControl]:
    """An emulator in a child process (``wfcancel-emulator --port 0``) and ``domo_default`` pointing at it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "wfcancel emulator listening on http://127.0.0.1:<port>"
        assert "listening on " in line, line
        base_url = line.rsplit(" ", 1)[1].strip()
        monkeypatch.setenv(
            "AIRFLOW_CONN_DOMO_DEFAULT",
            connection_json("domo", host=base_url, password=DEFAULT_DOMO_TOKEN, extra={"max_retries": 3}),
        )
        control = EmulatorControl(base_url)
        control.configure(domo_start_delay=0, request_log_limit=20 * TRIGGERS)
        yield control
        control.close()
    finally:
        process.terminate()
        process.wait(10)


def create_instances(base_url: str, count: int) -> list[dict[str, Any]]:
    """Create instances through the control API from a thread pool (one HTTP session per thread).

    The long-running ones are created last, so a slow setup does not use up their run time before the
    triggers start. The list is in index order (``runs_for(i)`` is the run time of item ``i``).
    """
    local = threading.local()

    def create(i: int) -> tuple[int, dict[str, Any]]:
        if not hasattr(local, "control"):
            local.control = EmulatorControl(base_url)
        return i, local.control.create_domo_instance(runs_for=runs_for(i))

    long_runs_last = sorted(range(count), key=lambda i: runs_for(i) == LONG_RUN)
    with ThreadPoolExecutor(max_workers=16) as pool:
        created = dict(pool.map(create, long_runs_last))
    return [created[i] for i in range(count)]


async def events(trigger: DomoInstanceTrigger) -> list[Any]:
    return [event async for event in trigger.run()]


async def test_a_thousand_triggers_share_one_loop(emu_process: EmulatorControl) -> None:
    setup_started = time.monotonic()
    instances = create_instances(emu_process.base_url, TRIGGERS)
    setup = time.monotonic() - setup_started

    deadline = time.time() + 18
    triggers = [
        DomoInstanceTrigger(
            conn_id="domo_default", instance_id=i["id"], deadline=deadline, poll_interval=POLL
        )
        for i in instances
    ]
    started = time.monotonic()
    results = await asyncio.gather(*(events(t) for t in triggers))
    elapsed = time.monotonic() - started
    gets = emu_process.requests("domo.get")
    per_instance = Counter(Counter(e["path"] for e in gets).values())
    print(
        f"\n{TRIGGERS} triggers: setup {setup:.2f} s, run {elapsed:.2f} s, {len(gets)} polls "
        f"(instances by number of polls: {sorted(per_instance.items())})"
    )

    assert [[e.payload["status"] for e in events] for events in results] == [["success"]] * TRIGGERS
    assert {events[0].payload["final_status"] for events in results} == {"COMPLETED"}
    assert [events[0].payload["instance_id"] for events in results] == [i["id"] for i in instances]

    polls: dict[str, list[float]] = defaultdict(list)
    for entry in gets:
        polls[entry["path"].rsplit("/", 1)[1]].append(entry["time"])
    assert len(emu_process.requests()) == sum(len(times) for times in polls.values())  # log kept it all
    assert set(polls) == {i["id"] for i in instances}
    repolled = 0
    for n, instance in enumerate(instances):
        times = sorted(polls[instance["id"]])
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= POLL * 0.95 for gap in gaps), (instance["id"], gaps)  # never faster
        assert len(times) <= math.ceil(elapsed / POLL) + 1
        ends_at = datetime.fromisoformat(instance["createdOn"]).timestamp() + runs_for(n)
        if times[0] < ends_at - 0.05:  # still running at its first poll: polled again, at its pace
            assert len(times) >= 2, instance["id"]
            repolled += 1
    print(f"{repolled} instances were still running at their first poll and were polled again")
    assert repolled >= 10  # the pacing check above really ran (how many depends on machine load)
