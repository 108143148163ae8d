"""Fault injection: HTTP errors, latency, dropped/truncated/HTML answers and EnOS business codes."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import requests
from emulator_clients import DOMO_BASE, DomoClient, EnosClient

from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorServer
from airflow_provider_wfcancel.emulator.control import EmulatorControlError


def test_status_fault_with_retry_after_seconds(domo: DomoClient, control: EmulatorControl) -> None:
    instance_id = control.create_domo_instance()["id"]
    control.inject_fault("domo.get", status=429, retry_after=7)
    response = domo.get(instance_id)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["statusReason"] == "Too Many Requests"
    assert domo.get(instance_id).status_code == 200


def test_status_fault_with_http_date_and_count(domo: DomoClient, control: EmulatorControl) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    control.inject_fault("domo.cancel", status=503, retry_after=date, count=2)
    assert [domo.cancel("x").status_code for _ in range(3)] == [503, 503, 404]
    assert control.requests("domo.cancel")[0]["fault"] == "status 503"
    control.inject_fault("domo.cancel", status=429, retry_after=date)
    assert domo.cancel("x").headers["Retry-After"] == date


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_use_service_style(enos: EnosClient, control: EmulatorControl, status: int) -> None:
    control.inject_fault("enos.flowinstance.get", status=status)
    response = enos.get("x")
    assert response.status_code == status
    assert response.json()["code"] == status
    assert response.json()["requestId"]


def test_status_fault_with_custom_body(domo: DomoClient, control: EmulatorControl) -> None:
    control.inject_fault("domo.get", status=500, body={"oops": True})
    assert domo.get("x").json() == {"oops": True}
    control.inject_fault("domo.get", status=502, body="<html>bad gateway</html>")
    assert domo.get("x").text == "<html>bad gateway</html>"


def test_duration_fault_expires(domo: DomoClient, control: EmulatorControl) -> None:
    control.inject_fault("domo.list", status=503, duration=1.0)
    assert [domo.list().status_code for _ in range(3)] == [503, 503, 503]
    time.sleep(1.05)
    assert domo.list().status_code == 200


def test_wildcard_fault_hits_every_route(
    domo: DomoClient, enos: EnosClient, control: EmulatorControl
) -> None:
    control.inject_fault("*", status=500, count=2)
    assert domo.list().status_code == 500
    assert enos.token_call()["status"] == 500
    assert domo.list().status_code == 200


def test_latency_delays_without_blocking_other_requests(domo: DomoClient, control: EmulatorControl) -> None:
    instance_id = control.create_domo_instance()["id"]
    control.inject_fault("domo.get", latency=1.0)
    slow_status: list[int] = []
    slow = threading.Thread(
        target=lambda: slow_status.append(DomoClient(domo.base_url).get(instance_id).status_code)
    )
    started = time.monotonic()
    slow.start()
    time.sleep(0.2)
    assert domo.list().status_code == 200
    assert slow.is_alive()
    slow.join(5)
    assert slow_status == [200]
    assert time.monotonic() - started >= 1.0


def test_a_request_still_running_at_a_reset_is_not_logged_after_it(
    emulator: EmulatorServer, domo: DomoClient, control: EmulatorControl
) -> None:
    """The log after a reset holds only requests that arrived after it, whenever earlier ones end."""
    control.inject_fault("domo.list", latency=1.0, count=1)
    (fault,) = emulator.app_state.data.faults
    slow = threading.Thread(target=lambda: DomoClient(domo.base_url).list())
    slow.start()
    deadline = time.monotonic() + 5
    while fault.remaining and time.monotonic() < deadline:  # the slow request has arrived once it is used
        time.sleep(0.01)
    control.reset()
    slow.join(5)
    assert control.requests() == []
    assert domo.list().status_code == 200
    assert [entry["route"] for entry in control.requests()] == ["domo.list"]


def test_latency_alone_still_answers(domo: DomoClient, control: EmulatorControl) -> None:
    control.inject_fault("domo.list", latency=0.2)
    started = time.monotonic()
    assert domo.list().status_code == 200
    assert time.monotonic() - started >= 0.2
    assert control.requests("domo.list")[0]["fault"] == "latency"


def test_drop_closes_connection_without_applying(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=0, domo_cancel_delay=0)
    instance_id = control.create_domo_instance()["id"]
    control.inject_fault("domo.cancel", mode="drop")
    with pytest.raises(requests.ConnectionError):
        domo.cancel(instance_id)
    assert control.domo_instance(instance_id)["status"] == "IN_PROGRESS"
    entry = control.requests("domo.cancel")[0]
    assert (entry["status"], entry["fault"]) == (None, "drop")
    assert domo.cancel(instance_id).status_code == 200


def test_drop_seen_by_httpx(emulator: EmulatorServer, control: EmulatorControl) -> None:
    control.inject_fault("domo.list", mode="drop")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{emulator.base_url}{DOMO_BASE}/instances", headers={"X-DOMO-Developer-Token": "x"})


def test_apply_then_drop_loses_the_response_only(domo: DomoClient, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=0, domo_cancel_delay=0)
    instance_id = control.create_domo_instance()["id"]
    control.inject_fault("domo.cancel", mode="apply_then_drop")
    with pytest.raises(requests.ConnectionError):
        domo.cancel(instance_id)
    assert control.domo_instance(instance_id)["status"] == "CANCELED"
    assert control.requests("domo.cancel")[0]["fault"] == "apply_then_drop"


def test_truncate_sends_half_a_json_document(domo: DomoClient, control: EmulatorControl) -> None:
    instance = control.create_domo_instance()
    control.inject_fault("domo.get", mode="truncate")
    response = domo.get(instance["id"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        response.json()
    assert json.dumps(instance, separators=(",", ":")).startswith(response.text)


@pytest.mark.parametrize("status", [None, 403])
def test_html_block_page(
    domo: DomoClient, control: EmulatorControl, emulator: EmulatorServer, status: int | None
) -> None:
    control.inject_fault("domo.start", mode="html", status=status)
    response = domo.start()
    assert response.status_code == (status or 200)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Domo - Blocked</title>" in response.text
    assert control.counts() == {"domo.start": 1}
    assert not emulator.app_state.data.domo_instances


def test_enos_code_fault(enos: EnosClient, control: EmulatorControl) -> None:
    control.configure(enos_start_delay=0)
    instance_id = control.create_enos_instance()["instanceId"]
    control.inject_fault("enos.flowinstance.cancel", mode="enos_code", body=62109)
    body = enos.cancel(instance_id).json()
    assert (body["code"], body["msg"], body["data"]) == (62109, "Internal server exception", None)
    assert control.enos_instance(instance_id)["status"] == 2
    control.inject_fault("enos.flowinstance.get", mode="enos_code", body={"code": 62101, "msg": "custom"})
    assert enos.get(instance_id).json()["msg"] == "custom"


def test_enos_code_fault_on_token_service(enos: EnosClient, control: EmulatorControl) -> None:
    control.inject_fault("enos.token.get", mode="enos_code", body=1005)
    body = enos.token_call()
    assert (body["status"], body["business"], body["data"]) == (1005, "apim-token-service", None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"route": "domo.nothing", "status": 500},
        {"route": "domo.get"},
        {"route": "domo.get", "status": 503, "mode": "drop"},
        {"route": "domo.get", "retry_after": 5},
        {"route": "domo.get", "mode": "enos_code", "body": 62109},
        {"route": "enos.flowinstance.get", "mode": "enos_code"},
        {"route": "domo.get", "mode": "explode"},
        {"route": "domo.get", "status": 200},
        {"route": "domo.get", "latency": 1, "body": {"x": 1}},
    ],
)
def test_invalid_fault_specs_are_rejected(control: EmulatorControl, kwargs: dict[str, object]) -> None:
    route = str(kwargs.pop("route"))
    with pytest.raises(EmulatorControlError):
        control.inject_fault(route, **kwargs)  # type: ignore[arg-type]


def test_clear_faults(domo: DomoClient, control: EmulatorControl) -> None:
    control.inject_fault("domo.list", status=500, count=5)
    control.clear_faults()
    assert domo.list().status_code == 200
