"""Benchmark 3: bulk cancel under 50 ms of server latency, against the ``N x latency / workers`` limit.

The emulator delays every Domo cancel by ``bulk_latency``. Cancels are scheduled far in the future
(``domo_cancel_delay``), so the instances stay ``IN_PROGRESS`` and every round cancels running instances.
Sequential cancelling is timed on a sample and extrapolated to N (labelled so in the table).
"""

from __future__ import annotations

import itertools

from bench.env import DOMO_CONN_ID, EmulatorProcess
from bench.report import Row
from bench.scale import Scale
from bench.stats import Stats, compare, once, per_call

FAULT_DURATION = 3600.0
TARGET_EFFICIENCY = 0.75


def bulk_cancel(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    control = emulator.control
    control.reset()
    control.configure(domo_cancel_delay=FAULT_DURATION)
    ids = [control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(scale.bulk_instances)]
    sample = ids[: scale.bulk_sequential_sample]
    hook = DomoHook(domo_conn_id=DOMO_CONN_ID)
    hook.cancel_instance(ids[0])  # read the connection and open the pool before anything is timed

    def bulk() -> None:
        items = hook.cancel_instances(ids, max_workers=scale.bulk_workers)
        failed = [item for item in items if not item.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} bulk cancels failed, e.g. {failed[0].error}")
        if any(item.ack is None or item.ack.already_finished for item in items):
            raise RuntimeError("an instance was not running when the bulk cancel reached it")

    cycle = itertools.cycle(sample)

    def sequential_one() -> None:
        hook.cancel_instance(next(cycle))

    control.inject_fault("domo.cancel", latency=scale.bulk_latency, duration=FAULT_DURATION)
    try:
        stats = compare(
            {
                "bulk": once(bulk),
                "sequential": per_call(sequential_one, len(sample)),
            },
            rounds=scale.bulk_rounds,
            warmup=0,
        )
    finally:
        control.clear_faults()
    return _rows(stats["bulk"].median, stats["sequential"].median, stats, scale)


def _rows(bulk: float, sequential_each: float, stats: dict[str, Stats], scale: Scale) -> list[Row]:
    n = scale.bulk_instances
    ideal = n * scale.bulk_latency / scale.bulk_workers
    efficiency = ideal / bulk
    sequential = sequential_each * n
    title = f"3. Bulk cancel {n} instances, {scale.bulk_latency * 1000:.0f} ms latency, {scale.bulk_workers} workers"
    return [
        Row(
            key="bulk.efficiency",
            benchmark=title + ": efficiency vs limit",
            value=bulk,
            ours=f"{bulk:.2f} s ({stats['bulk'].spread()})",
            anchor=f"limit N x latency / workers: {ideal:.2f} s",
            ratio=efficiency,
            ratio_text=f"{efficiency:.0%} of limit",
            target=f">= {TARGET_EFFICIENCY:.0%}",
            met=efficiency >= TARGET_EFFICIENCY,
        ),
        Row(
            key="bulk.vs_sequential",
            benchmark=title + ": speed-up vs sequential",
            value=bulk,
            ours=f"{bulk:.2f} s",
            anchor=(
                f"sequential, extrapolated from {scale.bulk_sequential_sample}: {sequential:.1f} s "
                f"({stats['sequential'].spread(n, 1)})"
            ),
            ratio=sequential / bulk,
            ratio_text=f"{sequential / bulk:.1f}x faster",
        ),
    ]
