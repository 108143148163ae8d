"""Benchmark 4: many ``DomoInstanceTrigger`` s waiting in one event loop, as in a triggerer.

Runs in a child process (``python -m bench.deferred ...``) so that its memory and event loop are its own.
N instances finish at staggered times between ``first_finish`` and ``last_finish`` seconds; N triggers poll
them every ``poll_interval``. Measured: wall time and each instance's detection lag (its event after its end)
against the ideal poller, which polls every instance at the moment all triggers start and every
``poll_interval`` after (no 5 s poller can see an instance that ends 0.3 s after a poll sooner than 4.7 s
later, so the moment the last instance ends is shown, but is no poller's target); peak RSS growth over the
process before the triggers started; event-loop lag (a ticker coroutine asks for 10 ms sleeps and records
the overshoot); and polls per instance per interval (from the emulator's log).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.env import DOMO_CONN_ID, EmulatorProcess, run_module
from bench.report import Row
from bench.scale import Scale
from bench.stats import percentile

TICK = 0.010
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024
TARGET_RSS_MB = 100.0
TARGET_LAG_MS = 100.0
TARGET_POLLS = 1.0
#: Wall time and mean detection lag, against the ideal poller's (issue 30).
TARGET_IDEAL = 1.10
CALIBRATION_INSTANCES = 10


@dataclass(frozen=True)
class DeferredResult:
    triggers: int
    poll_interval: float
    wall: float
    #: when the last instance finishes
    last_finish: float
    #: when the ideal poller sees the last instance
    ideal: float
    #: mean detection lag (event after the instance's end), ours and the ideal poller's
    lag_mean: float
    ideal_lag_mean: float
    rss_growth_mb: float
    lag_p99_ms: float
    lag_max_ms: float
    polls_per_interval_max: float
    polls_per_interval_mean: float
    polls_total: int
    first_round_seconds: float
    events_ok: int


# -- the parent side ----------------------------------------------------------------------------------------


def deferred_waiting(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    raw = run_module(
        "bench.deferred",
        emulator.base_url,
        str(scale.triggers),
        str(scale.poll_interval),
        str(scale.first_finish),
        str(scale.last_finish),
    )
    return _rows(DeferredResult(**raw))


def _rows(result: DeferredResult) -> list[Row]:
    n, interval = result.triggers, result.poll_interval
    title = f"4. {n} DomoInstanceTriggers in one loop (poll {interval:g} s)"
    if result.ideal <= 0 or result.ideal_lag_mean <= 0:
        raise RuntimeError(
            "every instance had ended before the triggers started: creating them took too long"
        )
    wall_ratio = result.wall / result.ideal
    lag_ratio = result.lag_mean / result.ideal_lag_mean
    rows = [
        Row(
            key="deferred.wall",
            benchmark=title + ": wall time",
            value=result.wall,
            ours=f"{result.wall:.2f} s ({result.events_ok}/{n} success events)",
            anchor=(
                f"ideal poller (every {interval:g} s from the start) sees the last instance at "
                f"{result.ideal:.2f} s; it ends at {result.last_finish:.2f} s"
            ),
            ratio=wall_ratio,
            ratio_text=f"{wall_ratio:.2f}x",
            target=f"<= {TARGET_IDEAL:.2f}x",
            met=wall_ratio <= TARGET_IDEAL and result.events_ok == n,
        ),
        Row(
            key="deferred.detection_lag",
            benchmark=title + ": mean detection lag (event after the instance ends)",
            value=result.lag_mean,
            ours=f"{result.lag_mean:.2f} s",
            anchor=f"ideal poller: {result.ideal_lag_mean:.2f} s",
            ratio=lag_ratio,
            ratio_text=f"{lag_ratio:.2f}x",
            target=f"<= {TARGET_IDEAL:.2f}x",
            met=lag_ratio <= TARGET_IDEAL,
        ),
        Row(
            key="deferred.rss_growth",
            benchmark=title + ": peak RSS growth",
            value=result.rss_growth_mb,
            ours=f"{result.rss_growth_mb:.1f} MB",
            target=f"<= {TARGET_RSS_MB:.0f} MB",
            met=result.rss_growth_mb <= TARGET_RSS_MB,
        ),
        Row(
            key="deferred.loop_lag_p99",
            benchmark=title + ": event-loop lag p99",
            value=result.lag_p99_ms,
            ours=f"{result.lag_p99_ms:.1f} ms (max {result.lag_max_ms:.1f} ms)",
            target=f"<= {TARGET_LAG_MS:.0f} ms",
            met=result.lag_p99_ms <= TARGET_LAG_MS,
        ),
        Row(
            key="deferred.polls_per_interval",
            benchmark=title + ": polls per instance per interval",
            value=result.polls_per_interval_max,
            ours=(
                f"max {result.polls_per_interval_max:.2f}, mean {result.polls_per_interval_mean:.2f} "
                f"({result.polls_total} polls)"
            ),
            target=f"<= {TARGET_POLLS:.0f}",
            met=result.polls_per_interval_max <= TARGET_POLLS,
        ),
    ]
    if not rows[0].met and result.events_ok == n:
        rows[0].notes.append(
            f"the triggers start together, so their polls come in rounds of up to {n} requests; the first "
            f"round took {result.first_round_seconds:.2f} s to reach the emulator's log, and the last "
            f"detection came {result.wall - result.ideal:.2f} s after the ideal poller's."
        )
    return rows


# -- the child side -----------------------------------------------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class Ticker:
    """Sleeps ``TICK`` over and over, recording how late each wake-up is and the peak RSS."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.peak_rss = _rss()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            before = loop.time()
            await asyncio.sleep(TICK)
            self.lags.append(max(0.0, loop.time() - before - TICK))
            self.peak_rss = max(self.peak_rss, _rss())

    def stop(self) -> None:
        self._stop.set()


async def _wait(instance_id: str, poll_interval: float) -> tuple[dict[str, Any], float]:
    """The trigger's event for ``instance_id``, and when it came (epoch seconds)."""
    from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger

    trigger = DomoInstanceTrigger(
        conn_id=DOMO_CONN_ID,
        instance_id=instance_id,
        deadline=time.time() + 3600,
        poll_interval=poll_interval,
    )
    async for event in trigger.run():
        payload: dict[str, Any] = event.payload
        return payload, time.time()
    raise RuntimeError(f"the trigger for {instance_id} ended without an event")


def _created_at(instance: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(instance["createdOn"]).timestamp()


def _create_staggered(control: Any, n: int, first: float, last: float) -> dict[str, float]:
    """N running instances whose finish times (epoch seconds) spread evenly over [first, last] s from
    when creation is expected to end (timed on a few throw-away instances); returns id -> finish time."""
    calibration = time.perf_counter()
    for _ in range(CALIBRATION_INSTANCES):
        control.create_domo_instance(status="COMPLETED")
    per_instance = (time.perf_counter() - calibration) / CALIBRATION_INSTANCES
    start = time.time() + n * per_instance * 1.2
    finishes: dict[str, float] = {}
    for i in range(n):
        target = start + first + (last - first) * i / max(1, n - 1)
        runs_for = max(0.0, target - time.time())
        instance = control.create_domo_instance(runs_for=runs_for)
        finishes[instance["id"]] = _created_at(instance) + runs_for
    return finishes


def _poll_times(log: list[dict[str, Any]], ids: set[str]) -> dict[str, list[float]]:
    """Emulator-side times of the status polls (``GET /instances/{id}``) of each instance."""
    times: dict[str, list[float]] = defaultdict(list)
    for entry in log:
        instance_id = entry["path"].rsplit("/", 1)[-1]
        if instance_id in ids:
            times[instance_id].append(entry["time"])
    return times


def _polls_per_interval(times: dict[str, list[float]], interval: float) -> list[float]:
    """Per instance: polls / the number of intervals its polls span (exactly 1.0 for one poll per interval)."""
    return [len(polls) / (int((max(polls) - min(polls)) / interval) + 1) for polls in times.values()]


def _first_round_seconds(times: dict[str, list[float]]) -> float:
    """Spread of the emulator-side times of every instance's first poll (all sent at the same moment)."""
    firsts = [min(polls) for polls in times.values()]
    return max(firsts) - min(firsts)


async def measure(url: str, n: int, interval: float, first: float, last: float) -> DeferredResult:
    from airflow_provider_wfcancel.emulator import EmulatorControl

    control = EmulatorControl(url, timeout=60.0)
    control.reset()
    control.configure(domo_start_delay=0)
    # Warm-up: one trigger end to end, so imports and the shared HTTP client exist before the baseline.
    await _wait(control.create_domo_instance(status="COMPLETED")["id"], interval)
    finishes = _create_staggered(control, n, first, last)
    control_counts_before = control.counts().get("domo.get", 0)

    gc.collect()
    baseline = _rss()
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    started = time.time()
    answers = await asyncio.gather(*(_wait(i, interval) for i in finishes))
    wall = time.time() - started
    events = [payload for payload, _ in answers]
    lags = [seen - finishes[i] for i, (_, seen) in zip(finishes, answers, strict=True)]
    # the ideal poller polls each instance at `started` and every `interval` after
    ideal_seen = {
        i: started + math.ceil(max(0.0, end - started) / interval) * interval for i, end in finishes.items()
    }
    ideal_lags = [ideal_seen[i] - end for i, end in finishes.items()]
    ticker.stop()
    ticker.peak_rss = max(ticker.peak_rss, _rss())
    await ticking

    times = _poll_times(control.requests("domo.get"), set(finishes))
    ratios = _polls_per_interval(times, interval)
    loop_lags = ticker.lags or [0.0]
    return DeferredResult(
        triggers=n,
        poll_interval=interval,
        wall=wall,
        last_finish=max(finishes.values()) - started,
        ideal=max(ideal_seen.values()) - started,
        lag_mean=sum(lags) / len(lags),
        ideal_lag_mean=sum(ideal_lags) / len(ideal_lags),
        rss_growth_mb=(ticker.peak_rss - baseline) / MB,
        lag_p99_ms=percentile(loop_lags, 99) * 1000,
        lag_max_ms=max(loop_lags) * 1000,
        polls_per_interval_max=max(ratios),
        polls_per_interval_mean=sum(ratios) / len(ratios),
        polls_total=control.counts().get("domo.get", 0) - control_counts_before,
        first_round_seconds=_first_round_seconds(times),
        events_ok=sum(1 for event in events if event.get("status") == "success"),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.deferred")
    parser.add_argument("url")
    parser.add_argument("triggers", type=int)
    parser.add_argument("poll_interval", type=float)
    parser.add_argument("first_finish", type=float)
    parser.add_argument("last_finish", type=float)
    args = parser.parse_args(argv)
    result = asyncio.run(
        measure(args.url, args.triggers, args.poll_interval, args.first_finish, args.last_finish)
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
