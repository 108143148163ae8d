"""A small client for Airflow 3's public REST API (``/api/v2``), as a user's automation would call it."""

from __future__ import annotations

import time
from typing import Any

import requests

from .processes import wait_until

FINISHED_RUN_STATES = {"success", "failed"}


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        response = self.session.post(
            f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if not response.ok:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the DAG processor has parsed ``dag_id`` (and it has no import error)."""

        def parsed() -> dict[str, Any] | None:
            errors = self.call("GET", "/importErrors")["import_errors"]
            if errors:
                raise AssertionError(f"DAG import errors: {errors}")
            response = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=30)
            return response.json() if response.ok else None

        return wait_until(parsed, timeout=timeout, interval=1, what=f"DAG {dag_id} to be parsed")  # type: ignore[return-value]

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for_dag(dag_id)
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        instances = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in instances}

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 180, *, check: Any = None
    ) -> tuple[str, set[str]]:
        """Wait until the run finishes; returns its state and every task state seen on the way."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check:
                check()
            seen.update(s for s in self.task_states(dag_id, run_id).values() if s)
            state = self.run_state(dag_id, run_id)
            if state in FINISHED_RUN_STATES:
                return state, seen
            time.sleep(0.5)
        raise AssertionError(
            f"{dag_id}/{run_id} did not finish in {timeout:.0f}s; tasks: {self.task_states(dag_id, run_id)}"
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path)["value"]

    def extra_links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links"
        return dict(self.call("GET", path)["extra_links"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.call("GET", path, headers={"Accept": "application/json"})["content"]
        return "\n".join(
            str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content
        )

    def test_connection(self, **connection: Any) -> dict[str, Any]:
        return dict(self.call("POST", "/connections/test", json=connection))
