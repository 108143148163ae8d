"""The Remote instances page names the DAG run and task that started an instance: from the XCom
``instance_id`` a start operator pushed in a real ``dag.test()`` run, through the API server's app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.airflow_compat import PAGE, needs_airflow

pytestmark = [pytest.mark.dagtest, needs_airflow((3, 1), PAGE)]
DAG_ID = "wfcancel_test_run_failed"
MODEL = "f5d7bbff-0000-4000-8000-00000000d3f3"


def test_listed_instances_name_the_task_that_started_them(
    emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, client: Any, as_user: Any
) -> None:
    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    assert run.state == "success", run.task_states
    started = run.xcom("start_domo", "instance_id")
    elsewhere = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)

    response = client.get(
        "/wfcancel/api/connections/domo_default/instances", params={"model_id": MODEL}, headers=as_user("op")
    )

    rows = {row["instance_id"]: row["started_by"] for row in response.json()["instances"]}
    assert rows[elsewhere["id"]] is None
    assert rows[started] == {
        "dag_id": DAG_ID,
        "run_id": run.run_id,
        "task_id": "start_domo",
        "map_index": -1,
        "url": f"/dags/{DAG_ID}/runs/{run.run_id.replace(':', '%3A').replace('+', '%2B')}/tasks/start_domo",
    }
    # A cancel operator pushes instance_id too; only start operators count as "started by".
    enos = client.get("/wfcancel/api/connections/enos_default/instances", headers=as_user("op")).json()
    [enos_row] = [r for r in enos["instances"] if r["instance_id"] == run.xcom("start_enos", "instance_id")]
    assert enos_row["started_by"]["task_id"] == "start_enos"


def test_a_user_who_cannot_read_the_dag_is_not_told_about_it(
    emu: Any, domo_conn: str, run_dag: Any, airflow_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.session import create_session

    from airflow_provider_wfcancel.ui.starters import started_by

    emu.control.configure(enos_start_delay=0)
    run = run_dag(DAG_ID)
    started = run.xcom("start_domo", "instance_id")
    with create_session() as session:
        assert started_by(session, [started], set(), "") == {}
        assert started_by(session, [started], {"another_dag"}, "") == {}
        assert started_by(session, [started], {DAG_ID}, "/base")[started]["url"].startswith(
            f"/base/dags/{DAG_ID}/"
        )
