"""Benchmark 9: bulk cancel across gateway shapes and batch sizes, simulation and emulator side by side.

For each shape (rate, burst; ``Retry-After: 1``, one of 5 s, or none) and batch size, three starts of the provider's limiter:

- **cold**: a fresh process that knows nothing of the gateway;
- **learned**: a second batch in the same process, after a batch that met the gateway's limit (the rate it
  learned is reused: one limiter per gateway and process);
- **known**: the connection's ``max_requests_per_second`` extra set to the gateway's rate.

The simulation (:mod:`bench.sim`: the real limiter and retry policy on a virtual clock, the emulator's token
bucket) covers every row in milliseconds, with 8, 16 and 32 workers (a row's ratio is the slowest); the
emulator runs the rows short enough to run for real (the ``emulated`` batches of
:class:`~bench.scale.Scale`), with 8. Targets (issue 30): 0 lost, cold <= 1.10x ``N / rate``
with <= 2 % of requests answered 429, learned and known <= 1.03x.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from bench.env import DOMO_CONN_ID, EmulatorProcess
from bench.ratelimited import running_instances, throttled_share
from bench.report import Row
from bench.scale import Scale
from bench.sim import Gateway, Outcome, known, learned, simulate

#: Worker counts simulated for every row (the issue's range); the emulator runs the first.
WORKERS = (8, 16, 32)
TARGET_COLD = 1.10
TARGET_WARM = 1.03
TARGET_THROTTLED = 0.02
CAPPED_CONN_ID = "wfcancel_bench_domo_capped"


def _measure(emulator: EmulatorProcess, gateway: Gateway, n: int, start: str) -> Outcome:
    """One bulk cancel of ``n`` running instances at the emulator, limited like ``gateway``."""
    from airflow_provider_wfcancel._http import ratelimit
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    control = emulator.control
    ratelimit.reset()
    conn_id = DOMO_CONN_ID
    if start == "known":
        conn = json.loads(os.environ[f"AIRFLOW_CONN_{DOMO_CONN_ID.upper()}"])
        conn["extra"] = {"max_requests_per_second": gateway.rate}
        os.environ[f"AIRFLOW_CONN_{CAPPED_CONN_ID.upper()}"] = json.dumps(conn)
        conn_id = CAPPED_CONN_ID
    hook = DomoHook(domo_conn_id=conn_id)

    def batch(size: int) -> tuple[float, int, int, int]:
        ids = running_instances(emulator, size)
        control.set_rate_limit(
            "domo",
            rate=gateway.rate,
            burst=gateway.burst,
            retry_after=gateway.retry_after,
            retry_after_header=gateway.header,
        )
        started = time.monotonic()
        items = hook.cancel_instances(ids, max_workers=WORKERS[0])
        wall = time.monotonic() - started
        control.clear_rate_limits()
        return wall, sum(1 for item in items if not item.ok), *throttled_share(emulator)

    if start == "learned":
        batch(max(n, int(gateway.rate * 15)))  # a batch long enough to meet the limit
    wall, lost, throttled, total = batch(n)
    return Outcome(wall, total, throttled, lost)


def _describe(outcome: Outcome, n: int, rate: float) -> str:
    lost = f", {outcome.lost} lost" if outcome.lost else ""
    return f"{outcome.ratio(n, rate):.2f}x ({outcome.throttled / max(1, outcome.requests):.1%} 429{lost})"


def gateway_sweep(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    starts: dict[str, Callable[[Gateway, int, int], Outcome]] = {
        "cold": lambda g, n, w: simulate(g, n, workers=w),
        "learned": lambda g, n, w: learned(g, n, workers=w),
        "known": lambda g, n, w: known(g, n, workers=w),
    }
    rows = []
    for rate, burst, retry_after in scale.sweep_shapes:
        gateway = Gateway(rate, burst, retry_after or 1.0, header=retry_after is not None)
        for n in scale.sweep_batches:
            simulated = {w: {name: run(gateway, n, w) for name, run in starts.items()} for w in WORKERS}
            emulated: dict[str, Outcome] = {}
            if (rate, burst, retry_after, n) in scale.sweep_emulated:
                emulated = {name: _measure(emulator, gateway, n, name) for name in starts}
            rows.append(_row(gateway, n, simulated, emulated))
    return rows


def _key_suffix(gateway: Gateway) -> str:
    if not gateway.header:
        return ".no-retry-after"
    return "" if gateway.retry_after == 1.0 else f".retry-after-{gateway.retry_after:g}"


def _row(
    gateway: Gateway, n: int, simulated: dict[int, dict[str, Outcome]], emulated: dict[str, Outcome]
) -> Row:
    def text(outcomes: dict[str, Outcome]) -> str:
        return ", ".join(f"{name} {_describe(o, n, gateway.rate)}" for name, o in outcomes.items())

    ours = "; ".join(f"sim, {w} workers: {text(outcomes)}" for w, outcomes in simulated.items())
    ours += f"; emulator, {WORKERS[0]} workers: {text(emulated)}" if emulated else ""
    checked = [*simulated.values(), emulated] if emulated else list(simulated.values())
    met = all(
        o["cold"].lost == 0
        and o["cold"].ratio(n, gateway.rate) <= TARGET_COLD
        and o["cold"].throttled <= TARGET_THROTTLED * o["cold"].requests
        and all(
            o[name].ratio(n, gateway.rate) <= TARGET_WARM and o[name].lost == 0
            for name in ("learned", "known")
        )
        for o in checked
    )
    cold = max(outcomes["cold"].ratio(n, gateway.rate) for outcomes in simulated.values())
    workers = "/".join(str(w) for w in WORKERS)
    return Row(
        key=f"sweep.{gateway.rate:g}.{gateway.burst}{_key_suffix(gateway)}.{n}",
        benchmark=f"9. Bulk cancel {n} at {gateway.describe()}, {workers} workers (N / rate {n / gateway.rate:.1f} s)",
        value=cold,
        ours=ours,
        anchor=f"N / rate: {n / gateway.rate:.1f} s",
        ratio=cold,
        ratio_text=f"{cold:.2f}x cold (sim, slowest)",
        target=f"cold <= {TARGET_COLD:.2f}x, <= {TARGET_THROTTLED:.0%} 429; learned, known <= {TARGET_WARM:.2f}x",
        met=met,
    )
