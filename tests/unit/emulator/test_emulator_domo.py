"""Contract tests of the emulated Domo Workflows API over loopback HTTP."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
import requests
from emulator_clients import DOMO_BASE, DomoClient

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_USER_ID, EmulatorControl, EmulatorServer

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
INSTANCE_FIELDS = {
    "id",
    "modelId",
    "deploymentId",
    "modelName",
    "modelVersion",
    "bpmnProcessId",
    "bpmnProcessName",
    "createdBy",
    "createdOn",
    "updatedBy",
    "updatedOn",
    "status",
    "isTestRun",
}


def assert_domo_error(response: requests.Response, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "statusReason", "message", "path", "toe"}
    assert body["status"] == status
    assert body["path"] == path
    assert body["message"]
    return body


def wait_for_status(domo: DomoClient, instance_id: str, status: str, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while domo.get(instance_id).json()["status"] != status:
        assert time.monotonic() < deadline, f"instance never reached {status}"
        time.sleep(0.02)


def test_start_returns_instance_object(domo: DomoClient) -> None:
    response = domo.start()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == INSTANCE_FIELDS
    assert str(uuid.UUID(body["id"], version=4)) == body["id"]
    assert body["status"] is None
    assert body["modelId"] == "m-1"
    assert body["modelVersion"] == "1.1.0"
    assert body["modelName"] == "AddTwoNumbers"
    assert body["bpmnProcessId"] == "Process_m-1_1.1.0_1"
    assert body["bpmnProcessName"] == "domo AddTwoNumbers 1.1.0 1"
    assert body["createdBy"] == body["updatedBy"] == DEFAULT_DOMO_USER_ID
    assert ISO_MILLIS.match(body["createdOn"])
    assert body["updatedOn"] == body["createdOn"]
    assert body["isTestRun"] is False
    assert domo.get(body["id"]).json() == body


@pytest.mark.parametrize("field", ["messageName", "version", "modelId", "data"])
def test_start_requires_every_field(domo: DomoClient, field: str) -> None:
    body = {"messageName": "Start X", "version": "1.0.0", "modelId": "m", "data": {}}
    del body[field]
    response = domo.session.post(f"{domo.base_url}{DOMO_BASE}/instances/message", json=body)
    error = assert_domo_error(response, 400, f"{DOMO_BASE}/instances/message")
    assert field in error["message"]
    assert error["statusReason"] == "Bad Request"


@pytest.mark.parametrize(
    "payload", [b"{not json", b"[1, 2]", b'{"messageName": 1, "version": "1", "modelId": "m", "data": {}}']
)
def test_start_rejects_malformed_bodies(domo: DomoClient, payload: bytes) -> None:
    response = domo.session.post(
        f"{domo.base_url}{DOMO_BASE}/instances/message",
        data=payload,
        headers={"Content-Type": "application/json"},
    )
    assert_domo_error(response, 400, f"{DOMO_BASE}/instances/message")


def test_instance_progresses_to_final_status(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=0.05, domo_run_seconds=0.1, domo_final_status="FAILED")
    instance_id = domo.start().json()["id"]
    wait_for_status(domo, instance_id, "IN_PROGRESS")
    wait_for_status(domo, instance_id, "FAILED")
    body = domo.get(instance_id).json()
    assert body["updatedOn"] > body["createdOn"]


def test_cancel_reports_status_at_request_then_cancels(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=0, domo_cancel_delay=0.1)
    instance_id = domo.start().json()["id"]
    response = domo.cancel(instance_id)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == INSTANCE_FIELDS
    assert body["status"] == "IN_PROGRESS"
    wait_for_status(domo, instance_id, "CANCELED")


def test_second_cancel_while_cancelling_is_accepted(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=0, domo_cancel_delay=60)
    instance_id = domo.start().json()["id"]
    assert domo.cancel(instance_id).json()["status"] == "IN_PROGRESS"
    second = domo.cancel(instance_id)
    assert second.status_code == 200
    assert second.json()["status"] == "IN_PROGRESS"


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELED", "FAILED"])
def test_cancel_of_terminal_instance_is_a_noop_by_default(
    domo: DomoClient, control: EmulatorControl, status: str
) -> None:
    instance = control.create_domo_instance(status=status)
    response = domo.cancel(instance["id"])
    assert response.status_code == 200
    assert response.json() == instance
    assert control.domo_instance(instance["id"])["status"] == status


def test_cancel_of_terminal_instance_can_conflict(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_cancel_terminal="conflict")
    instance = control.create_domo_instance(status="COMPLETED")
    path = f"{DOMO_BASE}/instances/{instance['id']}/cancel"
    error = assert_domo_error(domo.cancel(instance["id"]), 409, path)
    assert "COMPLETED" in error["message"]


def test_unknown_instance_is_404(domo: DomoClient) -> None:
    assert_domo_error(domo.get("nope"), 404, f"{DOMO_BASE}/instances/nope")
    assert_domo_error(domo.cancel("nope"), 404, f"{DOMO_BASE}/instances/nope/cancel")


def test_missing_and_unknown_token_are_401(emulator: EmulatorServer, control: EmulatorControl) -> None:
    for token in (None, "wrong"):
        client = DomoClient(emulator.base_url, token)
        assert_domo_error(client.start(), 401, f"{DOMO_BASE}/instances/message")
        assert_domo_error(client.get("x"), 401, f"{DOMO_BASE}/instances/x")
        assert_domo_error(client.cancel("x"), 401, f"{DOMO_BASE}/instances/x/cancel")
        assert_domo_error(client.list(), 401, f"{DOMO_BASE}/instances")


def test_token_without_workflow_grant_is_403(emulator: EmulatorServer, control: EmulatorControl) -> None:
    instance = control.create_domo_instance()
    user = control.add_domo_token("no-grant", workflow_grant=False)
    assert user["workflowGrant"] is False
    client = DomoClient(emulator.base_url, "no-grant")
    error = assert_domo_error(
        client.cancel(instance["id"]), 403, f"{DOMO_BASE}/instances/{instance['id']}/cancel"
    )
    assert error["statusReason"] == "Forbidden"
    assert_domo_error(client.start(), 403, f"{DOMO_BASE}/instances/message")
    me = client.session.get(f"{emulator.base_url}/api/content/v2/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == int(user["userId"])


def test_added_token_acts_as_its_own_user(emulator: EmulatorServer, control: EmulatorControl) -> None:
    user = control.add_domo_token("second")
    body = DomoClient(emulator.base_url, "second").start().json()
    assert body["createdBy"] == user["userId"] != DEFAULT_DOMO_USER_ID


def test_users_me(domo: DomoClient, emulator: EmulatorServer) -> None:
    me = domo.session.get(f"{emulator.base_url}/api/content/v2/users/me")
    assert me.status_code == 200
    assert me.json()["id"] == int(DEFAULT_DOMO_USER_ID)
    assert me.json()["displayName"]
    anonymous = requests.get(f"{emulator.base_url}/api/content/v2/users/me", timeout=5)
    assert_domo_error(anonymous, 401, "/api/content/v2/users/me")


def test_list_is_newest_first_with_filter_and_paging(domo: DomoClient) -> None:
    ids = [domo.start(modelId="m-list").json()["id"] for _ in range(3)]
    domo.start(modelId="other")
    listed = domo.list(modelId="m-list").json()
    assert isinstance(listed, list)
    assert [item["id"] for item in listed] == ids[::-1]
    assert [item["id"] for item in domo.list(modelId="m-list", limit=1, offset=1).json()] == [ids[1]]
    assert len(domo.list().json()) == 4
    assert [i["id"] for i in domo.list(modelId="m-list", sort="createdOn:asc").json()] == ids


def test_list_rejects_bad_paging(domo: DomoClient) -> None:
    assert_domo_error(domo.list(limit="ten"), 400, f"{DOMO_BASE}/instances")


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2", "\u0663", "-1", "1.5", ""])
def test_list_rejects_non_ascii_digits_with_its_documented_400(domo: DomoClient, value: str) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: the answer must still be the 400, not a 500."""
    for name in ("limit", "offset"):
        assert_domo_error(domo.list(**{name: value}), 400, f"{DOMO_BASE}/instances")


def test_unknown_path_and_method_use_domo_error_body(domo: DomoClient) -> None:
    assert_domo_error(
        domo.session.get(f"{domo.base_url}{DOMO_BASE}/nothing/here"), 404, f"{DOMO_BASE}/nothing/here"
    )
    response = domo.session.delete(f"{domo.base_url}{DOMO_BASE}/instances/x")
    assert_domo_error(response, 405, f"{DOMO_BASE}/instances/x")
