"""1,000 triggers in one event loop (a busy triggerer): all finish, none polls faster than its interval."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from airflow_provider_wfcancel.emulator import EmulatorControl
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger

TRIGGERS = 1000
POLL = 0.5
STAGGER = 20  # runs_for cycles through 0.0, 0.1, ... 1.9 s


def create_instances(emu: Any, count: int) -> list[dict[str, Any]]:
    """Create instances through the control API from a thread pool (one HTTP session per thread)."""
    local = threading.local()

    def create(i: int) -> dict[str, Any]:
        if not hasattr(local, "control"):
            local.control = EmulatorControl(emu.base_url)
        return local.control.create_domo_instance(runs_for=(i % STAGGER) * 0.1)

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(create, range(count)))


async def events(trigger: DomoInstanceTrigger) -> list[Any]:
    return [event async for event in trigger.run()]


async def test_a_thousand_triggers_share_one_loop(emu: Any, domo_conn: str) -> None:
    emu.control.configure(domo_start_delay=0, request_log_limit=20 * TRIGGERS)
    setup_started = time.monotonic()
    instances = create_instances(emu, TRIGGERS)
    setup = time.monotonic() - setup_started

    deadline = time.time() + 15
    triggers = [
        DomoInstanceTrigger(conn_id=domo_conn, instance_id=i["id"], deadline=deadline, poll_interval=POLL)
        for i in instances
    ]
    started = time.monotonic()
    results = await asyncio.gather(*(events(t) for t in triggers))
    elapsed = time.monotonic() - started
    print(f"\n{TRIGGERS} triggers: setup {setup:.2f} s, run {elapsed:.2f} s")

    assert [[e.payload["status"] for e in events] for events in results] == [["success"]] * TRIGGERS
    assert {events[0].payload["final_status"] for events in results} == {"COMPLETED"}
    assert [events[0].payload["instance_id"] for events in results] == [i["id"] for i in instances]

    polls: dict[str, list[float]] = defaultdict(list)
    for entry in emu.control.requests("domo.get"):
        polls[entry["path"].rsplit("/", 1)[1]].append(entry["time"])
    assert len(emu.control.requests()) == sum(len(times) for times in polls.values())  # log kept it all
    assert set(polls) == {i["id"] for i in instances}
    for n, instance in enumerate(instances):
        times = sorted(polls[instance["id"]])
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(gap >= POLL * 0.95 for gap in gaps), (instance["id"], gaps)
        runs_for = (n % STAGGER) * 0.1
        assert len(times) <= math.ceil(elapsed / POLL) + 1
        assert len(times) >= 1 + math.floor(max(0.0, runs_for - elapsed) / POLL)
    assert elapsed < 20
