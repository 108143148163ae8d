"""Contract tests of the emulated EnOS token service, gateway and Batch Processing v2.1 API."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests
from emulator_clients import EnosClient

from airflow_provider_wfcancel.emulator import (
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    EmulatorControl,
    EmulatorServer,
    enos_encryption,
)

ENOS_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
FLOW_INSTANCE_FIELDS = {
    "instanceId",
    "flowId",
    "flowName",
    "freq",
    "cycle",
    "parameters",
    "doAs",
    "graph",
    "status",
    "statusDesc",
    "triggerTime",
    "startTime",
    "endTime",
    "timestamp",
    "virtual",
    "owner",
    "alertMode",
    "calDt",
    "hasEditPri",
    "hasReadPri",
}


def ok_data(response: requests.Response) -> Any:
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0, body
    assert body["msg"] == "OK"
    assert body["requestId"]
    return body["data"]


def business_error(response: requests.Response, code: int) -> str:
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"code", "msg", "requestId", "data"}
    assert body["code"] == code, body
    assert body["data"] is None
    assert body["requestId"]
    message: str = body["msg"]
    return message


def gateway_error(response: requests.Response, code: int) -> str:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "msg", "requestId", "data"}
    assert body["code"] == code, body
    message: str = body["msg"]
    return message


# -- token service ---------------------------------------------------------------------------------------------


def test_token_get_returns_same_token_until_expiry(enos: EnosClient) -> None:
    first = enos.token_call()
    assert first["status"] == 0
    assert first["msg"] == "SUCCESS"
    assert first["business"] == "apim-token-service"
    assert first["data"]["expire"] == 7200
    second = enos.token_call()
    assert second["data"]["accessToken"] == first["data"]["accessToken"]
    assert 0 < second["data"]["expire"] <= 7200


def test_token_lifetime_is_configurable_and_expiry_issues_new_token(
    enos: EnosClient, control: EmulatorControl
) -> None:
    control.configure(enos_token_lifetime=1)
    first = enos.token_call()["data"]
    assert first["expire"] == 1
    instance = control.create_enos_instance()
    time.sleep(1.05)
    message = gateway_error(enos.get(instance["instanceId"], token=first["accessToken"]), 1203)
    assert "expired" in message.lower()
    assert enos.token_call()["data"]["accessToken"] != first["accessToken"]


def test_token_errors(enos: EnosClient, emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/apim-token-service/v2.0/token/get"
    ts = enos.timestamp()
    good = {
        "appKey": DEFAULT_ENOS_APP_KEY,
        "encryption": enos_encryption(DEFAULT_ENOS_APP_KEY, ts, "x"),
        "timestamp": ts,
    }
    cases: list[tuple[dict[str, Any] | str, int]] = [
        ({**good, "appKey": "nobody"}, 1002),
        (good, 1003),
        ({"appKey": DEFAULT_ENOS_APP_KEY, "timestamp": ts}, 1202),
        (
            {
                **good,
                "encryption": enos_encryption(DEFAULT_ENOS_APP_KEY, "now", DEFAULT_ENOS_APP_SECRET),
                "timestamp": "now",
            },
            1004,
        ),
        ("not json", 1004),
    ]
    for payload, code in cases:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        body = requests.post(url, data=data, timeout=5).json()
        assert body["status"] == code, (payload, body)
        assert body["data"] is None
        assert body["business"] == "apim-token-service"


@pytest.mark.parametrize("timestamp", ["\u00b2", "1700000000000\u00b2", "\u0661\u0667"])
def test_token_timestamp_with_non_ascii_digits_is_1004(
    enos: EnosClient, emulator: EmulatorServer, timestamp: str
) -> None:
    """``str.isdigit`` accepts "²" but ``int`` refuses it: the answer must be 1004, not a 500."""
    body = {
        "appKey": DEFAULT_ENOS_APP_KEY,
        "encryption": enos_encryption(DEFAULT_ENOS_APP_KEY, timestamp, DEFAULT_ENOS_APP_SECRET),
        "timestamp": timestamp,
    }
    response = requests.post(f"{emulator.base_url}/apim-token-service/v2.0/token/get", json=body, timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == 1004


def test_token_timestamp_window_and_replay(enos: EnosClient, emulator: EmulatorServer) -> None:
    url = f"{emulator.base_url}/apim-token-service/v2.0/token/get"

    def body(ts: int) -> dict[str, Any]:
        return {
            "appKey": enos.app_key,
            "encryption": enos_encryption(enos.app_key, ts, enos.app_secret),
            "timestamp": ts,
        }

    stale = int((time.time() - 400) * 1000)
    assert requests.post(url, json=body(stale), timeout=5).json()["status"] == 1004
    fresh = body(enos.timestamp())
    assert requests.post(url, json=fresh, timeout=5).json()["status"] == 0
    assert requests.post(url, json=fresh, timeout=5).json()["status"] == 1001


def test_token_refresh_issues_new_token_and_revokes_old(enos: EnosClient, control: EmulatorControl) -> None:
    instance = control.create_enos_instance()
    old = enos.token()
    refreshed = enos.token_call("refresh", accessToken=old)
    assert refreshed["status"] == 0
    new = refreshed["data"]["accessToken"]
    assert new != old
    assert refreshed["data"]["expire"] == 7200
    gateway_error(enos.get(instance["instanceId"], token=old), 1203)
    ok_data(enos.get(instance["instanceId"], token=new))
    assert enos.token() == new
    assert enos.token_call("refresh", accessToken=old)["status"] == 1204
    assert enos.token_call("refresh")["status"] == 1202


def test_token_refresh_can_keep_old_token(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_refresh_revokes_old=False)
    instance = control.create_enos_instance()
    old = enos.token()
    enos.token_call("refresh", accessToken=old)
    ok_data(enos.get(instance["instanceId"], token=old))


def test_added_app_gets_its_own_token(emulator: EmulatorServer, control: EmulatorControl) -> None:
    control.add_enos_app("other-app", "other-secret")
    other = EnosClient(emulator.base_url, app_key="other-app", app_secret="other-secret")
    instance = control.create_enos_instance()
    ok_data(other.get(instance["instanceId"]))


# -- gateway ---------------------------------------------------------------------------------------------------


def test_gateway_rejects_missing_headers(emulator: EmulatorServer, control: EmulatorControl) -> None:
    response = requests.get(
        f"{emulator.base_url}/batch-processing-service/v2.1/flowInstances",
        params={
            "action": "get",
            "flowInstId": "x",
            "userId": DEFAULT_ENOS_USER_ID,
            "orgId": DEFAULT_ENOS_ORG_ID,
        },
        headers={"apim-accesstoken": "t"},
        timeout=5,
    )
    message = gateway_error(response, 1202)
    assert "apim-timestamp" in message
    assert "apim-signature" in message


def test_gateway_rejects_unknown_token(enos: EnosClient) -> None:
    gateway_error(enos.get("x", token="not-a-token"), 1203)


def test_gateway_rejects_bad_signature(enos: EnosClient, control: EmulatorControl) -> None:
    instance = control.create_enos_instance()
    token = enos.token()
    enos.app_secret = "wrong-secret"
    assert "signature" in gateway_error(enos.get(instance["instanceId"], token=token), 1003).lower()


def test_gateway_signs_raw_body_bytes(
    enos: EnosClient, emulator: EmulatorServer, control: EmulatorControl
) -> None:
    """The body is signed as sent: re-serialising it differently breaks the signature."""
    instance = control.create_enos_instance()
    token = enos.token()
    response = enos.cancel(instance["instanceId"], token=token)
    assert ok_data(response) == ""
    sent = response.request
    tampered = requests.post(
        str(sent.url),
        data=json.dumps({"flowInstId": instance["instanceId"]}, indent=2),
        headers=dict(sent.headers),
        timeout=5,
    )
    gateway_error(tampered, 1003)


def test_gateway_rejects_a_timestamp_of_non_ascii_digits(
    enos: EnosClient, emulator: EmulatorServer, control: EmulatorControl
) -> None:
    instance = control.create_enos_instance()
    response = enos.get(instance["instanceId"])
    headers = {**response.request.headers, "apim-timestamp": "\u00b2".encode("latin-1")}
    retried = requests.get(str(response.request.url), headers=headers, timeout=5)
    gateway_error(retried, 1004)


def test_gateway_rejects_stale_timestamp(enos: EnosClient, control: EmulatorControl) -> None:
    instance = control.create_enos_instance()
    stale = int((time.time() - 301) * 1000)
    gateway_error(enos.get(instance["instanceId"], timestamp=stale), 1004)
    control.configure(enos_timestamp_window=1000)
    ok_data(enos.get(instance["instanceId"], timestamp=stale))


# -- flow instances --------------------------------------------------------------------------------------------


def test_get_flow_instance_shape(enos: EnosClient, control: EmulatorControl) -> None:
    created = control.create_enos_instance(flow_id=2809)
    data = ok_data(enos.get(created["instanceId"]))
    assert set(data) == FLOW_INSTANCE_FIELDS
    assert data == created
    assert re.match(r"^2809-\d{14}$", data["instanceId"])
    assert data["flowId"] == 2809
    assert (data["status"], data["statusDesc"]) == (0, "INIT")
    assert ENOS_TIME.match(data["triggerTime"])
    assert data["startTime"] is None
    assert data["endTime"] is None
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{1,3}$", data["timestamp"])
    assert json.loads(data["parameters"]) == []
    graph = json.loads(data["graph"])
    assert graph["instId"] == data["instanceId"]
    assert graph["tasks"][0]["status"] == "INIT"
    assert data["owner"] == DEFAULT_ENOS_USER_ID
    assert data["hasEditPri"] is True


def test_flow_instance_lifecycle(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_start_delay=0)
    instance_id = control.create_enos_instance(runs_for=0.5, final_status=-1)["instanceId"]
    assert ok_data(enos.get(instance_id))["status"] == 2
    time.sleep(0.6)
    data = ok_data(enos.get(instance_id))
    assert (data["status"], data["statusDesc"]) == (-1, "FAIL")
    assert ENOS_TIME.match(data["startTime"])
    assert ENOS_TIME.match(data["endTime"])


def test_cancel_then_cancelled(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_start_delay=0, enos_cancel_delay=0.5)
    instance_id = control.create_enos_instance()["instanceId"]
    response = enos.cancel(instance_id)
    assert response.json() == {"code": 0, "msg": "OK", "requestId": response.json()["requestId"], "data": ""}
    assert ok_data(enos.get(instance_id))["status"] == 2
    assert ok_data(enos.cancel(instance_id)) == ""
    time.sleep(0.6)
    data = ok_data(enos.get(instance_id))
    assert (data["status"], data["statusDesc"]) == (8, "CANCEL")
    assert json.loads(data["graph"])["tasks"][0]["status"] == "CANCEL"


def test_cancel_of_finished_instance(enos: EnosClient, control: EmulatorControl) -> None:
    instance_id = control.create_enos_instance(status=1)["instanceId"]
    assert "already finished" in business_error(enos.cancel(instance_id), 62102)
    control.configure(enos_cancel_terminal_code=62109)
    business_error(enos.cancel(instance_id), 62109)
    control.configure(enos_cancel_terminal_code=0)
    assert ok_data(enos.cancel(instance_id)) == ""
    assert control.enos_instance(instance_id)["status"] == 1


def test_cancel_requires_owner(enos: EnosClient, control: EmulatorControl) -> None:
    control.add_enos_user("u-other", DEFAULT_ENOS_ORG_ID)
    instance_id = control.create_enos_instance(owner_user_id="u-other")["instanceId"]
    business_error(enos.cancel(instance_id), 62103)
    data = ok_data(enos.get(instance_id))
    assert data["hasEditPri"] is False
    assert ok_data(enos.cancel(instance_id, user_id="u-other")) == ""


def test_get_of_other_org_instance_is_denied(enos: EnosClient, control: EmulatorControl) -> None:
    control.add_enos_user("u-far", "o-far")
    instance_id = control.create_enos_instance(owner_user_id="u-far", org_id="o-far")["instanceId"]
    business_error(enos.get(instance_id), 62103)


def test_user_and_org_checks(enos: EnosClient, control: EmulatorControl) -> None:
    instance_id = control.create_enos_instance()["instanceId"]
    business_error(enos.get(instance_id, user_id="u-unknown"), 62101)
    business_error(enos.get(instance_id, org_id="o-wrong"), 62101)
    business_error(enos.get(instance_id, user_id=""), 62102)


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("GET", None, None),
        ("GET", "explode", None),
        ("GET", "cancel", None),
        ("POST", "cancel", {}),
        ("POST", "cancel", {"flowInstId": "9999-20190808093200"}),
        ("POST", "cancel", ["not", "an", "object"]),
        ("GET", "get", None),
    ],
)
def test_invalid_parameters_are_62102(enos: EnosClient, method: str, action: str | None, body: Any) -> None:
    business_error(enos.call(method, "flowInstances", action, body), 62102)


def test_search(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_start_delay=0)
    first = control.create_enos_instance(flow_id=11, flow_name="alpha")["instanceId"]
    second = control.create_enos_instance(flow_id=12, flow_name="beta", status=8)["instanceId"]
    control.add_enos_user("u-far", "o-far")
    control.create_enos_instance(flow_id=13, owner_user_id="u-far", org_id="o-far")

    def search(**body: Any) -> dict[str, Any]:
        result: dict[str, Any] = ok_data(enos.call("POST", "flowInstances", "search", {"type": 0, **body}))
        return result

    everything = search()
    assert everything["count"] == 2
    assert {item["instanceId"] for item in everything["flowInsts"]} == {first, second}
    assert all(set(item) == FLOW_INSTANCE_FIELDS | {"isCancelled"} for item in everything["flowInsts"])
    cancelled = search(status="8")
    assert [item["instanceId"] for item in cancelled["flowInsts"]] == [second]
    assert cancelled["flowInsts"][0]["isCancelled"] is True
    assert search(status=2)["flowInsts"][0]["instanceId"] == first
    assert search(expression="alph")["count"] == 1
    assert search(owner="somebody")["count"] == 0
    paged = search(
        pagination={"pageNo": 2, "pageSize": 1, "sorters": [{"field": "start_time", "order": "ASC"}]}
    )
    assert paged["count"] == 2
    assert [item["instanceId"] for item in paged["flowInsts"]] == [second]
    business_error(
        enos.call("POST", "flowInstances", "search", {"pagination": {"sorters": [{"field": "x"}]}}), 62102
    )
    business_error(enos.call("POST", "flowInstances", "search", {"status": "a,b"}), 62102)


def test_trigger_creates_unique_instances(enos: EnosClient, control: EmulatorControl) -> None:
    trigger_time = 1574385824000
    ids = [
        ok_data(enos.call("POST", "flows", "trigger", {"flowId": 3377, "triggerTime": trigger_time}))[
            "flowInstanceId"
        ]
        for _ in range(2)
    ]
    assert ids == ["3377-20191122012344", "3377-20191122012345"]
    data = ok_data(enos.get(ids[0]))
    assert data["owner"] == DEFAULT_ENOS_USER_ID
    assert data["triggerTime"] == "2019-11-22 01:23:44"
    now_id = ok_data(enos.call("POST", "flows", "trigger", {"flowId": 3377}))["flowInstanceId"]
    assert now_id.startswith("3377-20")
    business_error(enos.call("POST", "flows", "trigger", {"flowId": "3377"}), 62102)
    business_error(enos.call("POST", "flows", "explode", {}), 62102)


def test_unknown_enos_path_and_bad_method(enos: EnosClient, emulator: EmulatorServer) -> None:
    response = requests.get(f"{emulator.base_url}/batch-processing-service/v2.1/nothing", timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert response.json()["requestId"]
    response = requests.delete(f"{emulator.base_url}/apim-token-service/v2.0/token/get", timeout=5)
    assert response.status_code == 405
    assert response.json()["business"] == "apim-token-service"


def test_defaults_seeded(control: EmulatorControl) -> None:
    instance = control.create_enos_instance()
    assert (instance["owner"], instance["flowId"]) == (DEFAULT_ENOS_USER_ID, 2438)
