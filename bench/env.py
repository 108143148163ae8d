"""The benchmark's surroundings: an isolated Airflow home, connections, and the emulator in its own process.

:func:`prepare_airflow_env` must run before anything imports Airflow; child processes inherit the result.
The emulator runs as a subprocess so that its event loop does not share the GIL with the client being
measured.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_wfcancel.emulator import EmulatorControl

REPO = Path(__file__).resolve().parent.parent
DOMO_CONN_ID = "wfcancel_bench_domo"
ENOS_CONN_ID = "wfcancel_bench_enos"
HTTP_CONN_ID = "wfcancel_bench_http"
EMULATOR_START_TIMEOUT = 60.0
_URL_LINE = re.compile(r"listening on (http://\S+)")


def prepare_airflow_env() -> None:
    """Point Airflow at a throw-away home (no DB is needed) and keep its logging quiet."""
    home = tempfile.mkdtemp(prefix="wfcancel-bench-airflow-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": home,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )
    existing = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + existing if existing else "")


def set_connections(base_url: str) -> None:
    """``AIRFLOW_CONN_*`` variables for the Domo, EnOS and plain-HTTP hooks, all aimed at the emulator."""
    from airflow_provider_wfcancel.emulator import airflow_connections

    emulator = airflow_connections(base_url)
    connections: dict[str, dict[str, Any]] = {
        DOMO_CONN_ID: emulator["domo_default"],
        ENOS_CONN_ID: emulator["enos_default"],
        HTTP_CONN_ID: {"conn_type": "http", "host": base_url},
    }
    for conn_id, fields in connections.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(fields)


class EmulatorProcess:
    """``python -m airflow_provider_wfcancel.emulator --port 0`` on loopback; its URL is read from its output.

    :meth:`start` returns at once (the parent can import Airflow meanwhile); :meth:`wait_ready` blocks until
    the emulator printed its URL.
    """

    def __init__(self, *, request_log_limit: int) -> None:
        self.request_log_limit = request_log_limit
        self._log_fd, log_name = tempfile.mkstemp(prefix="wfcancel-bench-emulator-", suffix=".log")
        self._log_path = Path(log_name)
        self._process: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self._control: EmulatorControl | None = None

    def start(self) -> EmulatorProcess:
        command = [
            sys.executable,
            "-u",
            "-m",
            "airflow_provider_wfcancel.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--request-log-limit",
            str(self.request_log_limit),
        ]
        self._process = subprocess.Popen(command, stdout=self._log_fd, stderr=subprocess.STDOUT, cwd=REPO)
        return self

    def wait_ready(self) -> str:
        deadline = time.monotonic() + EMULATOR_START_TIMEOUT
        path = self._log_path
        while time.monotonic() < deadline:
            match = _URL_LINE.search(path.read_text(errors="replace"))
            if match:
                self.base_url = match.group(1)
                return self.base_url
            if self._process is None or self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the emulator did not start; its output:\n{path.read_text(errors='replace')}")

    @property
    def control(self) -> EmulatorControl:
        from airflow_provider_wfcancel.emulator import EmulatorControl

        if self._control is None:
            self._control = EmulatorControl(self.base_url, timeout=60.0)
        return self._control

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log_fd >= 0:
            os.close(self._log_fd)
            self._log_fd = -1
            self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> EmulatorProcess:
        return self if self._process is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_probe(code: str, *args: str, timeout: float = 300.0) -> Any:
    """Run ``code`` in a fresh interpreter (inheriting this environment); it prints one JSON line last."""
    return _run_python(["-c", code, *args], timeout)


def run_module(module: str, *args: str, timeout: float = 600.0) -> Any:
    """``python -m module args...`` in a fresh interpreter; its last stdout line is JSON."""
    return _run_python(["-m", module, *args], timeout)


def _run_python(argv: list[str], timeout: float) -> Any:
    result = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:2]} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
