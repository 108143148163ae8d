"""dag.test() runs of deferrable tasks (triggers run inline) leave the same XComs as non-deferred runs.

Naturally varying fields, and only those, are normalized before comparing: the instance id (a new
instance per run; it also appears in ``url`` and in ``response.id``), Domo's ``response.createdOn`` and
``response.updatedOn`` timestamps, and EnOS's instance id inside ``instance_id``/``url`` (EnOS has no URL).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import DagRunReport

pytestmark = pytest.mark.dagtest
MODEL_ID = "f5d7bbff-0000-4000-8000-00000000d3f3"
DOMO_TIMESTAMPS = ("createdOn", "updatedOn")


def xcoms_of(report: DagRunReport, task_id: str, instance_id: str) -> dict[str, Any]:
    """The task's XComs (minus extra-link keys), with the run's instance id and Domo timestamps masked."""
    found = {key: value for (task, key, _), value in report.xcoms.items() if task == task_id}
    normalized: dict[str, Any] = json.loads(json.dumps(found).replace(instance_id, "<instance>"))
    response = normalized.get("return_value", {}).get("response")
    if isinstance(response, dict):
        for name in DOMO_TIMESTAMPS:
            if name in response:
                response[name] = "<timestamp>"
    return normalized


def test_domo_cancel_deferred_run_matches_the_sync_run(emu: Any, domo_conn: str, run_dag: Any) -> None:
    emu.control.configure(domo_cancel_delay=0.2)
    sync_id = emu.control.create_domo_instance(model_id=MODEL_ID, status="IN_PROGRESS")["id"]
    deferred_id = emu.control.create_domo_instance(model_id=MODEL_ID, status="IN_PROGRESS")["id"]

    sync = run_dag("wfcancel_test_domo_cancel_sync", {"instance_id": sync_id})
    deferred = run_dag("wfcancel_test_domo_cancel_deferred", {"instance_id": deferred_id})

    assert (sync.state, deferred.state) == ("success", "success"), (sync.task_states, deferred.task_states)
    result = deferred.xcom("cancel")
    assert (result["outcome"], result["status_at_request"], result["final_status"]) == (
        "cancelled",
        "IN_PROGRESS",
        "CANCELED",
    )
    assert deferred.xcom("cancel", "instance_id") == deferred_id
    assert deferred.pulled("cancel", "url") == result["url"]
    assert xcoms_of(deferred, "cancel", deferred_id) == xcoms_of(sync, "cancel", sync_id)
    assert emu.control.domo_instance(deferred_id)["status"] == "CANCELED"


def test_enos_trigger_deferred_run_matches_the_sync_run(emu: Any, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(enos_start_delay=0, enos_run_seconds=2.0)  # both status reads at start see RUNNING

    sync = run_dag("wfcancel_test_enos_trigger_sync", {"flow_id": 777})
    deferred = run_dag("wfcancel_test_enos_trigger_deferred", {"flow_id": 777})

    assert (sync.state, deferred.state) == ("success", "success"), (sync.task_states, deferred.task_states)
    sync_id, deferred_id = sync.xcom("trigger", "instance_id"), deferred.xcom("trigger", "instance_id")
    assert sync_id != deferred_id
    assert deferred.xcom("trigger")["final_status"] == "SUCCESS"
    assert xcoms_of(deferred, "trigger", deferred_id) == xcoms_of(sync, "trigger", sync_id)
    assert emu.control.counts()["enos.token.get"] == 1  # worker and inline trigger share the token


def test_deferred_start_that_fails_remotely_fails_the_task(emu: Any, enos_conn: str, run_dag: Any) -> None:
    emu.control.configure(enos_start_delay=0, enos_run_seconds=0.2, enos_final_status=-1)
    report = run_dag("wfcancel_test_enos_trigger_deferred", {"flow_id": 777})
    assert report.state == "failed"
    assert report.task_states == {"trigger": "failed"}
    assert report.xcom("trigger", "instance_id").startswith("777-")
