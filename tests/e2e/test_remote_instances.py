"""Browse > Remote instances (issue 21) in Chromium against the real deployment.

- The admin opens the page from Airflow's navigation, lists running Domo and EnOS instances, cancels two
  Domo instances (select, Cancel, confirm) and watches them turn CANCELED; the audit log (REST and the
  Audit Log page) shows both cancels with the admin's name.
- The viewer (SimpleAuthManager role ``viewer``) sees the page but neither connections nor a Cancel button,
  and the API refuses a cancel made with the viewer's session.

Screenshots land in ``<artifacts>/screenshots``; with ``E2E_UPDATE_SCREENSHOT=1`` the one after the cancels
also replaces ``docs/remote-instances.png``, the README's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

from .api import AirflowApi
from .browser import (
    Shots,
)
from .stack import ADMIN_USER, REPO

EVENT = "wfcancel_cancel_instance"
MODEL = "7c3e1b52-6a0d-4f8e-9b21-5d4c3a2b1e0f"
#: The README's screenshot, refreshed by this suite with E2E_UPDATE_SCREENSHOT=1.
README_SHOT = REPO / "docs" / "remote-instances.png"


def open_page(page: Page) -> FrameLocator:
    """Browse > Remote instances, as a user gets there; the page is Airflow's frame around the plugin's."""
    page.goto("/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Remote instances").click()
    expect(page).to_have_url(re.compile(r"/plugin/wfcancel_remote_instances"))
    frame = page.frame_locator("iframe[title='Remote instances']")
    expect(frame.get_by_role("heading", name="Remote instances")).to_be_visible()
    return frame


def list_instances(frame: FrameLocator, conn_id: str, **filters: str) -> None:
    frame.get_by_label("Connection", exact=True).fill(conn_id)
    for label, value in filters.items():
        frame.get_by_label(label, exact=True).fill(value)
    frame.get_by_role("button", name="List instances").click()


def row(frame: FrameLocator, instance_id: str) -> Any:
    return frame.locator(f"tr[data-instance-id='{instance_id}']")


def test_admin_lists_and_cancels_two_instances_and_the_audit_log_names_them(
    page: Page, shots: Shots, api: AirflowApi, control: Any
) -> None:
    first, second, untouched = (
        control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL, model_name="NightlyLoad")
        for _ in range(3)
    )
    model_ids = {first["id"], second["id"], untouched["id"]}
    earlier = len(api.call("GET", "/eventLogs", params={"event": EVENT, "limit": 100})["event_logs"])
    flow = control.create_enos_instance(flow_id=3377, flow_name="refinery_hourly", status=2)

    frame = open_page(page)
    list_instances(frame, "enos_default", **{"Flow id": "3377"})
    expect(row(frame, flow["instanceId"]).locator(".badge")).to_have_text("RUNNING")
    expect(row(frame, flow["instanceId"])).to_contain_text("refinery_hourly")
    shots("enos-running")

    frame.get_by_label("Flow id", exact=True).fill("")
    list_instances(frame, "domo_default", **{"Model id": MODEL})
    for instance in (first, second, untouched):
        expect(row(frame, instance["id"]).locator(".badge")).to_have_text("IN_PROGRESS")
    expect(row(frame, first["id"])).to_contain_text("NightlyLoad")
    expect(row(frame, first["id"]).get_by_role("link", name="Open in Domo")).to_have_attribute(
        "href", re.compile(rf"/workflows/instances/{MODEL}/.+/{first['id']}$")
    )
    shots("domo-running")

    cancel = frame.locator("#results").get_by_role("button", name=re.compile(r"^Cancel selected"))
    expect(cancel).to_be_disabled()
    for instance in (first, second):
        row(frame, instance["id"]).get_by_role("checkbox").check()
    expect(cancel).to_have_text("Cancel selected (2)")
    cancel.click()
    dialog = frame.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel 2 Domo instance(s) through connection domo_default?")
    shots("confirm")
    dialog.get_by_role("button", name="Cancel instances").click()

    for instance in (first, second):
        expect(row(frame, instance["id"]).locator(".badge")).to_have_text("CANCELED", timeout=30_000)
    expect(frame.get_by_role("status")).to_contain_text("every cancelled instance has stopped")
    expect(row(frame, untouched["id"]).locator(".badge")).to_have_text("IN_PROGRESS")
    path = shots("domo-cancelled")
    if os.environ.get("E2E_UPDATE_SCREENSHOT"):  # refresh the README's picture on purpose only
        shutil.copyfile(path, README_SHOT)

    assert control.domo_instance(first["id"])["status"] == "CANCELED"
    assert control.domo_instance(second["id"])["status"] == "CANCELED"
    assert control.domo_instance(untouched["id"])["status"] == "IN_PROGRESS"
    ours = [r["path"] for r in control.requests("domo.cancel") if model_ids & set(r["path"].split("/"))]
    assert sorted(ours) == sorted(f"/api/workflow/v1/instances/{i['id']}/cancel" for i in (first, second))

    logs = api.call("GET", "/eventLogs", params={"event": EVENT, "limit": 100})["event_logs"]
    ours = {json.loads(e["extra"])["instance_id"]: e for e in logs}
    for instance in (first, second):
        entry = ours[instance["id"]]
        assert entry["owner"] == ADMIN_USER
        extra = json.loads(entry["extra"])
        assert (extra["connection_id"], extra["service"], extra["outcome"]) == (
            "domo_default",
            "domo",
            "cancel_requested",
        )
    assert untouched["id"] not in ours

    # Browse > Audit Log: the two cancels (and any an earlier test of the session made), by the admin (the
    # Extra column, collapsed, holds the ids above).
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Audit Log").click()
    audit = page.get_by_role("row").filter(has_text=EVENT)
    expect(audit).to_have_count(earlier + 2)
    for entry in audit.all():
        expect(entry).to_contain_text(ADMIN_USER)
    shots("audit-log")


def test_a_viewer_cannot_cancel(viewer_page: Page, shots: Shots, control: Any, stack: Any) -> None:
    running = control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)
    frame = open_page(viewer_page)
    expect(frame.get_by_role("status")).to_contain_text("No Domo or EnOS connection you may read")
    list_instances(frame, "domo_default", **{"Model id": MODEL})
    expect(frame.get_by_role("alert")).to_contain_text("403: Forbidden")
    expect(
        frame.locator("#results").get_by_role("button", name=re.compile(r"^Cancel selected"))
    ).to_be_hidden()
    shots("viewer-refused")

    # The viewer's own session (the cookie), same origin, with the header: still refused, nothing sent.
    answer = viewer_page.request.post(
        "/wfcancel/api/connections/domo_default/cancel",
        data=json.dumps({"instance_ids": [running["id"]]}),
        headers={"Content-Type": "application/json", "X-WfCancel-Request": "1", "Origin": stack.base_url},
    )
    assert answer.status == 403, answer.text()
    assert control.domo_instance(running["id"])["status"] == "IN_PROGRESS"
    assert [r for r in control.requests("domo.cancel") if running["id"] in r["path"]] == []
