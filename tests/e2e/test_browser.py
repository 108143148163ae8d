"""The provider in Airflow 3's web UI, driven in a real browser (Chromium via Playwright) the way a user would.

- The Add Connection form draws the ``domo`` and ``enos`` forms from ``get_provider_info()`` alone.
- A Domo connection made in that form is stored right and the UI's Test button reports what the hook says.
- The ``domo_cancel_manual`` Trigger form cancels a running instance; the task's extra link opens the
  emulator's page for it, which shows the cancel.

Fixtures and UI helpers live in ``browser.py``; screenshots land in ``<artifacts>/screenshots``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import Locator, Page, expect

from airflow_provider_wfcancel.get_provider_info import get_provider_info

from .api import AirflowApi
from .browser import (
    Shots,
    choose_connection_type,
    click_test_connection,
    connection_row,
    field_group,
    open_section,
    toast,
)
from .stack import AirflowStack

# Labels Airflow gives the standard connection fields unless a provider relabels them.
STANDARD_FIELDS = {
    "host": "Host",
    "schema": "Schema",
    "login": "Login",
    "password": "Password",
    "port": "Port",
}


def connection_type(conn_type: str) -> dict[str, Any]:
    return next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type)


def schema_types(spec: dict[str, Any]) -> set[str]:
    kind = spec["schema"]["type"]
    return {kind} if isinstance(kind, str) else set(kind)


def open_add_connection(page: Page) -> Locator:
    page.goto("/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Add Connection")).to_be_visible()
    return dialog


@pytest.fixture
def ui_connections(api: AirflowApi) -> Iterator[list[str]]:
    """Connection ids a test creates in the UI, deleted afterwards so other tests see the usual list."""
    conn_ids: list[str] = []
    yield conn_ids
    for conn_id in conn_ids:
        api.session.delete(f"{api.base_url}/api/v2/connections/{conn_id}", timeout=30)


def create_domo_connection_in_form(page: Page, shots: Shots, conn_id: str, host: str, token: str) -> None:
    ui = connection_type("domo")
    labels = ui["ui-field-behaviour"]["relabeling"]
    dialog = open_add_connection(page)
    dialog.get_by_label("Connection ID").fill(conn_id)
    choose_connection_type(dialog, ui["hook-name"])
    dialog.get_by_label(labels["host"], exact=True).fill(host)
    dialog.get_by_label(labels["password"], exact=True).fill(token)
    shots(f"{conn_id}-filled-in")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(toast(page, "Create Connection Request Submitted")).to_be_visible()
    row = connection_row(page, conn_id)
    expect(row).to_contain_text("domo")
    expect(row).to_contain_text(host)
    shots(f"{conn_id}-saved")


@pytest.mark.parametrize("conn_type", ["domo", "enos"])
def test_add_connection_form_shows_the_provider_fields(page: Page, shots: Shots, conn_type: str) -> None:
    ui = connection_type(conn_type)
    behaviour = ui["ui-field-behaviour"]
    hidden, relabeling = set(behaviour["hidden-fields"]), behaviour["relabeling"]
    placeholders = behaviour.get("placeholders", {})
    conn_fields: dict[str, Any] = ui["conn-fields"]
    secrets = {"password"} | {k for k, v in conn_fields.items() if v["schema"].get("format") == "password"}

    # Admin > Connections > Add Connection, through the navigation as a user would.
    page.goto("/")
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("menuitem", name="Connections").click()
    expect(page).to_have_url(re.compile(r"/connections$"))
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    choose_connection_type(dialog, ui["hook-name"])
    open_section(dialog, "Standard Fields")
    shots(f"{conn_type}-standard-fields")

    # Standard Fields: hidden ones are gone, relabelled ones carry the provider's label and placeholder.
    for name, default_label in STANDARD_FIELDS.items():
        if name in hidden:
            expect(dialog.locator(f'[name="{name}"]')).to_be_hidden()
            expect(dialog.get_by_label(default_label, exact=True)).to_have_count(0)
            continue
        control = dialog.get_by_label(relabeling.get(name, default_label), exact=True)
        expect(control).to_be_visible()
        expect(control).to_have_attribute("name", name)
        if name in relabeling:
            expect(dialog.get_by_label(default_label, exact=True)).to_have_count(0)
        if name in placeholders:
            expect(control).to_have_attribute("placeholder", placeholders[name])
        if name in secrets:
            expect(control).to_have_attribute("type", "password")
        else:
            expect(control).not_to_have_attribute("type", "password")

    # Extra Fields: exactly the conn-fields, each with its label, description, widget, bounds and default.
    extra = open_section(dialog, "Extra Fields")
    expect(extra.get_by_role("group").filter(has=page.locator("label"))).to_have_count(len(conn_fields))
    for key, spec in conn_fields.items():
        group = field_group(extra, spec["label"])
        expect(group).to_be_visible()
        expect(group).to_contain_text(spec["description"])
        control = group.locator(f'[name="element_{key}"]')
        schema, types = spec["schema"], schema_types(spec)
        if "boolean" in types:
            expect(control).to_have_attribute("type", "checkbox")
            if schema.get("default") is True:
                expect(control).to_be_checked()
        elif types & {"integer", "number"}:
            expect(control).to_have_attribute("role", "spinbutton")
            expect(control).to_have_attribute("aria-valuemin", str(schema["minimum"]))
            expect(control).to_have_attribute("aria-valuemax", str(schema["maximum"]))
        elif key in secrets:
            expect(control).to_have_attribute("type", "password")
        else:
            expect(control).to_be_editable()
            expect(control).not_to_have_attribute("type", "password")
        if "null" in types:
            expect(control).not_to_have_attribute("required", "")
        else:
            expect(control).to_have_attribute("required", "")
    shots(f"{conn_type}-extra-fields")


def test_domo_connection_made_in_the_form_passes_the_test_button(
    page: Page, shots: Shots, api: AirflowApi, control: Any, ui_connections: list[str]
) -> None:
    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN

    ui_connections.append("domo_browser")
    create_domo_connection_in_form(page, shots, "domo_browser", control.base_url, DEFAULT_DOMO_TOKEN)

    stored = api.call("GET", "/connections/domo_browser")
    assert {k: stored[k] for k in ("conn_type", "host", "login", "schema", "port", "password")} == {
        "conn_type": "domo",
        "host": control.base_url,
        "login": None,
        "schema": None,
        "port": None,
        "password": "***",  # stored, and masked by the API
    }
    defaults = {k: v["schema"].get("default") for k, v in connection_type("domo")["conn-fields"].items()}
    assert json.loads(stored["extra"]) == defaults

    response = click_test_connection(page, "domo_browser", shots)

    assert response.status == 200, response.text()
    answer = response.json()
    assert answer["status"] is True
    assert answer["message"].startswith(f"Connected to Domo at {control.base_url}")
    result = toast(page, "Test Connection Successful")
    expect(result).to_contain_text(answer["message"])  # the hook's message, as the user sees it
    shots("test-button-success")


def test_domo_connection_with_a_bad_token_fails_the_test_button(
    page: Page, shots: Shots, control: Any, ui_connections: list[str]
) -> None:
    ui_connections.append("domo_browser_bad")
    create_domo_connection_in_form(page, shots, "domo_browser_bad", control.base_url, "not-a-domo-token")

    response = click_test_connection(page, "domo_browser_bad", shots)

    assert response.status == 200, response.text()
    answer = response.json()
    assert answer["status"] is False
    assert answer["message"].startswith("Credentials rejected by Domo")
    result = toast(page, "Test Connection Failed", "Credentials rejected by Domo")
    expect(result).to_contain_text(answer["message"])
    shots("test-button-failure")
    expect(result).not_to_contain_text("not-a-domo-token")


def test_trigger_form_cancels_a_domo_instance_and_links_to_it(
    page: Page, shots: Shots, stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    dag_id = "domo_cancel_manual"
    running = control.create_domo_instance(status="IN_PROGRESS")
    url = f"{control.base_url}/workflows/instances/{running['modelId']}/{running['modelVersion']}/{running['id']}"
    api.wait_for_dag(dag_id)

    page.goto(f"/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=re.compile(rf"Trigger Dag - +{dag_id}"))).to_be_visible()
    field_group(dialog, "Workflow instance id").get_by_role("textbox").fill(running["id"])
    shots("trigger-form-filled-in")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(toast(page, "Dag Run Triggered")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/dags/{dag_id}/runs/[^/]+$"))
    run_id = unquote(page.url.rsplit("/", 1)[1])
    shots("run-page")

    state, _ = api.wait_for_run(dag_id, run_id, check=stack.check_running)

    assert state == "success", api.task_states(dag_id, run_id)
    run = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    assert run["conf"] == {"instance_id": running["id"], "domo_conn_id": "domo_default", "wait": True}
    assert control.domo_instance(running["id"])["status"] == "CANCELED"

    # The run page's task list leads to the task instance, whose Details tab carries the extra link.
    page.get_by_test_id("table-list").get_by_role("link", name="cancel", exact=True).click()
    expect(page).to_have_url(re.compile(r"/runs/[^/]+/tasks/cancel$"))
    expect(page.get_by_test_id("header-card").get_by_test_id("state-badge")).to_have_text("Success")
    expect(page.get_by_text(f"Domo instance {running['id']} is CANCELED")).to_be_visible()
    shots("task-instance-log")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="Domo Workflow Instance", exact=True)
    expect(link).to_have_attribute("href", url)
    shots("task-instance-extra-link")
    with page.expect_popup() as popup:
        link.click()
    instance_page = popup.value
    expect(instance_page).to_have_url(url)

    # The link opens the emulator's page for that instance, already showing the cancel.
    expect(instance_page.get_by_role("heading", level=1)).to_have_text(
        f"Domo workflow instance {running['modelName']}: CANCELED"
    )
    expect(instance_page.locator("[data-field=status]")).to_have_text("CANCELED")
    expect(instance_page.locator("[data-field=instance-id]")).to_have_text(running["id"])
    expect(instance_page.locator("[data-field=created-on]")).to_have_text(running["createdOn"])
    expect(instance_page.get_by_text("This page is served by the wfcancel emulator")).to_be_visible()
    instance_page.screenshot(path=shots.folder / f"{shots.prefix}-emulator-instance-page.png", full_page=True)
