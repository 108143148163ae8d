"""The page's service layer: which connections it offers, its filters, and the row it shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.ui import service
from airflow_provider_wfcancel.ui.identity import PageConnection, check_connection_id

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"


def test_environment_connections_reads_only_the_type(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_ACME", '{"conn_type": "domo", "password": "domo-token"}')
    monkeypatch.setenv("AIRFLOW_CONN_ENOS_PPE", "enos://key:secret@apim.example.com?org_id=o1")
    monkeypatch.setenv("AIRFLOW_CONN_HTTP_X", '{"conn_type": "http"}')
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", "{not json")
    assert service.environment_connections() == {"domo_acme": "domo", "enos_ppe": "enos"}


def resolved(conn_id: str) -> PageConnection:
    from airflow.models.connection import Connection

    return PageConnection(conn_id, None, Connection.get_connection_from_secrets(conn_id))


def test_hook_for_picks_the_service_by_connection_type_and_uses_that_connection(
    domo_conn: str, enos_conn: str, mocker: Any
) -> None:
    found = resolved("domo_default")
    lookups = mocker.spy(DomoHook, "get_connection")
    hook = service.hook_for(found)
    assert isinstance(hook, DomoHook)
    assert hook.settings.base_url
    assert lookups.call_count == 0  # the resolved connection, not a second lookup
    assert isinstance(service.hook_for(resolved("enos_default")), EnosHook)


def test_hook_for_refuses_a_connection_of_another_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SOME_HTTP", '{"conn_type": "http", "host": "example.com"}')
    with pytest.raises(InvalidInputError, match="connection_id: the connection is of type 'http'"):
        service.hook_for(resolved("some_http"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "connection_id must be a non-empty string"),
        ("conn_x ", "connection_id 'conn_x ' has whitespace around it"),
        ("\tconn_x", "connection_id '\\tconn_x' has whitespace around it"),
        ("conn\x00x", "contains control characters"),
        ("conn x", "is not a connection id Airflow allows"),
        ("conn<x>", "is not a connection id Airflow allows"),
        ("x" * 251, "is not a connection id Airflow allows"),
    ],
)
def test_a_connection_id_is_taken_exactly_or_refused(value: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        check_connection_id(value)
    assert check_connection_id("Conn.x-1:(a)") == "Conn.x-1:(a)"


@pytest.mark.parametrize("value", ["0", "501", "ten", "1.5", True, -3, ""])
def test_limit_is_checked(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="limit must be a whole number from 1 to 500"):
        service.check_limit(value)


def test_domo_listing_by_version_and_with_finished_ones(emu: Any, domo_conn: str) -> None:
    old = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL, model_version="1.0.0")
    new = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL, model_version="2.0.0")
    done = emu.control.create_domo_instance(status="COMPLETED", model_id=MODEL, model_version="2.0.0")
    hook = service.hook_for(resolved("domo_default"))
    running, more = service.list_instances(hook, model_id=MODEL, version="2.0.0")
    assert ([s.instance_id for s in running], more) == ([new["id"]], False)
    everything, _ = service.list_instances(hook, model_id=MODEL, version="2.0.0", include_finished="true")
    assert {s.instance_id for s in everything} == {new["id"], done["id"]}
    capped, more = service.list_instances(hook, model_id=MODEL, limit="1")
    assert (len(capped), more) == (1, True)
    assert {s.instance_id for s in service.list_instances(hook, model_id=MODEL)[0]} == {old["id"], new["id"]}


def test_a_row_holds_what_the_page_shows_and_nothing_raw(emu: Any, enos_conn: str) -> None:
    flow = emu.control.create_enos_instance(flow_id=3377, flow_name="nightly", status=2)
    [state], _ = service.list_instances(service.hook_for(resolved("enos_default")), flow_id="3377")
    row = service.row(state)
    assert row == {
        "instance_id": flow["instanceId"],
        "service": "EnOS",
        "name": "nightly",
        "version": None,
        "status": "RUNNING",
        "is_terminal": False,
        "is_cancelled": False,
        "is_success": False,
        "started": flow["startTime"] or flow["triggerTime"],
        "url": None,
    }
