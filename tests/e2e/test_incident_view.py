"""The Remote instances page's incident view (issue 29) in Chromium against the real deployment.

A run of ``domo_start_then_wait`` starts a Domo instance and waits for it (deferred). The admin opens the
page, picks ``domo_default`` from the connections offered and lists the model's instances (the run's own
shows the task that started it); the incident view at the top shows the same instance, still running,
with its DAG run and task, whatever connection is picked; the admin filters it by status, cancels it
there and watches it turn CANCELED. The audit log names the admin, the instance and the run that started
it; the run then fails on the cancelled instance, as the DAG means to.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Page, expect

from .api import AirflowApi
from .browser import Shots
from .processes import wait_until
from .stack import ADMIN_USER
from .test_remote_instances import EVENT, open_page

DAG_ID = "domo_start_then_wait"
MODEL = "3e9d0c4b-1f2a-4b6c-8d7e-0a1b2c3d4e5f"


def test_an_instance_airflow_started_is_found_with_its_run_and_cancelled_from_the_incident_view(
    page: Page, shots: Shots, api: AirflowApi, control: Any
) -> None:
    run_id = api.trigger(DAG_ID, conf={"model_id": MODEL})
    instance_id = str(
        wait_until(
            lambda: api.xcom(DAG_ID, run_id, "start", "instance_id"),
            timeout=120,
            what="the start task to push its instance id",
        )
    )
    wait_until(
        lambda: control.domo_instance(instance_id)["status"] == "IN_PROGRESS",
        timeout=30,
        what="the instance to run",
    )
    run_url = f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/start"

    frame = open_page(page)
    frame.get_by_label("Your connections").select_option("domo_default")
    expect(frame.get_by_label("Connection", exact=True)).to_have_value("domo_default")
    frame.get_by_label("Model id", exact=True).fill(MODEL)
    frame.get_by_role("button", name="List instances").click()
    listed = frame.locator("#results").locator(f"tr[data-instance-id='{instance_id}']")
    expect(listed.locator(".badge")).to_have_text("IN_PROGRESS")
    expect(listed.get_by_role("link", name=f"{DAG_ID} / {run_id} / start")).to_be_visible()
    shots("picked-connection")

    incident = frame.locator("#incident")
    frame.get_by_role("button", name="Refresh").click()
    mine = incident.locator(f"tr[data-instance-id='{instance_id}']")
    expect(mine).to_contain_text("domo_default")
    expect(mine.locator(".badge")).to_have_text("IN_PROGRESS")
    link = mine.get_by_role("link", name=f"{DAG_ID} / {run_id} / start")
    expect(link).to_have_attribute("href", re.compile(re.escape(run_url) + "$"))
    frame.get_by_label("Status", exact=True).select_option("IN_PROGRESS")
    expect(mine).to_be_visible()
    shots("incident-view")

    mine.get_by_role("checkbox").check()
    cancel = incident.get_by_role("button", name=re.compile(r"^Cancel selected"))
    expect(cancel).to_have_text("Cancel selected (1)")
    cancel.click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel 1 instance(s) through domo_default?")
    expect(dialog).to_contain_text(f"{DAG_ID} / {run_id} / start")
    dialog.get_by_role("button", name="Cancel instances").click()
    expect(mine.locator(".badge")).to_have_text("CANCELED", timeout=30_000)
    shots("incident-cancelled")

    assert control.domo_instance(instance_id)["status"] == "CANCELED"
    logs = api.call("GET", "/eventLogs", params={"event": EVENT, "limit": 100})["event_logs"]
    [entry] = [e for e in logs if json.loads(e["extra"])["instance_id"] == instance_id]
    extra = json.loads(entry["extra"])
    assert entry["owner"] == ADMIN_USER
    assert (extra["connection_id"], extra["source"]) == ("domo_default", "Remote instances page")
    assert extra["started_by"] == {"dag_id": DAG_ID, "run_id": run_id, "task_id": "start"}
    state, _ = api.wait_for_run(DAG_ID, run_id)
    assert state == "failed"  # the sensor fails on the cancelled instance, as the DAG means to
