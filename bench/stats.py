"""The one measurement loop: run compared variants interleaved, then summarise each with median and spread.

Variants are run round-robin (A, B, C, A, B, C, ...) so that drift on the machine (thermal, another process,
the emulator's caches) hits every variant alike; the ratio of medians is the figure that counts.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: A variant performs one measurement and returns its value (seconds, usually per operation).
Measurement = Callable[[], float]


@dataclass(frozen=True)
class Stats:
    """Median and spread of one variant's samples."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return self._quartiles()[0]

    @property
    def q3(self) -> float:
        return self._quartiles()[2]

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    def _quartiles(self) -> tuple[float, float, float]:
        if len(self.samples) < 2:
            only = self.samples[0]
            return only, only, only
        q1, q2, q3 = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q1, q2, q3

    def spread(self, scale: float = 1.0, digits: int = 2) -> str:
        """``IQR a-b`` (or ``min-max`` for fewer than 4 samples), scaled for display."""
        if len(self.samples) >= 4:
            label, lo, hi = "IQR", self.q1, self.q3
        else:
            label, lo, hi = "min-max", self.low, self.high
        return f"{label} {lo * scale:.{digits}f}-{hi * scale:.{digits}f}, n={len(self.samples)}"


def compare(variants: Mapping[str, Measurement], *, rounds: int, warmup: int = 1) -> dict[str, Stats]:
    """Run every variant ``warmup + rounds`` times, interleaved; the warm-up results are dropped.

    The order within a round rotates by one each round, so no variant always runs first or right after a
    particular other one. A full garbage collection runs (untimed) before every measurement.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(warmup + rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            value = variants[name]()
            if round_no >= warmup:
                samples[name].append(value)
    return {name: Stats(tuple(values)) for name, values in samples.items()}


def per_call(action: Callable[[], object], calls: int) -> Measurement:
    """A measurement: seconds per call of ``action``, timed over ``calls`` sequential calls."""

    def measure() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            action()
        return (time.perf_counter() - start) / calls

    return measure


def once(action: Callable[[], object]) -> Measurement:
    """A measurement: wall seconds of one call of ``action``."""
    return per_call(action, 1)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]
