"""Writing a start task's task state store record as another user would: over REST, through the API
server's own app, as a user with the ``user`` role (DAG write, no connection use)."""

from __future__ import annotations

from typing import Any


def write_before_first_read(
    client: Any, as_user: Any, mocker: Any, recorder: Any, dag_id: str, task_id: str, value: Any
) -> None:
    """Just before ``recorder``'s first read of its record (``earlier``) in the newest run of ``dag_id``,
    write ``value`` under ``recorder.key`` for ``task_id`` over REST."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    original = recorder.earlier
    written: list[int] = []

    def earlier(self: Any) -> Any:
        if not written:
            with create_session() as session:
                run = session.query(DagRun).filter_by(dag_id=dag_id).order_by(DagRun.id.desc()).first()
                run_id = run.run_id
            key = recorder.key
            url = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/state-store/{key}"
            response = client.put(url, json={"value": value}, headers=as_user("user"))
            assert response.status_code == 204, response.text
            written.append(1)
        return original(self)

    mocker.patch.object(recorder, "earlier", autospec=True, side_effect=earlier)
