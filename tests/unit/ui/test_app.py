"""The Remote instances app through the API server's own app, auth manager and database: each endpoint
refuses anonymous callers (401) and callers without the permission (403), and an allowed call reaches the
emulator exactly as often as it should."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wfcancel._audit import PAGE_EVENT as AUDIT_EVENT
from airflow_provider_wfcancel.ui import CSRF_HEADER
from tests.airflow_api import PREFIX
from tests.airflow_compat import PAGE, needs_airflow

pytestmark = needs_airflow((3, 1), PAGE)

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"


def instances_path(conn_id: str = "domo_default") -> str:
    return f"{PREFIX}/api/connections/{conn_id}/instances"


def cancel_path(conn_id: str = "domo_default") -> str:
    return f"{PREFIX}/api/connections/{conn_id}/cancel"


def audit_rows(instance_id: str) -> list[Any]:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(Log).filter(Log.event == AUDIT_EVENT).all()
        return [
            (row.owner, json.loads(row.extra or "{}"))
            for row in rows
            if json.loads(row.extra or "{}").get("instance_id") == instance_id
        ]


@pytest.fixture
def running(emu: Any, domo_conn: str) -> dict[str, Any]:
    return dict(emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL))


ENDPOINTS = [
    ("GET", f"{PREFIX}/remote-instances"),
    ("GET", f"{PREFIX}/api/connections"),
    ("GET", f"{instances_path()}?model_id={MODEL}"),
    ("GET", f"{instances_path()}/5f1c9a52-0000-4000-8000-000000000001"),
    ("POST", cancel_path()),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_an_anonymous_caller(client: Any, emu: Any, method: str, path: str) -> None:
    body = {"instance_ids": ["5f1c9a52-0000-4000-8000-000000000001"]}
    response = client.request(method, path, json=body if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}
    assert emu.control.requests() == []


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_token_the_auth_manager_did_not_sign_is_refused(client: Any, method: str, path: str) -> None:
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"}
    response = client.request(method, path, headers=forged, json={} if method == "POST" else None)
    assert response.status_code in (401, 403), response.text
    assert response.status_code != 200


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if "/api/connections/" in e[1]])
@pytest.mark.parametrize("user", ["viewer", "user"])
def test_users_without_the_permission_get_403_and_no_request_is_sent(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any, method: str, path: str, user: str
) -> None:
    body = {"instance_ids": [running["id"]]}
    response = client.request(method, path, headers=as_user(user), json=body if method == "POST" else None)
    assert response.status_code == 403, response.text
    assert emu.control.requests() == []
    assert emu.control.domo_instance(running["id"])["status"] == "IN_PROGRESS"


def test_the_page_needs_only_a_signed_in_user_and_carries_no_secret(
    client: Any, as_user: Any, token_for: Any
) -> None:
    response = client.get(f"{PREFIX}/remote-instances", headers=as_user("viewer"))
    assert response.status_code == 200
    assert "<h1>Remote instances</h1>" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy
    assert "frame-ancestors 'self'" in policy
    assert f'content="{CSRF_HEADER}"' in response.text
    assert token_for("viewer") not in response.text
    assert "_token" not in response.text


def test_connections_lists_only_those_the_user_may_read(
    client: Any, as_user: Any, domo_conn: str, enos_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SOME_HTTP", '{"conn_type": "http", "host": "example.com"}')
    assert client.get(f"{PREFIX}/api/connections", headers=as_user("viewer")).json() == {"connections": []}
    listed = client.get(f"{PREFIX}/api/connections", headers=as_user("op")).json()["connections"]
    assert listed == [
        {"connection_id": "domo_default", "conn_type": "domo", "can_cancel": True},
        {"connection_id": "enos_default", "conn_type": "enos", "can_cancel": True},
    ]


def test_op_lists_running_domo_instances_of_a_model(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any
) -> None:
    emu.control.create_domo_instance(status="COMPLETED", model_id=MODEL)
    emu.control.create_domo_instance(status="IN_PROGRESS")  # another model
    response = client.get(instances_path(), params={"model_id": MODEL}, headers=as_user("op"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["service"], answer["can_cancel"], answer["truncated"]) == ("domo", True, False)
    [row] = answer["instances"]
    assert row["instance_id"] == running["id"]
    assert (row["status"], row["is_terminal"], row["name"], row["version"]) == (
        "IN_PROGRESS",
        False,
        running["modelName"],
        running["modelVersion"],
    )
    assert row["started"] == running["createdOn"]
    assert row["url"].endswith(f"/workflows/instances/{MODEL}/{running['modelVersion']}/{running['id']}")
    assert row["started_by"] is None


def test_op_lists_running_enos_instances_of_the_organization(
    client: Any, as_user: Any, enos_conn: str, emu: Any
) -> None:
    mine = emu.control.create_enos_instance(flow_id=3377, flow_name="nightly_load", status=2)
    other = emu.control.create_enos_instance(flow_id=4410, flow_name="hourly_sync", status=2)
    emu.control.create_enos_instance(flow_id=3377, status=1)  # finished
    everything = client.get(instances_path("enos_default"), headers=as_user("op")).json()
    assert {r["instance_id"] for r in everything["instances"]} == {mine["instanceId"], other["instanceId"]}
    by_flow = client.get(instances_path("enos_default"), params={"flow_id": "3377"}, headers=as_user("op"))
    assert [r["instance_id"] for r in by_flow.json()["instances"]] == [mine["instanceId"]]
    by_name = client.get(instances_path("enos_default"), params={"search": "hourly"}, headers=as_user("op"))
    assert [r["name"] for r in by_name.json()["instances"]] == ["hourly_sync"]


def test_op_reads_one_instance(client: Any, as_user: Any, running: dict[str, Any], emu: Any) -> None:
    response = client.get(f"{instances_path()}/{running['id']}", headers=as_user("op"))
    assert response.status_code == 200
    assert (response.json()["instance_id"], response.json()["status"]) == (running["id"], "IN_PROGRESS")
    assert emu.control.counts() == {"domo.get": 1}


def test_an_allowed_cancel_reaches_the_emulator_once_and_is_audited(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any
) -> None:
    emu.control.configure(domo_cancel_delay=0)
    body = {"instance_ids": [running["id"], running["id"]], "wait": True, "timeout": 10}
    response = client.post(cancel_path(), json=body, headers=as_user("op"))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["counts"]["cancelled"] == 1
    assert answer["instances"] == [
        {"instance_id": running["id"], "outcome": "cancelled", "status": "CANCELED", "error": None}
    ]
    assert emu.control.counts()["domo.cancel"] == 1
    assert emu.control.domo_instance(running["id"])["status"] == "CANCELED"
    [(owner, extra)] = audit_rows(running["id"])
    assert owner == "op"
    assert extra["connection_id"] == "domo_default"
    assert (extra["service"], extra["outcome"], extra["source"]) == (
        "domo",
        "cancelled",
        "Remote instances page",
    )


def test_a_cancel_is_audited_even_when_the_started_by_lookup_fails(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any, mocker: Any
) -> None:
    mocker.patch("airflow_provider_wfcancel.ui.app.started_by", side_effect=RuntimeError("XCom table locked"))
    response = client.post(cancel_path(), json={"instance_ids": [running["id"]]}, headers=as_user("op"))
    assert response.status_code == 200, response.text
    assert emu.control.counts()["domo.cancel"] == 1
    [(owner, extra)] = audit_rows(running["id"])
    assert (owner, extra["outcome"], extra["started_by"]) == ("op", "cancel_requested", None)


def test_a_cancel_is_audited_even_when_its_wait_fails(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any, mocker: Any
) -> None:
    mocker.patch("airflow_provider_wfcancel._bulk_path.poll", side_effect=RuntimeError("database gone"))
    body = {"instance_ids": [running["id"]], "wait": True, "timeout": 10}
    with pytest.raises(RuntimeError, match="database gone"):  # the test client re-raises the app's error
        client.post(cancel_path(), json=body, headers=as_user("op"))
    assert emu.control.counts()["domo.cancel"] == 1
    [(owner, extra)] = audit_rows(running["id"])
    assert (owner, extra["outcome"]) == ("op", "cancel_requested")


def test_a_cookie_session_must_prove_same_origin(
    client: Any, token_for: Any, running: dict[str, Any], emu: Any
) -> None:
    client.cookies.set("_token", token_for("op"))
    body = {"instance_ids": [running["id"]]}
    refused = [
        client.post(cancel_path(), json=body),  # a form or script of another site cannot add the header
        client.post(cancel_path(), json=body, headers={CSRF_HEADER: "1", "Sec-Fetch-Site": "cross-site"}),
        client.post(cancel_path(), json=body, headers={CSRF_HEADER: "1", "Origin": "https://evil.example"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert "cross-site request refused" in refused[0].json()["detail"]
    assert emu.control.requests() == []
    headers = {CSRF_HEADER: "1", "Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    accepted = client.post(cancel_path(), json=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert emu.control.counts()["domo.cancel"] == 1
    assert [owner for owner, _ in audit_rows(running["id"])] == ["op"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"instance_ids": ["../../users/me"]},
            "instance_id '../../users/me' contains characters not allowed",
        ),
        ({"instance_ids": ["5f1c9a52 0000"]}, "instance_id '5f1c9a52 0000' is not a valid id"),
        ({"instance_ids": ["None"]}, "instance_id is 'None', which is what a template renders"),
        ({"instance_ids": []}, "instance_ids is empty"),
        ({"instance_ids": "5f1c9a52-0000-4000-8000-000000000001"}, "instance_ids must be a list of ids"),
        ({"ids": ["x"]}, "unknown field(s) in the body: ['ids']"),
        ({"instance_ids": ["5f1c9a52-0000-4000-8000-000000000001"], "wait": "soon"}, "wait_for_termination"),
        (
            {"instance_ids": ["5f1c9a52-0000-4000-8000-000000000001"], "timeout": 600},
            "timeout must be at most",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field_before_any_request(
    client: Any, as_user: Any, domo_conn: str, emu: Any, body: dict[str, Any], message: str
) -> None:
    response = client.post(cancel_path(), json=body, headers=as_user("op"))
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert emu.control.requests() == []


def test_a_body_that_is_not_json_is_400(client: Any, as_user: Any, domo_conn: str, emu: Any) -> None:
    headers = {**as_user("op"), "Content-Type": "application/json"}
    response = client.post(cancel_path(), content=b"instance_ids=1", headers=headers)
    assert (response.status_code, response.json()["detail"]) == (400, "the body is not valid JSON")
    form = client.post(cancel_path(), data={"instance_ids": "x"}, headers=as_user("op"))
    assert form.status_code == 400
    assert emu.control.requests() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "model_id is required but got None"),
        ({"model_id": "no pe"}, "model_id 'no pe' is not a valid id"),
        ({"model_id": MODEL, "limit": "0"}, "limit must be a whole number from 1 to 500"),
        ({"model_id": MODEL, "include_finished": "maybe"}, "include_finished must be true or false"),
    ],
)
def test_bad_listing_filters_are_400(
    client: Any, as_user: Any, domo_conn: str, emu: Any, params: dict[str, str], message: str
) -> None:
    response = client.get(instances_path(), params=params, headers=as_user("op"))
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert emu.control.requests() == []


def test_an_unknown_connection_is_404_and_a_foreign_type_400(
    client: Any, as_user: Any, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = client.post(cancel_path("nowhere"), json={"instance_ids": ["x"]}, headers=as_user("op"))
    assert missing.status_code == 404
    assert "connection 'nowhere' is not defined" in missing.json()["detail"]
    monkeypatch.setenv("AIRFLOW_CONN_SOME_HTTP", '{"conn_type": "http", "host": "example.com"}')
    foreign = client.get(instances_path("some_http"), headers=as_user("op"))
    assert foreign.status_code == 400
    assert "connection_id: the connection is of type 'http'" in foreign.json()["detail"]
    assert emu.control.requests() == []


def test_service_failures_map_to_gateway_statuses(
    client: Any, as_user: Any, running: dict[str, Any], emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.control.inject_fault("domo.get", status=503, count=10)
    unavailable = client.get(f"{instances_path()}/{running['id']}", headers=as_user("op"))
    assert unavailable.status_code == 503
    assert "Domo kept failing with a transient error" in unavailable.json()["detail"]
    emu.control.clear_faults()
    unknown = client.get(f"{instances_path()}/5f1c9a52-0000-4000-8000-00000000dead", headers=as_user("op"))
    assert unknown.status_code == 404
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_WRONG",
        json.dumps({"conn_type": "domo", "host": emu.base_url, "password": "not-a-known-token"}),
    )
    rejected = client.get(instances_path("domo_wrong"), params={"model_id": MODEL}, headers=as_user("op"))
    assert rejected.status_code == 502
    assert "Domo rejected the credentials" in rejected.json()["detail"]
    assert "not-a-known-token" not in rejected.text
