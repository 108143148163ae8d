"""Session fixtures for the end-to-end suite: the emulator and a whole Airflow deployment, each in
processes of their own, started once and always stopped.

``E2E_PROFILE`` picks the deployment (``standalone`` or ``celery``). Logs of every process are copied to
``tests/e2e/artifacts/<profile>/logs`` when a test fails (or ``E2E_KEEP_LOGS=1`` is set), and the tail of each is attached to the report.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .api import AirflowApi
from .browser import (  # noqa: F401  (registers the browser fixtures once, for every test module)
    auth_state_fixture,
    browser_fixture,
    page_fixture,
    playwright_fixture,
    shots_fixture,
    viewer_page_fixture,
    viewer_state_fixture,
)
from .processes import ManagedProcess, free_port, stop_all, wait_until
from .stack import ADMIN_USER, REPO, AirflowStack, base_environment

ARTIFACTS = REPO / "tests" / "e2e" / "artifacts"
# Emulated remote cancellations complete this long after the request, so waiting is real.
CANCEL_DELAY_SECONDS = 2

atexit.register(stop_all)
# A SIGTERM (a CI timeout) would skip atexit; turn it into an exit so every started process is stopped.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
_stack: AirflowStack | None = None
_failed = False


@pytest.fixture(scope="session")
def profile() -> str:
    return os.environ.get("E2E_PROFILE", "standalone")


@pytest.fixture(scope="session")
def artifacts(profile: str) -> Path:
    path = ARTIFACTS / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def workdir(artifacts: Path) -> Iterator[Path]:
    # Short /tmp paths: PostgreSQL's socket path has a length limit.
    path = Path(tempfile.mkdtemp(prefix="wfcancel-e2e-"))
    yield path
    if _failed or os.environ.get("E2E_KEEP_LOGS"):
        shutil.copytree(path / "logs", artifacts / "logs", dirs_exist_ok=True)
        print(f"\ne2e logs kept in {artifacts / 'logs'}", file=sys.stderr)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator_url(workdir: Path) -> Iterator[str]:
    """The emulator as its own service process, as the SaaS APIs would be."""
    from airflow_provider_wfcancel.emulator import EmulatorControl

    port = free_port()
    delay = str(CANCEL_DELAY_SECONDS)
    process = ManagedProcess(
        "emulator",
        [
            sys.executable,
            "-m",
            "airflow_provider_wfcancel.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--domo-cancel-delay",
            delay,
            "--enos-cancel-delay",
            delay,
        ],
        env=base_environment(),
        log_path=workdir / "logs" / "emulator.log",
    ).start()
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        process.check_running()
        EmulatorControl(url, timeout=2).config()
        return True

    wait_until(answering, timeout=30, what="the emulator")
    yield url
    process.stop()


@pytest.fixture(scope="session")
def control(emulator_url: str) -> Any:
    from airflow_provider_wfcancel.emulator import EmulatorControl

    return EmulatorControl(emulator_url)


@pytest.fixture(scope="session")
def stack(profile: str, workdir: Path, emulator_url: str) -> Iterator[AirflowStack]:
    global _stack
    _stack = AirflowStack(profile, workdir, emulator_url)
    try:
        yield _stack.start()
    finally:
        _stack.stop()


@pytest.fixture(scope="session")
def api(stack: AirflowStack) -> AirflowApi:
    return AirflowApi(stack.base_url, ADMIN_USER, stack.admin_password)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    global _failed
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _failed = True
        if _stack is not None:
            for name, tail in _stack.log_tails().items():
                report.sections.append((f"{name} log (last lines)", tail))
