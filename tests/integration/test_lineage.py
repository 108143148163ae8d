"""OpenLineage facets of the start and cancel operators, as the OpenLineage provider reads them.

Each task runs with ``dag.test()`` on the emulator; then the provider's own ``ExtractorManager`` (the one
its listener uses, which picks its ``DefaultExtractor`` for operators with the OpenLineage methods) extracts
the task's metadata from the real task instance and DAG run, for the state the listener would pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import REPO, DagRunReport
from tests.dags.wfcancel_assets import DOMO_ASSET, ENOS_ASSET, INLET, MODEL_ID

pytestmark = pytest.mark.dagtest
FACET = "wfcancel_remoteInstance"


def extracted(dag_id: str, task_id: str, report: DagRunReport, state: str, *, rendered: Any = None) -> Any:
    """``ExtractorManager().extract_metadata`` for the task's instance in ``report``'s run, as the provider's
    listener calls it (``state``: ``running``, ``success`` or ``failed``; ``rendered``: the context to render
    the task's templates with first, as Airflow does before the listener's start call)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    from tests.airflow_compat import DagBag

    task = DagBag(dag_folder=str(REPO / "tests" / "dags")).get_dag(dag_id).get_task(task_id)
    if rendered is not None:
        task.render_template_fields(rendered)
    with create_session() as session:
        dagrun = session.query(DagRun).filter_by(dag_id=dag_id, run_id=report.run_id).one()
        ti = session.query(TaskInstance).filter_by(dag_id=dag_id, task_id=task_id, run_id=report.run_id).one()
        ti.task = task
        return ExtractorManager().extract_metadata(
            dagrun=dagrun, task=task, task_instance_state=TaskInstanceState(state), task_instance=ti
        )


def as_json(lineage: Any) -> dict[str, Any]:
    """The lineage as the OpenLineage client serializes it into an event."""
    from openlineage.client.serde import Serde

    return json.loads(Serde.to_json(lineage))


def facet(lineage: Any) -> dict[str, Any]:
    found: dict[str, Any] = as_json(lineage)["run_facets"][FACET]
    assert found.pop("_producer").startswith("https://github.com/")
    assert found.pop("_schemaURL").endswith("RemoteInstanceRunFacet.json#/$defs/RemoteInstanceRunFacet")
    return found


def test_the_facet_is_the_schema_it_names() -> None:
    import attrs

    from airflow_provider_wfcancel._openlineage import SCHEMA_URL, RemoteInstanceRunFacet

    schema = json.loads((REPO / "docs" / "openlineage" / "RemoteInstanceRunFacet.json").read_text())
    assert f"{schema['$id']}#/$defs/RemoteInstanceRunFacet" == SCHEMA_URL
    (_, own) = schema["$defs"]["RemoteInstanceRunFacet"]["allOf"]
    fields = {f.name for f in attrs.fields(RemoteInstanceRunFacet) if not f.name.startswith("_")}
    assert fields == set(own["properties"])
    assert set(own["required"]) == {"service", "action"}


def datasets(lineage: Any) -> tuple[list[str], list[str]]:
    document = as_json(lineage)
    return (
        [f"{d['namespace']}:{d['name']}" for d in document["inputs"]],
        [f"{d['namespace']}:{d['name']}" for d in document["outputs"]],
    )


def test_domo_start_facets(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_start_delay=0, domo_run_seconds=0.2)
    dag_id = "wfcancel_test_assets_domo_start_sync"
    report = run_dag(dag_id, {"wait": True})
    instance_id = report.xcom("start", "instance_id")

    on_start = extracted(dag_id, "start", report, "running")
    on_complete = extracted(dag_id, "start", report, "success")

    assert facet(on_start) == {"service": "domo", "action": "start"}  # no instance yet
    assert facet(on_complete) == {
        "service": "domo",
        "action": "start",
        "instanceId": instance_id,
        "url": f"{emu.base_url}/workflows/instances/{MODEL_ID}/1.0.0/{instance_id}",
        "finalStatus": "COMPLETED",
    }
    expected = (["file:/data/wfcancel/inputs.csv"], ["file:/data/wfcancel/domo_sales.csv"])
    assert datasets(on_start) == datasets(on_complete) == expected
    assert INLET.uri.endswith(expected[0][0].split(":", 1)[1])
    assert DOMO_ASSET.uri.endswith(expected[1][0].split(":", 1)[1])


def test_enos_start_facets_deferred(emu: Any, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(enos_start_delay=0, enos_run_seconds=0.2)
    dag_id = "wfcancel_test_assets_enos_start_deferred"
    report = run_dag(dag_id, {"flow_id": 777})

    on_complete = extracted(dag_id, "start", report, "success")

    assert facet(on_complete) == {
        "service": "enos",
        "action": "start",
        "instanceId": report.xcom("start", "instance_id"),
        "finalStatus": "SUCCESS",
    }  # EnOS has no instance page: no url
    assert datasets(on_complete) == ([], [f"file:{ENOS_ASSET.uri.removeprefix('file://')}"])


def test_a_failed_start_names_the_status_it_ended_with(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_start_delay=0, domo_run_seconds=0.2, domo_final_status="FAILED")
    dag_id = "wfcancel_test_assets_domo_start_sync"
    report = run_dag(dag_id, {"wait": True})
    assert report.task_states == {"start": "failed"}

    on_failure = extracted(dag_id, "start", report, "failed")

    assert facet(on_failure)["instanceId"] == report.xcom("start", "instance_id")
    assert facet(on_failure)["finalStatus"] == "FAILED"


@pytest.mark.parametrize("service", ["domo", "enos"])
def test_cancel_facets(service: str, emu: Any, domo_conn: str, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_cancel_delay=0.1)
    if service == "domo":
        instance_id = emu.control.create_domo_instance(model_id=MODEL_ID, status="IN_PROGRESS")["id"]
        final_status, outlet = "CANCELED", DOMO_ASSET
    else:
        instance_id = emu.control.create_enos_instance(flow_id=777, runs_for=30)["instanceId"]
        final_status, outlet = "CANCEL", ENOS_ASSET
    dag_id = f"wfcancel_test_lineage_{service}_cancel"
    report = run_dag(dag_id, {"instance_id": instance_id})
    assert report.state == "success", report.task_states
    result = report.xcom("cancel")

    on_start = extracted(
        dag_id, "cancel", report, "running", rendered={"params": {"instance_id": instance_id}}
    )
    on_complete = extracted(dag_id, "cancel", report, "success")

    assert facet(on_start) == {"service": service, "action": "cancel", "instanceId": instance_id}
    expected = {
        "service": service,
        "action": "cancel",
        "instanceId": instance_id,
        "finalStatus": final_status,
    }
    assert facet(on_complete) == {**expected, **({"url": result["url"]} if result["url"] else {})}
    assert datasets(on_complete)[1] == [f"file:{outlet.uri.removeprefix('file://')}"]
    assert result["final_status"] == final_status


def test_no_secret_reaches_a_facet(emu: Any, domo_conn: str, enos_conn: str, run_dag: Any) -> None:
    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN, DEFAULT_ENOS_APP_SECRET

    emu.control.configure(domo_start_delay=0, domo_run_seconds=0.1, enos_start_delay=0, enos_run_seconds=0.1)
    documents = []
    for dag_id, conf in (
        ("wfcancel_test_assets_domo_start_sync", {"wait": True}),
        ("wfcancel_test_assets_enos_start_sync", {"flow_id": 777}),
    ):
        report = run_dag(dag_id, conf)
        for state in ("running", "success"):
            documents.append(json.dumps(as_json(extracted(dag_id, "start", report, state))))
    text = "\n".join(documents)
    assert FACET in text
    assert DEFAULT_DOMO_TOKEN not in text
    assert DEFAULT_ENOS_APP_SECRET not in text


def test_importing_the_operators_imports_no_openlineage() -> None:
    """Only the methods import OpenLineage (Airflow's provider discovery may read the OpenLineage
    provider's info when it is installed; that is Airflow's, not ours)."""
    code = (
        "import sys\n"
        "import airflow_provider_wfcancel.operators.domo, airflow_provider_wfcancel.operators.enos\n"
        "import airflow_provider_wfcancel.sensors.domo, airflow_provider_wfcancel.sensors.enos\n"
        "import airflow_provider_wfcancel.operators.bulk, airflow_provider_wfcancel.assets\n"
        "print([m for m in sys.modules if m.split('.')[0] == 'openlineage'\n"
        "       or m.startswith(('airflow.providers.openlineage.extractors', 'airflow.providers.openlineage.plugins',\n"
        "                        'airflow_provider_wfcancel._openlineage'))])\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a constant script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr[-2000:]
