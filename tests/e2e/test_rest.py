"""The provider inside a real Airflow deployment, driven the way users' automation drives it: the REST API.

Runs in both profiles (``standalone`` and ``celery``); see ``stack.py`` for what each deploys.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wfcancel import __version__
from airflow_provider_wfcancel.emulator import (
    DEFAULT_DOMO_TOKEN,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    airflow_connections,
)

from .api import AirflowApi
from .processes import wait_until
from .stack import HEALTH_PARTS, AirflowStack


def cancels_of(control: Any, route: str, instance_id: str) -> list[dict[str, Any]]:
    """Cancel requests the emulator received for ``instance_id`` (the id is in the path or the body)."""
    return [r for r in control.requests(route) if instance_id in r["path"] or instance_id in str(r["body"])]


def test_every_component_is_healthy_and_knows_the_provider(stack: AirflowStack, api: AirflowApi) -> None:
    health = api.call("GET", "/monitor/health")
    assert {part: health[part]["status"] for part in HEALTH_PARTS} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "healthy",
    }
    providers = {p["package_name"]: p["version"] for p in api.call("GET", "/providers")["providers"]}
    assert providers["airflow-provider-wfcancel"] == __version__


def test_domo_cancel_manual_triggered_over_rest(stack: AirflowStack, api: AirflowApi, control: Any) -> None:
    running = control.create_domo_instance(model_name="Nightly Load", status="IN_PROGRESS")
    run_id = api.trigger("domo_cancel_manual", {"instance_id": running["id"], "wait": True})

    state, _ = api.wait_for_run("domo_cancel_manual", run_id, check=stack.check_running)

    assert state == "success", api.task_states("domo_cancel_manual", run_id)
    result = api.xcom("domo_cancel_manual", run_id, "cancel")
    url = f"{control.base_url}/workflows/instances/{running['modelId']}/{running['modelVersion']}/{running['id']}"
    assert {
        k: result[k]
        for k in ("service", "instance_id", "outcome", "status_at_request", "final_status", "url")
    } == {
        "service": "domo",
        "instance_id": running["id"],
        "outcome": "cancelled",
        "status_at_request": "IN_PROGRESS",
        "final_status": "CANCELED",
        "url": url,
    }
    assert (
        api.xcom("domo_cancel_manual", run_id, "report")
        == f"domo {running['id']}: cancelled (final CANCELED)"
    )
    assert api.extra_links("domo_cancel_manual", run_id, "cancel") == {"Domo Workflow Instance": url}
    assert control.domo_instance(running["id"])["status"] == "CANCELED"
    assert len(cancels_of(control, "domo.cancel", running["id"])) == 1
    assert run_id in stack.worker_log()  # a real worker of this profile's executor ran it


def test_enos_cancel_manual_triggered_over_rest(stack: AirflowStack, api: AirflowApi, control: Any) -> None:
    instance_id = control.create_enos_instance(status=2)["instanceId"]
    run_id = api.trigger("enos_cancel_manual", {"flow_instance_id": instance_id, "wait": True})

    state, _ = api.wait_for_run("enos_cancel_manual", run_id, check=stack.check_running)

    assert state == "success", api.task_states("enos_cancel_manual", run_id)
    result = api.xcom("enos_cancel_manual", run_id, "cancel")
    assert {k: result[k] for k in ("service", "instance_id", "outcome", "final_status")} == {
        "service": "enos",
        "instance_id": instance_id,
        "outcome": "cancelled",
        "final_status": "CANCEL",
    }
    assert {k: result["response"][k] for k in ("code", "msg", "data")} == {"code": 0, "msg": "OK", "data": ""}
    assert api.xcom("enos_cancel_manual", run_id, "report") == f"enos {instance_id}: cancelled (final CANCEL)"
    assert control.enos_instance(instance_id)["statusDesc"] == "CANCEL"
    assert len(cancels_of(control, "enos.flowinstance.cancel", instance_id)) == 1


def test_deferrable_cancel_waits_in_the_triggerer(stack: AirflowStack, api: AirflowApi, control: Any) -> None:
    dag_id = "wfcancel_test_domo_cancel_deferred"
    running = control.create_domo_instance(status="IN_PROGRESS")
    run_id = api.trigger(dag_id, {"instance_id": running["id"]})

    state, task_states_seen = api.wait_for_run(dag_id, run_id, check=stack.check_running)

    assert state == "success", api.task_states(dag_id, run_id)
    assert "deferred" in task_states_seen  # the task gave up its worker slot while Domo finished cancelling
    result = api.xcom(dag_id, run_id, "cancel")
    assert (result["outcome"], result["final_status"]) == ("cancelled", "CANCELED")
    assert control.domo_instance(running["id"])["status"] == "CANCELED"
    # The task log served by the API includes what the trigger logged while it polled in the triggerer.
    task_log = api.task_log(dag_id, run_id, "cancel")
    assert f"Domo instance {running['id']} is CANCELED" in task_log
    assert "Trigger fired event" in task_log


@pytest.mark.parametrize(
    ("dag_id", "started_by", "route", "remote_status"),
    [
        ("domo_failure_cleanup", "start", "domo.cancel", lambda c, i: c.domo_instance(i)["status"]),
        (
            "enos_failure_cleanup",
            "trigger",
            "enos.flowinstance.cancel",
            lambda c, i: c.enos_instance(i)["statusDesc"],
        ),
    ],
    ids=["domo", "enos"],
)
def test_failure_callbacks_cancel_the_started_instance(
    stack: AirflowStack,
    api: AirflowApi,
    control: Any,
    dag_id: str,
    started_by: str,
    route: str,
    remote_status: Any,
) -> None:
    run_id = api.trigger(dag_id)

    state, _ = api.wait_for_run(dag_id, run_id, check=stack.check_running)

    assert state == "failed"
    assert api.task_states(dag_id, run_id) == {started_by: "success", "transform": "failed"}
    instance_id = api.xcom(dag_id, run_id, started_by, "instance_id")
    # Two callbacks cancel: the task's (in the worker) and the DAG's (in the DAG processor, a bit later).
    wait_until(
        lambda: len(cancels_of(control, route, instance_id)) >= 2,
        timeout=60,
        what=f"the task- and DAG-level callbacks of {dag_id} to cancel {instance_id}",
    )
    assert remote_status(control, instance_id) in {"CANCELED", "CANCEL"}


def _started_and_waiting(
    api: AirflowApi, dag_id: str, run_id: str, check: Any, *, waiting: str = "running"
) -> str:
    """The instance the run's ``start`` task started, once ``wait`` is ``waiting`` for it (a deferrable
    sensor: ``deferred``; while it is still ``running`` it writes XComs, and on SQLite a state change sent
    then can fail on the database lock, which is not what these tests are about)."""
    wait_until(
        lambda: (check(), api.task_states(dag_id, run_id).get("wait") == waiting)[1],
        timeout=120,
        what=f"{dag_id}/{run_id} to start its instance and wait for it",
    )
    instance_id: str = api.xcom(dag_id, run_id, "start", "instance_id")
    return instance_id


def test_a_run_marked_failed_over_rest_cancels_what_its_finished_start_task_started(
    stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    """No callback fires for a person's state change; the provider's listener in the API server does."""
    dag_id = "domo_deadline_cleanup"
    run_id = api.trigger(dag_id)
    instance_id = _started_and_waiting(api, dag_id, run_id, stack.check_running, waiting="deferred")
    assert api.task_states(dag_id, run_id)["start"] == "success"

    api.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})

    wait_until(
        lambda: cancels_of(control, "domo.cancel", instance_id),
        timeout=60,
        what=f"the API server's listener to cancel {instance_id}",
    )
    assert api.run_state(dag_id, run_id) == "failed"
    wait_until(
        lambda: control.domo_instance(instance_id)["status"] == "CANCELED",
        timeout=30,
        what=f"{instance_id} to finish cancelling",
    )
    assert len(cancels_of(control, "domo.cancel", instance_id)) == 1


def test_a_missed_deadline_cancels_what_the_run_started(
    stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    """The scheduler sees the 20-second deadline pass; the triggerer runs the AsyncCallback, which reads
    the start task's XCom and cancels; the waiting task then sees the instance end."""
    dag_id = "wfcancel_test_deadline"
    run_id = api.trigger(dag_id)
    instance_id = _started_and_waiting(api, dag_id, run_id, stack.check_running)

    state, _ = api.wait_for_run(dag_id, run_id, timeout=180, check=stack.check_running)

    assert state == "success", api.task_states(dag_id, run_id)
    assert api.xcom(dag_id, run_id, "wait") == "CANCELED"
    assert len(cancels_of(control, "domo.cancel", instance_id)) == 1


def _rest_connection(control: Any, conn_type: str, connection_id: str, **overrides: Any) -> dict[str, Any]:
    """The emulator connection of ``conn_type`` as the REST API takes it (``extra`` as a JSON string)."""
    connection = {**airflow_connections(control.base_url)[f"{conn_type}_default"], **overrides}
    if "extra" in connection:
        connection["extra"] = json.dumps(connection["extra"])
    return {"connection_id": connection_id, **connection}


def _domo_connection(control: Any, token: str) -> dict[str, Any]:
    return _rest_connection(control, "domo", "domo_e2e", password=token)


def _enos_connection(control: Any, secret: str) -> dict[str, Any]:
    return _rest_connection(control, "enos", "enos_e2e", password=secret)


def test_connection_test_endpoint_tells_good_from_bad(api: AirflowApi, control: Any) -> None:
    domo_good = api.test_connection(**_domo_connection(control, DEFAULT_DOMO_TOKEN))
    domo_bad = api.test_connection(**_domo_connection(control, "not-a-domo-token"))
    enos_good = api.test_connection(**_enos_connection(control, DEFAULT_ENOS_APP_SECRET))
    enos_bad = api.test_connection(**_enos_connection(control, "not-the-secret"))

    assert domo_good["status"] is True
    assert domo_good["message"].startswith(f"Connected to Domo at {control.base_url}")
    assert domo_bad["status"] is False
    assert domo_bad["message"].startswith("Credentials rejected by Domo")
    assert "not-a-domo-token" not in domo_bad["message"]
    assert enos_good == {
        "status": True,
        "message": f"Connected to EnOS at {control.base_url}: the keys are valid and user {DEFAULT_ENOS_USER_ID} "
        f"in organization {DEFAULT_ENOS_ORG_ID} can use the Batch Processing Service",
    }
    assert enos_bad["status"] is False
    assert enos_bad["message"].startswith("Credentials rejected by EnOS: EnOS rejected the Secret Key")
    assert "not-the-secret" not in enos_bad["message"]


def test_a_connection_saved_in_the_metadata_db_reaches_the_worker(
    stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    api.call("POST", "/connections", json=_rest_connection(control, "domo", "domo_from_db"))
    running = control.create_domo_instance(status="IN_PROGRESS")
    run_id = api.trigger(
        "domo_cancel_manual", {"instance_id": running["id"], "domo_conn_id": "domo_from_db", "wait": False}
    )

    state, _ = api.wait_for_run("domo_cancel_manual", run_id, check=stack.check_running)

    assert state == "success", api.task_states("domo_cancel_manual", run_id)
    assert api.xcom("domo_cancel_manual", run_id, "cancel")["outcome"] == "cancel_requested"
    assert api.call("GET", "/connections/domo_from_db")["password"] != DEFAULT_DOMO_TOKEN  # masked by the API
    assert len(cancels_of(control, "domo.cancel", running["id"])) == 1


def test_no_component_log_contains_a_secret(stack: AirflowStack) -> None:
    """Runs last: every Airflow process and task log of the session, scanned for the connections' secrets."""
    secrets = {DEFAULT_DOMO_TOKEN, DEFAULT_ENOS_APP_SECRET, "not-a-domo-token", "not-the-secret"}
    airflow_logs = [p for p in stack.logs.rglob("*") if p.is_file() and p.name not in stack.non_airflow_logs]
    assert len(airflow_logs) > len(stack.processes)  # component logs plus the task logs
    leaks = {
        (str(path.relative_to(stack.logs)), secret)
        for path in airflow_logs
        for secret in secrets
        if secret in path.read_text(errors="replace")
    }
    assert leaks == set()
