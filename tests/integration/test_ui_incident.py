"""The Remote instances page's incident view (``GET /wfcancel/api/incident``) through the API server's own
app: what a real ``dag.test()`` run's start tasks started and still runs, across two connections, with the
DAG run and task of each; filtered by status; cancelled (and audited) through the page's one cancel route.
Records are forged as a low-privilege user would, over REST."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from airflow_provider_wfcancel._audit import PAGE_EVENT as AUDIT_EVENT
from airflow_provider_wfcancel._provenance import REFUSED
from airflow_provider_wfcancel.ui import CSRF_HEADER
from tests.airflow_api import team_connection
from tests.airflow_compat import PAGE, needs_airflow
from tests.reliability.provenance_cases import OTHER_MODEL

pytestmark = [pytest.mark.dagtest, needs_airflow((3, 1), PAGE)]
DAG_ID = "wfcancel_test_run_failed"
INCIDENT = "/wfcancel/api/incident"
STARTS = ("start_domo", "start_enos", "start_domo_unrecorded")


@pytest.fixture
def run(emu: Any, domo_conn: str, enos_conn: str, run_dag: Any, airflow_db: Any) -> Any:
    """A run of the DAG whose three start tasks started two Domo instances and one EnOS instance, with the
    DAG in the metadata DB as the DAG processor writes it (the view reads the serialized task)."""
    from tests.airflow_compat import DagBag, store_serialized_dag

    store_serialized_dag(DagBag(dag_folder=str(airflow_db)).get_dag(DAG_ID))
    emu.control.configure(enos_start_delay=0, domo_start_delay=0, domo_cancel_delay=0)  # statuses hold still
    report = run_dag(DAG_ID)
    assert report.state == "success", report.task_states
    return report


def rows_by_task(answer: dict[str, Any], run_id: str) -> dict[str, dict[str, Any]]:
    return {
        row["started_by"]["task_id"]: row
        for row in answer["instances"]
        if row["started_by"]["run_id"] == run_id
    }


def test_running_instances_started_by_a_run_are_listed_across_connections(
    run: Any, emu: Any, client: Any, as_user: Any
) -> None:
    outside = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)["id"]
    answer = client.get(INCIDENT, headers=as_user("op"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    mine = rows_by_task(body, run.run_id)
    assert set(mine) == set(STARTS)
    for task_id in STARTS:
        row = mine[task_id]
        assert row["instance_id"] == run.xcom(task_id, "instance_id")
        assert row["connection_id"] == ("enos_default" if task_id == "start_enos" else "domo_default")
        assert (row["is_terminal"], row["can_cancel"]) == (False, True)
        assert row["started_by"]["dag_id"] == DAG_ID
        assert row["started_by"]["url"].startswith(f"/dags/{DAG_ID}/runs/")
        assert row["started_by"]["url"].endswith(f"/tasks/{task_id}")
    assert outside not in {row["instance_id"] for row in body["instances"]}  # not started by Airflow
    assert {"domo_default", "enos_default"} <= set(body["connections"])
    # (a connection another test's DAG used and this one does not define would be named here with its error)
    assert [p for p in body["problems"] if p["connection_id"] in ("domo_default", "enos_default")] == []


def test_a_user_who_may_not_read_a_connection_sees_nothing_of_it(
    run: Any, client: Any, as_user: Any, auth_manager: Any
) -> None:
    auth_manager.denied.add(("op", "enos_default"))
    body = client.get(INCIDENT, headers=as_user("op")).json()
    assert set(rows_by_task(body, run.run_id)) == {"start_domo", "start_domo_unrecorded"}
    assert "enos_default" not in body["connections"]
    assert all(row["connection_id"] != "enos_default" for row in body["instances"])
    listed = client.get("/wfcancel/api/connections", headers=as_user("op")).json()["connections"]
    assert "enos_default" not in [c["connection_id"] for c in listed]
    # A viewer may read no connection (SimpleAuthManager): the view is empty, and no service was asked.
    viewer = client.get(INCIDENT, headers=as_user("viewer")).json()
    assert (viewer["instances"], viewer["connections"]) == ([], [])


def test_status_filter(run: Any, client: Any, as_user: Any) -> None:
    body = client.get(INCIDENT, headers=as_user("op")).json()
    mine = rows_by_task(body, run.run_id)
    status_of = {task_id: row["status"] for task_id, row in mine.items()}
    assert status_of["start_domo"] != status_of["start_enos"]  # Domo's and EnOS' words differ
    assert body["statuses"] == dict(Counter(str(row["status"]) for row in body["instances"]))
    enos_only = client.get(INCIDENT, params={"status": status_of["start_enos"]}, headers=as_user("op")).json()
    assert set(rows_by_task(enos_only, run.run_id)) == {"start_enos"}
    assert enos_only["statuses"] == body["statuses"]  # what there is to filter on, whatever is filtered
    every = ",".join(sorted({str(s) for s in status_of.values()}))
    both = client.get(INCIDENT, params={"status": every}, headers=as_user("op"))
    assert set(rows_by_task(both.json(), run.run_id)) == set(STARTS)
    bad = client.get(INCIDENT, params={"status": "<script>"}, headers=as_user("op"))
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("status must be")


def test_a_cancel_from_the_view_is_audited_and_a_finished_instance_leaves_it(
    run: Any, emu: Any, client: Any, as_user: Any
) -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    row = rows_by_task(client.get(INCIDENT, headers=as_user("op")).json(), run.run_id)["start_domo"]
    cancelled = client.post(
        f"/wfcancel/api/connections/{row['connection_id']}/cancel",
        json={"instance_ids": [row["instance_id"]], "wait": True, "timeout": 10},
        headers=as_user("op"),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["counts"]["cancelled"] == 1
    with create_session() as session:
        extras = [json.loads(r.extra) for r in session.query(Log).filter(Log.event == AUDIT_EVENT)]
    [audit] = [e for e in extras if e["instance_id"] == row["instance_id"]]
    assert (audit["outcome"], audit["connection_id"]) == ("cancelled", "domo_default")
    assert audit["started_by"] == {"dag_id": DAG_ID, "run_id": run.run_id, "task_id": "start_domo"}

    after = rows_by_task(client.get(INCIDENT, headers=as_user("op")).json(), run.run_id)
    assert set(after) == {"start_enos", "start_domo_unrecorded"}  # the finished instance is not shown


def test_a_browser_cancel_needs_the_same_origin_proof(run: Any, client: Any, token_for: Any) -> None:
    client.cookies.set("_token", token_for("op"))
    row = rows_by_task(client.get(INCIDENT).json(), run.run_id)["start_enos"]
    refused = client.post(
        "/wfcancel/api/connections/enos_default/cancel", json={"instance_ids": [row["instance_id"]]}
    )
    assert refused.status_code == 403
    accepted = client.post(
        "/wfcancel/api/connections/enos_default/cancel",
        json={"instance_ids": [row["instance_id"]]},
        headers={CSRF_HEADER: "1"},
    )
    assert accepted.status_code == 200, accepted.text


def forge_instance_id(client: Any, headers: dict[str, str], run_id: str, task_id: str, value: Any) -> None:
    url = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
    response = client.patch(f"{url}/instance_id", json={"value": value}, headers=headers)
    assert response.status_code == 200, response.text


@needs_airflow((3, 2), "REST-written XCom entries that hold the value sent")
def test_a_forged_record_is_not_shown(run: Any, emu: Any, client: Any, as_user: Any) -> None:
    victim = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)["id"]
    forge_instance_id(client, as_user("user"), run.run_id, "start_domo_unrecorded", victim)
    refused_before = REFUSED["incident_view"]

    body = client.get(INCIDENT, headers=as_user("op")).json()

    shown = {row["instance_id"] for row in body["instances"]}
    assert victim not in shown  # running, of another model than the task starts
    assert set(rows_by_task(body, run.run_id)) == {"start_domo", "start_enos"}
    forge_instance_id(client, as_user("user"), run.run_id, "start_domo_unrecorded", "../../x")
    body = client.get(INCIDENT, headers=as_user("op")).json()
    assert set(rows_by_task(body, run.run_id)) == {"start_domo", "start_enos"}
    assert body["refused_records"] >= 1
    assert REFUSED["incident_view"] > refused_before


@pytest.fixture
def domo_default_in_team_a(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``[core] multi_team`` on; ``domo_default`` is also a metadata-DB connection of team_a (whose row decides
    the team, as when Airflow uses it)."""
    with team_connection(monkeypatch, "domo_default", emu.base_url):
        yield


@needs_airflow((3, 2), "connection teams ([core] multi_team)")
def test_another_teams_connection_is_left_out_as_airflow_scopes_it(
    run: Any, domo_default_in_team_a: Any, client: Any, as_user: Any, auth_manager: Any
) -> None:
    bob = client.get(INCIDENT, headers=as_user("bob", ["team_b"])).json()
    assert "domo_default" not in bob["connections"]
    assert set(rows_by_task(bob, run.run_id)) == {"start_enos"}
    alice = client.get(INCIDENT, headers=as_user("alice", ["team_a"])).json()
    assert set(rows_by_task(alice, run.run_id)) == set(STARTS)
    assert ("alice", "GET", "domo_default", "team_a") in auth_manager.asked
    assert ("bob", "GET", "domo_default", "team_a") in auth_manager.asked
