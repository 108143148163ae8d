"""Benchmark 6: what a hostile error body costs. Redaction looks at a bounded window, so a 10 MB body built
to make a backtracking pattern crawl (secret-looking keys that never end, a quoted value that never closes)
costs about what a small one does. Before the window, 2 KB of such text took 24 s."""

from __future__ import annotations

import time

from bench.env import EmulatorProcess
from bench.report import Row
from bench.scale import Scale

BODY_BYTES = 10 * 1024 * 1024
LIMIT_MS = 100.0


def hostile_body() -> bytes:
    half = BODY_BYTES // 2
    return (b"secret" * (half // 6)) + b'"token": "' + b"a" * half


def redaction(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    from airflow_provider_wfcancel.exceptions import error_for_response

    body = hostile_body()
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        error_for_response(
            service="Domo", method="GET", url="https://acme.domo.com/x", status_code=500, body=body
        )
        samples.append((time.perf_counter() - started) * 1000)
    worst = max(samples)
    return [
        Row(
            key="redaction.hostile_10mb",
            benchmark="6. Error from a 10 MB hostile body (redaction)",
            value=worst,
            ours=f"{worst:.2f} ms (slowest of 5)",
            target=f"< {LIMIT_MS:.0f} ms",
            met=worst < LIMIT_MS,
        )
    ]
