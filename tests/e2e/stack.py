"""A real Airflow 3 deployment for the end-to-end suite: one process per component, as in production.

Profiles:

- ``standalone``: SQLite metadata DB, LocalExecutor (task runners are children of the scheduler).
- ``celery``: PostgreSQL metadata DB, Redis broker, CeleryExecutor and a separate ``airflow celery worker``.

Every component gets the same environment: the Airflow home, the DAGs folder, the shared secrets the
components use to trust each other, and the ``domo_default`` / ``enos_default`` connections (pointing at the
emulator) as ``AIRFLOW_CONN_*`` variables, the way a secrets backend would hand them to every process.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from airflow_provider_wfcancel.emulator import airflow_connections

from .processes import ManagedProcess, free_port, run_checked, wait_until
from .services import start_postgres, start_redis

REPO = Path(__file__).resolve().parents[2]
PROFILES = ("standalone", "celery")
ADMIN_USER = "admin"
#: A read-only user (SimpleAuthManager role ``viewer``): may look, may not use connections.
VIEWER_USER = "viewer"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: The parts of ``/api/v2/monitor/health`` that must say "healthy".
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
# DAG files the suite runs: the shipped examples plus the deferrable twins from the test DAGs.
DAG_FILES = [
    *sorted((REPO / "example_dags").glob("*.py")),
    REPO / "tests" / "dags" / "wfcancel_deferrable.py",
    REPO / "tests" / "dags" / "wfcancel_deadline.py",
    REPO / "tests" / "dags" / "wfcancel_reattach.py",
    REPO / "tests" / "dags" / "wfcancel_event_scheduling.py",
]
CELERY_WORKER = ["celery", "worker", "--concurrency", "4"]


def base_environment() -> dict[str, str]:
    """This process's environment without any Airflow settings (the test process has its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST", "COV_"))}


@dataclass
class AirflowStack:
    profile: str
    workdir: Path
    emulator_url: str
    api_port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    viewer_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    processes: list[ManagedProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.workdir / "airflow-home"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> AirflowStack:
        if self.profile not in PROFILES:
            raise ValueError(f"E2E_PROFILE must be one of {PROFILES}, got {self.profile!r}")
        self.home.mkdir(parents=True)
        dags = self.home / "dags"
        dags.mkdir()
        for path in DAG_FILES:
            (dags / path.name).symlink_to(path)
        passwords = self.home / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({ADMIN_USER: self.admin_password, VIEWER_USER: self.viewer_password}))

        from cryptography.fernet import Fernet

        self.env = {
            **base_environment(),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin,{VIEWER_USER}:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "tasks"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            **{
                f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
                for conn_id, conn in airflow_connections(self.emulator_url).items()
            },
        }
        self.env.update(self._executor_environment())
        self._airflow("db", "migrate", timeout=300)
        for component in COMPONENTS:
            self._spawn(component, [component])
        if self.profile == "celery":
            self.start_celery_worker()
        wait_until(self._healthy, timeout=180, interval=1, what=f"the Airflow components ({self.profile})")
        return self

    def _executor_environment(self) -> dict[str, str]:
        if self.profile == "standalone":
            return {
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            }
        postgres = start_postgres(self.workdir, base_environment())
        redis = start_redis(self.workdir, base_environment())
        self.processes += [postgres.process, redis.process]
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.sqlalchemy_url,
            "AIRFLOW__CELERY__BROKER_URL": redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{postgres.sqlalchemy_url}",
            # A task whose worker was killed is failed (and retried) 20 s after its last heartbeat, not 300.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        }

    def start_celery_worker(self) -> None:
        self._spawn("celery-worker", CELERY_WORKER)

    def kill_celery_worker(self) -> None:
        """SIGKILL the Celery worker with its pool and task processes, as a lost node would."""
        worker = next(p for p in self.processes if p.name == "celery-worker" and p.running)
        worker.kill_tree()
        self.processes.remove(worker)

    def _airflow(self, *args: str, timeout: float) -> None:
        run_checked(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            log_path=self.logs / f"airflow-{args[0]}.log",
            timeout=timeout,
        )

    def _spawn(self, name: str, args: list[str]) -> None:
        process = ManagedProcess(
            name,
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            log_path=self.logs / f"{name}.log",
            cwd=self.workdir,
        )
        self.processes.append(process.start())

    def _healthy(self) -> bool:
        self.check_running()
        health = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
        return all(health.get(part, {}).get("status") == "healthy" for part in HEALTH_PARTS)

    #: Logs of the stand-ins for the outside world, which know the secrets by design.
    non_airflow_logs = frozenset({"emulator.log", "postgres.log", "redis.log"})

    def worker_log(self) -> str:
        """Output of the processes that run tasks: Celery's worker, or LocalExecutor's runners in the scheduler."""
        name = "celery-worker" if self.profile == "celery" else "scheduler"
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def check_running(self) -> None:
        for process in self.processes:
            process.check_running()

    def log_tails(self, lines: int = 40) -> dict[str, str]:
        return {process.name: process.log_tail(lines) for process in self.processes}
