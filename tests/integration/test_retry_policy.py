"""``WfCancelRetryPolicy`` through Airflow's own task runner (``dag.test()``, tests/dags/wfcancel_retry_policy.py):
an auth failure fails the task at its first try although it has retries left; a rate limit is retried
after the service's ``Retry-After``, which Airflow stores on the failed try."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from tests.airflow_compat import needs_airflow
from tests.conftest import connection_json

pytestmark = [
    pytest.mark.dagtest,
    needs_airflow((3, 3), "task retry policies"),
]


def tries(run_id: str, dag_id: str) -> list[tuple[int, str, float | None, str | None]]:
    """Each finished try of the run's ``cancel`` task: number, state, the delay and reason a policy set."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    with create_session() as session:
        rows: list[Any] = [
            *session.query(TaskInstanceHistory).filter_by(dag_id=dag_id, run_id=run_id, task_id="cancel"),
            *session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id="cancel"),
        ]
        return sorted(
            (row.try_number, str(row.state), row.retry_delay_override, row.retry_reason) for row in rows
        )


@pytest.fixture
def bad_token(emu: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_BAD_TOKEN", connection_json("domo", host=emu.base_url, password="not-a-token")
    )
    return "domo_bad_token"


@pytest.mark.parametrize(
    ("dag_id", "expected_tries"), [("wfcancel_test_retry_policy", 1), ("wfcancel_test_retry_default", 4)]
)
def test_an_auth_failure_is_not_retried_under_the_policy(
    run_dag: Any, emu: Any, bad_token: str, dag_id: str, expected_tries: int
) -> None:
    instance = emu.control.create_domo_instance(status="IN_PROGRESS")
    report = run_dag(dag_id, conf={"instance_id": instance["id"], "conn_id": bad_token})
    assert report.task_states == {"cancel": "failed"}
    seen = tries(report.run_id, dag_id)
    assert [number for number, *_ in seen] == list(range(1, expected_tries + 1))
    assert all(delay is None for _, _, delay, _ in seen)  # failed at once, or the task's own retry_delay
    assert emu.control.counts()["domo.cancel"] == expected_tries


def test_a_rate_limit_is_retried_after_the_services_retry_after(
    run_dag: Any, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_NO_RETRY",
        connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN, extra={"max_retries": 0}),
    )
    instance = emu.control.create_domo_instance(status="IN_PROGRESS")
    emu.control.inject_fault("domo.cancel", status=429, retry_after=2, count=1)
    report = run_dag(
        "wfcancel_test_retry_policy", conf={"instance_id": instance["id"], "conn_id": "domo_no_retry"}
    )
    assert report.task_states == {"cancel": "success"}
    first, second = tries(report.run_id, "wfcancel_test_retry_policy")
    number, _, delay, reason = first
    assert (number, delay) == (1, 2.0)  # the service's Retry-After, stored by Airflow on the failed try
    assert "rate-limiting: retry in 2 s as its Retry-After asked" in (reason or "")
    assert second[:2] == (2, "success")
    assert emu.control.counts()["domo.cancel"] == 2
