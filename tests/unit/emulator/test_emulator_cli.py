"""The ``wfcancel-emulator`` command line."""

from __future__ import annotations

import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from airflow_provider_wfcancel.emulator.server import main

LISTENING = re.compile(r"^wfcancel emulator listening on (http://127\.0\.0\.1:(\d+))$")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_exits_cleanly(signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = LISTENING.match(process.stdout.readline().rstrip("\n"))
        assert match, "first line must announce the URL"
        assert DEFAULT_DOMO_TOKEN in process.stdout.readline() + process.stdout.readline()
        response = requests.get(
            f"{match.group(1)}/api/content/v2/users/me",
            headers={"X-DOMO-Developer-Token": DEFAULT_DOMO_TOKEN},
            timeout=5,
        )
        assert response.status_code == 200
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    assert "/api/content/v2/users/me" not in stderr  # no access log unless asked for


def test_cli_access_log_has_a_line_per_request() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--port", "0", "--access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        match = LISTENING.match(process.stdout.readline().rstrip("\n"))
        assert match
        for path in ("/api/content/v2/users/me", "/nowhere"):
            requests.get(f"{match.group(1)}{path}", timeout=5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert '"GET /api/content/v2/users/me HTTP/1.1" 401' in stderr
    assert '"GET /nowhere HTTP/1.1" 404' in stderr


def test_cli_rejects_bad_settings() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", "0", "--domo-cancel-terminal", "explode"])
    assert exit_info.value.code == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    """``main`` applies options, serves, and returns 0 on SIGINT (restoring the previous handler)."""
    port = _free_port()
    previous = signal.getsignal(signal.SIGINT)
    answers: list[float] = []

    def client() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                config = requests.get(f"http://127.0.0.1:{port}/_emulator/config", timeout=1).json()
                answers.append(config["domo_cancel_delay"])
                break
            except requests.ConnectionError:
                time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=client)
    thread.start()
    assert main(["--port", str(port), "--domo-cancel-delay", "1.5"]) == 0
    thread.join()
    assert answers == [1.5]
    assert signal.getsignal(signal.SIGINT) is previous
    assert capsys.readouterr().out.startswith(f"wfcancel emulator listening on http://127.0.0.1:{port}\n")


def test_module_entry_point_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["wfcancel-emulator", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("airflow_provider_wfcancel.emulator", run_name="__main__")
    assert exit_info.value.code == 0
    assert "--domo-cancel-delay" in capsys.readouterr().out
