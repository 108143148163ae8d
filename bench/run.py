"""Entry point: ``python -m bench [--quick] [--write | --no-write] [--json PATH] [--only NAME ...]``.

Starts the emulator in its own process, runs the benchmarks in order, prints the markdown table and, in full
mode, writes ``bench/results.md``. ``BENCH_QUICK=1`` is the same as ``--quick`` (tiny sizes, nothing written
unless ``--write``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.env import EmulatorProcess, prepare_airflow_env, set_connections
from bench.report import RESULTS_PATH, Row, machine_info, render_document, render_table
from bench.scale import FULL, QUICK, Scale

Benchmark = Callable[[EmulatorProcess, Scale], list[Row]]
REQUEST_LOG_LIMIT = 200_000


def benchmarks() -> dict[str, Benchmark]:
    from bench.bulk import bulk_cancel
    from bench.deferred import deferred_waiting
    from bench.hostile import redaction
    from bench.imports import import_and_parse
    from bench.overhead import domo_overhead, enos_overhead
    from bench.ratelimited import rate_limited_bulk, rate_limited_waits
    from bench.sweep import gateway_sweep

    return {
        "domo": domo_overhead,
        "enos": enos_overhead,
        "bulk": bulk_cancel,
        "deferred": deferred_waiting,
        "imports": import_and_parse,
        "redaction": redaction,
        "limited": rate_limited_bulk,
        "limited_waits": rate_limited_waits,
        "sweep": gateway_sweep,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run (env BENCH_QUICK=1)")
    write = parser.add_mutually_exclusive_group()
    write.add_argument("--write", action="store_true", help="write bench/results.md even in quick mode")
    write.add_argument("--no-write", action="store_true", help="do not write bench/results.md")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[
            "domo",
            "enos",
            "bulk",
            "deferred",
            "imports",
            "redaction",
            "limited",
            "limited_waits",
            "sweep",
        ],
        help="run only these",
    )
    return parser.parse_args(argv)


def run(scale: Scale, only: Sequence[str] | None) -> list[Row]:
    with EmulatorProcess(request_log_limit=REQUEST_LOG_LIMIT).start() as emulator:
        import airflow.sdk  # noqa: F401  # imported while the emulator starts

        set_connections(emulator.wait_ready())
        rows: list[Row] = []
        for name, benchmark in benchmarks().items():
            if only and name not in only:
                continue
            started = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            rows += benchmark(emulator, scale)
            print(f"[bench] {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    scale = QUICK if quick else FULL
    prepare_airflow_env()
    started = time.monotonic()
    rows = run(scale, args.only)
    elapsed = time.monotonic() - started
    print(render_table(rows))
    if args.json:
        args.json.write_text(json.dumps([row.as_dict() for row in rows], indent=2))
    if args.write or not (quick or args.no_write or args.only):
        RESULTS_PATH.write_text(render_document(rows, machine_info(), mode=scale.name, elapsed=elapsed))
        print(f"wrote {RESULTS_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
