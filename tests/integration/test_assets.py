"""dag.test() runs of start operators and sensors with ``outlets``: the asset event Airflow stores carries the
remote instance in its extra, in the worker and after a deferred wait alike; a failed end emits none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DagRunReport
from tests.dags.wfcancel_assets import DOMO_ASSET, ENOS_ASSET, MODEL_ID

pytestmark = pytest.mark.dagtest
MODES = ["sync", "deferred"]


def stored_events(dag_id: str, report: DagRunReport) -> dict[str, list[dict[str, Any]]]:
    from airflow.utils.session import create_session

    from tests.airflow_compat import asset_events

    with create_session() as session:
        return asset_events(session, dag_id, report.run_id)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("service", ["domo", "enos"])
def test_start_event_names_the_instance_and_its_end(
    service: str, mode: str, emu: Any, domo_conn: str, enos_conn: str, run_dag: Any
) -> None:
    emu.control.configure(domo_start_delay=0, domo_run_seconds=0.3, enos_start_delay=0, enos_run_seconds=0.3)
    dag_id = f"wfcancel_test_assets_{service}_start_{mode}"
    report = run_dag(dag_id, {"wait": True} if service == "domo" else {"flow_id": 777})
    assert report.state == "success", report.task_states
    instance_id = report.xcom("start", "instance_id")
    url = f"{emu.base_url}/workflows/instances/{MODEL_ID}/1.0.0/{instance_id}" if service == "domo" else None
    asset, final_status = (DOMO_ASSET, "COMPLETED") if service == "domo" else (ENOS_ASSET, "SUCCESS")
    assert stored_events(dag_id, report) == {
        asset.uri: [
            {"instance_id": instance_id, "service": service, "final_status": final_status, "url": url}
        ]
    }
    assert report.xcom("start")["url"] == url  # the URL the extra link opens (EnOS has none)


def test_a_start_that_does_not_wait_emits_no_final_status(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_start_delay=0, domo_run_seconds=30)
    dag_id = "wfcancel_test_assets_domo_start_sync"
    report = run_dag(dag_id, {"wait": False})
    assert report.state == "success", report.task_states
    ((extra,),) = stored_events(dag_id, report).values()
    assert extra["final_status"] is None
    assert extra["instance_id"] == report.xcom("start", "instance_id")
    assert report.xcom("start")["status_at_start"] == "IN_PROGRESS"  # the start is in XCom, not the event


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_end_emits_no_event(
    mode: str, emu: Any, domo_conn: str, enos_conn: str, run_dag: Any
) -> None:
    emu.control.configure(
        domo_start_delay=0, domo_run_seconds=0.2, domo_final_status="FAILED", enos_start_delay=0,
        enos_run_seconds=0.2, enos_final_status=-1,
    )  # fmt: skip
    for service, conf in (("domo", {"wait": True}), ("enos", {"flow_id": 777})):
        dag_id = f"wfcancel_test_assets_{service}_start_{mode}"
        report = run_dag(dag_id, conf)
        assert report.task_states == {"start": "failed"}
        assert stored_events(dag_id, report) == {}


@pytest.mark.parametrize("mode", MODES)
def test_sensor_events_name_the_instance_they_waited_for(
    mode: str, emu: Any, domo_conn: str, enos_conn: str, run_dag: Any
) -> None:
    domo = emu.control.create_domo_instance(model_id=MODEL_ID, runs_for=0.3)
    enos = emu.control.create_enos_instance(flow_id=777, runs_for=0.3)
    domo_report = run_dag(f"wfcancel_test_assets_domo_sensor_{mode}", {"instance_id": domo["id"]})
    enos_report = run_dag(f"wfcancel_test_assets_enos_sensor_{mode}", {"instance_id": enos["instanceId"]})
    assert (domo_report.state, enos_report.state) == ("success", "success")
    url = f"{emu.base_url}/workflows/instances/{MODEL_ID}/1.0.0/{domo['id']}"
    assert stored_events(f"wfcancel_test_assets_domo_sensor_{mode}", domo_report) == {
        DOMO_ASSET.uri: [
            {"instance_id": domo["id"], "service": "domo", "final_status": "COMPLETED", "url": url}
        ]
    }
    assert stored_events(f"wfcancel_test_assets_enos_sensor_{mode}", enos_report) == {
        ENOS_ASSET.uri: [
            {"instance_id": enos["instanceId"], "service": "enos", "final_status": "SUCCESS", "url": None}
        ]
    }
