"""Control API: configuration, reset, seeded data, request log and counts."""

from __future__ import annotations

import pytest
import requests
from emulator_clients import DomoClient, EnosClient

from airflow_provider_wfcancel.emulator import (
    DEFAULT_DOMO_TOKEN,
    EmulatorConfig,
    EmulatorControl,
    EmulatorServer,
)
from airflow_provider_wfcancel.emulator.control import EmulatorControlError


def test_configure_returns_full_config(control: EmulatorControl) -> None:
    result = control.configure(domo_cancel_delay=2, domo_cancel_terminal="conflict")
    assert result == {
        **EmulatorConfig().model_dump(),
        "domo_cancel_delay": 2.0,
        "domo_cancel_terminal": "conflict",
    }
    assert control.config() == result


@pytest.mark.parametrize(
    "settings",
    [
        {"no_such_setting": 1},
        {"domo_cancel_delay": -1},
        {"domo_cancel_terminal": "explode"},
        {"enos_token_lifetime": 0},
    ],
)
def test_configure_rejects_bad_settings(control: EmulatorControl, settings: dict[str, object]) -> None:
    with pytest.raises(EmulatorControlError, match="400"):
        control.configure(**settings)
    assert control.config() == EmulatorConfig().model_dump()


def test_reset_restores_everything(
    domo: DomoClient, control: EmulatorControl, emulator: EmulatorServer
) -> None:
    control.configure(domo_cancel_terminal="conflict")
    control.add_domo_token("temporary")
    control.add_enos_app("temp-app", "temp-secret")
    instance_id = control.create_domo_instance()["id"]
    control.inject_fault("domo.list", status=500)
    domo.get(instance_id)
    control.reset()
    assert control.config()["domo_cancel_terminal"] == "noop"
    assert control.requests() == []
    assert control.counts() == {}
    assert domo.list().json() == []
    assert domo.get(instance_id).status_code == 404
    assert DomoClient(emulator.base_url, "temporary").list().status_code == 401
    assert DomoClient(emulator.base_url, DEFAULT_DOMO_TOKEN).list().status_code == 200
    assert (
        EnosClient(emulator.base_url, app_key="temp-app", app_secret="temp-secret").token_call()["status"]
        == 1002
    )


def test_unknown_instances_raise(control: EmulatorControl) -> None:
    with pytest.raises(EmulatorControlError, match="404"):
        control.domo_instance("nope")
    with pytest.raises(EmulatorControlError, match="404"):
        control.enos_instance("nope")


def test_invalid_control_payload_is_a_json_error(control: EmulatorControl, emulator: EmulatorServer) -> None:
    response = requests.post(
        f"{emulator.base_url}/_emulator/domo/instances", json={"runs_for": -1}, timeout=5
    )
    assert response.status_code == 400
    assert "runs_for" in response.json()["error"]
    response = requests.post(f"{emulator.base_url}/_emulator/enos/users", data="{", timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]


def test_unknown_top_level_path_is_a_domo_404(control: EmulatorControl, emulator: EmulatorServer) -> None:
    response = requests.get(f"{emulator.base_url}/whatever", timeout=5)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"status", "statusReason", "message", "path", "toe"}
    assert (body["status"], body["statusReason"], body["path"]) == (404, "Not Found", "/whatever")
    assert control.counts() == {"unknown": 1}


def test_unknown_control_path_keeps_the_control_error_body(emulator: EmulatorServer) -> None:
    response = requests.get(f"{emulator.base_url}/_emulator/nothing", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "path": "/_emulator/nothing"}


def test_zero_requests_after_reset(control: EmulatorControl) -> None:
    control.create_domo_instance()
    control.counts()
    assert control.requests() == []
    assert control.counts() == {}


def test_request_log_entries_and_counts(domo: DomoClient, enos: EnosClient, control: EmulatorControl) -> None:
    instance_id = domo.start().json()["id"]
    domo.cancel(instance_id)
    domo.cancel(instance_id)
    enos_instance = control.create_enos_instance()["instanceId"]
    token = enos.token()
    enos.token_call("refresh", accessToken=token)
    enos.get(enos_instance)
    assert control.counts() == {
        "domo.start": 1,
        "domo.cancel": 2,
        "enos.token.get": 2,
        "enos.token.refresh": 1,
        "enos.flowinstance.get": 1,
    }
    start = control.requests("domo.start")[0]
    assert start["method"] == "POST"
    assert start["path"] == "/api/workflow/v1/instances/message"
    assert start["status"] == 200
    assert start["fault"] is None
    assert start["headers"]["x-domo-developer-token"] == "<redacted>"
    assert '"messageName": "Start AddTwoNumbers"' in start["body"]
    assert [entry["route"] for entry in control.requests()][:3] == [
        "domo.start",
        "domo.cancel",
        "domo.cancel",
    ]
    refresh = control.requests("enos.token.refresh")[0]
    assert token not in refresh["body"]
    assert '"accessToken": "<redacted>"' in refresh["body"]
    assert '"encryption": "<redacted>"' in refresh["body"]
    get = control.requests("enos.flowinstance.get")[0]
    assert get["query"] == {
        "userId": "u15000000000001",
        "orgId": "o15000000000001",
        "flowInstId": enos_instance,
        "action": "get",
    }
    assert get["headers"]["apim-accesstoken"] == get["headers"]["apim-signature"] == "<redacted>"
    assert get["headers"]["apim-timestamp"].isdigit()
    assert all(entry["seq"] == n for n, entry in enumerate(control.requests(), start=1))


def test_request_log_limit_keeps_counts(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(request_log_limit=2)
    for _ in range(5):
        domo.list()
    assert len(control.requests()) == 2
    assert control.requests()[-1]["seq"] == 5
    assert control.counts() == {"domo.list": 5}


def test_enos_action_routes_are_named_by_action(enos: EnosClient, control: EmulatorControl) -> None:
    enos.call("GET", "flowInstances", None)
    enos.call("POST", "flows", "trigger", {"flowId": 1})
    counts = control.counts()
    assert counts["enos.flowinstance"] == 1
    assert counts["enos.flow.trigger"] == 1


def test_app_state_gives_direct_access(control: EmulatorControl, emulator: EmulatorServer) -> None:
    instance = control.create_domo_instance(model_name="Direct")
    with emulator.app_state.lock:
        assert emulator.app_state.data.domo_instances[instance["id"]].model_name == "Direct"
