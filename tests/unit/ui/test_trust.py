"""The page's trust boundaries through the API server's own app: one identity per request (an auth manager
that denies one connection), teams (``[core] multi_team``), strict JSON, the headers of every answer, the
app's bounded places, and a listing that stops once its client has gone (a real uvicorn server)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_wfcancel._audit import PAGE_EVENT as AUDIT_EVENT
from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from airflow_provider_wfcancel.ui.pool import POOL
from tests.airflow_api import PREFIX, team_connection
from tests.airflow_compat import PAGE, needs_airflow
from tests.conftest import connection_json

pytestmark = needs_airflow((3, 1), PAGE)
TEAMS = "connection teams ([core] multi_team)"

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"


def audit_count() -> int:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(Log).filter(Log.event == AUDIT_EVENT).count()


def until(condition: Any, what: str, seconds: float = 60.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > ends:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def conn_x(emu: Any, monkeypatch: pytest.MonkeyPatch, auth_manager: Any) -> dict[str, Any]:
    """``conn_x`` (denied to ``op``) and ``conn_y`` (allowed), both Domo connections at the emulator."""
    for conn_id in ("conn_x", "conn_y"):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
            connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN, extra={"max_retries": 3}),
        )
    auth_manager.denied.add(("op", "conn_x"))
    return dict(emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL))


MALFORMED = ["conn_x%20", "%09conn_x", "conn_x%0B", "conn%00_x", "%20conn_x%20"]
CASE_VARIANTS = ["CONN_X", "Conn_X"]
VARIANTS = MALFORMED + CASE_VARIANTS


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_variant_of_a_denied_connection_id_is_refused_before_anything(
    client: Any, as_user: Any, conn_x: dict[str, Any], emu: Any, auth_manager: Any, variant: str
) -> None:
    before = audit_count()
    base = f"{PREFIX}/api/connections/{variant}"
    answers = [
        client.get(f"{base}/instances", params={"model_id": MODEL}, headers=as_user("op")),
        client.get(f"{base}/instances/{conn_x['id']}", headers=as_user("op")),
        client.post(f"{base}/cancel", json={"instance_ids": [conn_x["id"]]}, headers=as_user("op")),
    ]
    assert [a.status_code for a in answers] == [400, 400, 400], [a.text for a in answers]
    assert all(a.json()["detail"].startswith("connection_id ") for a in answers)
    assert emu.control.requests() == []
    assert audit_count() == before
    assert emu.control.domo_instance(conn_x["id"])["status"] == "IN_PROGRESS"
    if variant in MALFORMED:
        assert auth_manager.asked == []  # refused before the auth manager is even asked
    else:  # asked for the id exactly as written, never for the connection a lookup would map it to
        assert {conn_id for _, _, conn_id, _ in auth_manager.asked} == {variant}


@pytest.mark.parametrize("variant", CASE_VARIANTS)
def test_a_user_denied_the_variant_learns_nothing_of_what_exists(
    client: Any, as_user: Any, conn_x: dict[str, Any], emu: Any, auth_manager: Any, variant: str
) -> None:
    auth_manager.denied.add(("op", variant))
    answer = client.get(f"{PREFIX}/api/connections/{variant}/instances", headers=as_user("op"))
    assert answer.status_code == 403  # not the 400 that would say an AIRFLOW_CONN_* variable answers for it
    assert emu.control.requests() == []


def test_the_denied_id_itself_is_403_and_the_check_sees_the_id_the_lookup_uses(
    client: Any, as_user: Any, conn_x: dict[str, Any], emu: Any, auth_manager: Any, mocker: Any
) -> None:
    from airflow.models.connection import Connection

    lookups = mocker.spy(Connection, "get_connection_from_secrets")
    denied = client.post(
        f"{PREFIX}/api/connections/conn_x/cancel",
        json={"instance_ids": [conn_x["id"]]},
        headers=as_user("op"),
    )
    assert denied.status_code == 403
    assert lookups.call_count == 0  # not even looked up
    allowed = client.post(
        f"{PREFIX}/api/connections/conn_y/cancel",
        json={"instance_ids": [conn_x["id"]]},
        headers=as_user("op"),
    )
    assert allowed.status_code == 200, allowed.text
    assert [call.args[0] for call in lookups.call_args_list] == ["conn_y"]
    assert {(method, conn_id) for user, method, conn_id, _ in auth_manager.asked if conn_id != "conn_x"} == {
        ("GET", "conn_y"),
        ("POST", "conn_y"),
    }
    assert emu.control.counts()["domo.cancel"] == 1
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(Log).filter(Log.event == AUDIT_EVENT).order_by(Log.id.desc()).first()
        assert json.loads(row.extra)["connection_id"] == "conn_y"


def test_a_case_variant_of_a_metadata_db_connection_is_refused(
    client: Any, as_user: Any, emu: Any, auth_manager: Any
) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(Connection(conn_id="Domo_Db", conn_type="domo", host=emu.base_url, password="domo-token"))
    try:
        answer = client.get(f"{PREFIX}/api/connections/domo_db/instances", headers=as_user("op"))
        assert answer.status_code == 400
        assert "differs in case from a connection in the metadata DB" in answer.json()["detail"]
        assert {conn_id for _, _, conn_id, _ in auth_manager.asked} == {"domo_db"}
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "Domo_Db").delete()


@pytest.fixture
def teams(emu: Any, monkeypatch: pytest.MonkeyPatch, auth_manager: Any) -> Iterator[dict[str, Any]]:
    """``[core] multi_team`` on; ``domo_team_a`` belongs to team_a (metadata DB, Airflow 3.3's ``team_name``)."""
    with team_connection(monkeypatch, "domo_team_a", emu.base_url):
        yield dict(emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL))


@needs_airflow((3, 2), TEAMS)
def test_a_teams_own_connection_works_and_another_team_is_refused_as_airflow_does(
    client: Any, as_user: Any, teams: dict[str, Any], emu: Any, auth_manager: Any
) -> None:
    alice, bob = as_user("alice", ["team_a"]), as_user("bob", ["team_b"])
    base = f"{PREFIX}/api/connections/domo_team_a"
    # Airflow's own endpoint for the same connection: another team's user is refused (403).
    assert client.get("/api/v2/connections/domo_team_a", headers=bob).status_code == 403
    assert client.get("/api/v2/connections/domo_team_a", headers=alice).status_code == 200

    refused = [
        client.get(f"{base}/instances", params={"model_id": MODEL}, headers=bob),
        client.get(f"{base}/instances/{teams['id']}", headers=bob),
        client.post(f"{base}/cancel", json={"instance_ids": [teams["id"]]}, headers=bob),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert emu.control.requests() == []
    listed = client.get(f"{PREFIX}/api/connections", headers=bob).json()["connections"]
    assert "domo_team_a" not in [c["connection_id"] for c in listed]

    listing = client.get(f"{base}/instances", params={"model_id": MODEL}, headers=alice)
    assert listing.status_code == 200, listing.text
    assert [r["instance_id"] for r in listing.json()["instances"]] == [teams["id"]]
    cancelled = client.post(f"{base}/cancel", json={"instance_ids": [teams["id"]]}, headers=alice)
    assert cancelled.status_code == 200, cancelled.text
    assert emu.control.counts()["domo.cancel"] == 1
    mine = client.get(f"{PREFIX}/api/connections", headers=alice).json()["connections"]
    assert {"connection_id": "domo_team_a", "conn_type": "domo", "can_cancel": True} in mine
    # Every question about the connection named its team, the cancel's POST included.
    assert {(m, team) for _, m, conn_id, team in auth_manager.asked if conn_id == "domo_team_a"} == {
        ("GET", "team_a"),
        ("POST", "team_a"),
    }


@needs_airflow((3, 2), TEAMS)
def test_a_variable_of_the_same_id_does_not_list_a_teams_connection_to_another_team(
    client: Any, as_user: Any, teams: dict[str, Any], emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_TEAM_A", connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN)
    )
    listed = client.get(f"{PREFIX}/api/connections", headers=as_user("bob", ["team_b"])).json()
    assert "domo_team_a" not in [c["connection_id"] for c in listed["connections"]]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("Application/JSON; charset=utf-8", 200),
        ("text/plain; x=application/json", 400),
        ("application/json-patch+json", 400),
        ("text/plain", 400),
    ],
)
def test_the_body_must_be_json_by_its_media_type(
    client: Any, as_user: Any, domo_conn: str, emu: Any, content_type: str, status: int
) -> None:
    made = emu.control.create_domo_instance(status="IN_PROGRESS")
    body = json.dumps({"instance_ids": [made["id"]]})
    headers = {**as_user("op"), "Content-Type": content_type}
    answer = client.post(f"{PREFIX}/api/connections/domo_default/cancel", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert emu.control.counts().get("domo.cancel", 0) == (1 if status == 200 else 0)


def test_every_answer_says_no_store_and_nosniff(
    client: Any, as_user: Any, domo_conn: str, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"{PREFIX}/api/connections"
    answers = [
        client.get(f"{base}", headers=as_user("op")),  # 200
        client.get(f"{base}"),  # 401
        client.get(f"{base}/domo_default/instances", headers=as_user("viewer")),  # 403
        client.get(f"{base}/domo_default/instances", headers=as_user("op")),  # 400
        client.get(f"{base}/nowhere/instances", headers=as_user("op")),  # 404
        client.get(f"{PREFIX}/remote-instances", headers=as_user("op")),  # the page
    ]
    assert [a.status_code for a in answers] == [200, 401, 403, 400, 404, 200]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    monkeypatch.setattr(POOL, "max_requests", 0)
    busy = client.get(f"{base}/domo_default/instances/x", headers=as_user("op"))
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "5")
    assert "try again shortly" in busy.json()["detail"]
    assert emu.control.requests() == []


@pytest.fixture
def served_api(airflow_api: Any) -> Iterator[str]:
    """Airflow's API app served by uvicorn on a loopback port (a client can really disconnect)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(airflow_api, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    until(lambda: server.started, "uvicorn to start", 30)
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_a_listing_stops_paging_once_its_client_has_gone(
    served_api: str, token_for: Any, enos_conn: str, emu: Any
) -> None:
    emu.control.create_enos_instance(status=2)
    emu.control.inject_fault("enos.flowinstance.search", latency=1.5, count=10)
    host, port = served_api.split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(
        (
            f"GET {PREFIX}/api/connections/enos_default/instances HTTP/1.1\r\nHost: {served_api}\r\n"
            f"Authorization: Bearer {token_for('op')}\r\n\r\n"
        ).encode()
    )
    until(lambda: emu.control.counts().get("enos.flowinstance.search", 0) >= 1, "the first page request")
    client.close()  # the user closed the tab
    seen = emu.control.counts()["enos.flowinstance.search"]
    until(lambda: POOL.taken == 0, "the listing to end")
    # One search per flow type (3) without the stop; at most the page in flight when the client left
    # follows the ones the emulator had answered.
    searches = emu.control.counts()["enos.flowinstance.search"]
    assert searches <= seen + 1
    assert searches < 3
