"""Smoke test of the benchmark suite: quick mode runs end to end and yields every row.

No timing is asserted here; speed targets live only in the benchmark's own output.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results.md"
EXPECTED_ROWS = {
    "domo.cancel.vs_raw",
    "domo.cancel.vs_http_hook",
    "enos.cancel.vs_raw",
    "enos.token_requests",
    "bulk.efficiency",
    "bulk.vs_sequential",
    "deferred.wall",
    "deferred.detection_lag",
    "deferred.rss_growth",
    "deferred.loop_lag_p99",
    "deferred.polls_per_interval",
    "import.domo",
    "import.enos",
    "parse.dag",
    "redaction.hostile_10mb",
    "limited.provider",
    "limited.plain_pool",
    "limited.provider_no_burst",
    "limited.provider_fast",
    "limited_waits.provider",
    "limited_waits.plain",
    "sweep.40.5.40",
}


def _results_stamp() -> int | None:
    return RESULTS.stat().st_mtime_ns if RESULTS.exists() else None


def test_quick_mode_produces_every_row(tmp_path: Path) -> None:
    rows_file = tmp_path / "rows.json"
    before = _results_stamp()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    result = subprocess.run(  # noqa: S603  # our own interpreter and module
        [sys.executable, "-m", "bench", "--quick", "--json", str(rows_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "| benchmark | ours | anchor | ratio | target | met? |" in result.stdout

    rows = {row["key"]: row for row in json.loads(rows_file.read_text())}
    assert set(rows) == EXPECTED_ROWS
    for key, row in rows.items():
        assert isinstance(row["value"], int | float), key
        assert math.isfinite(row["value"]), key
        if row["ratio"] is not None:
            assert math.isfinite(row["ratio"]), key
    assert rows["enos.token_requests"]["value"] == 1
    assert _results_stamp() == before, "quick mode must not write bench/results.md unless asked"
