"""Processes the end-to-end suite starts and always stops: each in its own session, logging to a file.

Nothing here knows about Airflow; ``stack.py`` composes these into an Airflow deployment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_RUNNING: list[ManagedProcess] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], object], *, timeout: float, interval: float = 0.5, what: str
) -> object:
    """Poll ``condition`` until it returns something truthy; raise naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as exc:  # a service that is still starting refuses connections
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")


def as_user(argv: Sequence[str], run_as: str | None) -> list[str]:
    """``argv`` run as ``run_as`` (through ``runuser``), or unchanged."""
    return [*(["runuser", "-u", run_as, "--"] if run_as else []), *argv]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class ManagedProcess:
    """A long-running command whose output goes to ``log_path``; stopped with its whole process group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        log_path: Path,
        cwd: Path | None = None,
        run_as: str | None = None,
    ) -> None:
        self.name = name
        self.argv = as_user(argv, run_as)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _RUNNING.append(self)
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check_running(self) -> None:
        if not self.running:
            code = self._proc.returncode if self._proc else None
            raise RuntimeError(f"{self.name} exited with {code}; last log lines:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self in _RUNNING:
            _RUNNING.remove(self)
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        # Children (uvicorn workers, task runners) may outlive the leader: kill the group either way.
        _signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)

    def kill_tree(self) -> None:
        """SIGKILL the process and every process under it at once, whatever group they moved to (Airflow
        runs each task in a process group of its own): what a lost node does to them."""
        import psutil

        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self in _RUNNING:
            _RUNNING.remove(self)
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = psutil.Process(proc.pid)
            for member in [leader, *leader.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.kill()
        proc.wait(timeout=10.0)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(pid, sig)


def stop_all() -> None:
    """Stop everything still running, newest first (used at session end and on interpreter exit)."""
    for process in reversed(list(_RUNNING)):
        process.stop()


def run_checked(argv: Sequence[str], *, env: dict[str, str], log_path: Path, timeout: float) -> None:
    """Run a one-shot command (e.g. ``airflow db migrate``), appending its output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        result = subprocess.run(
            list(argv), env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if result.returncode:
        raise RuntimeError(f"{' '.join(argv)} exited with {result.returncode}:\n{log_tail(log_path, 30)}")


def find_executable(name: str, *extra_dirs: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([*extra_dirs, os.environ.get("PATH", "")]))
    if not found:
        raise RuntimeError(f"{name} not found; run `make e2e-system` (installs the Debian packages)")
    return found
