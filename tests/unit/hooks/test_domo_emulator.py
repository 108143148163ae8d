"""DomoHook over real HTTP against the emulator: lifecycle, faults, retries and request counts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
)
from airflow_provider_wfcancel.hooks.domo import DomoHook
from tests.conftest import connection_json


@pytest.fixture
def hook(domo_conn: str) -> DomoHook:
    return DomoHook(domo_conn)


@pytest.fixture
def running(emu: Any) -> dict[str, Any]:
    emu.control.configure(domo_cancel_delay=0.05)
    return emu.control.create_domo_instance(model_name="Nightly", status="IN_PROGRESS")


def test_cancel_then_wait_reaches_canceled(emu: Any, hook: DomoHook, running: dict[str, Any]) -> None:
    ack = hook.cancel_instance(running["id"])
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "IN_PROGRESS"
    final = hook.wait_for_terminal(running["id"], timeout=5, poll_interval=0.02)
    assert final.is_cancelled
    assert emu.control.domo_instance(running["id"])["status"] == "CANCELED"
    assert ack.state_at_request.url == (
        f"{emu.base_url}/workflows/instances/{running['modelId']}/{running['modelVersion']}/{running['id']}"
    )


def test_started_instance_goes_from_null_to_in_progress(emu: Any, hook: DomoHook) -> None:
    emu.control.configure(domo_start_delay=0.3)
    started = hook.start_workflow("model-1", "1.0.0", "Start Nightly", {"day": "mon"})
    assert started.status is None
    assert not started.is_terminal
    time.sleep(0.35)
    assert hook.get_instance(started.instance_id).status == "IN_PROGRESS"
    listed = hook.list_instances("model-1")
    assert [s.instance_id for s in listed] == [started.instance_id]


def test_429_with_retry_after_then_success(emu: Any, hook: DomoHook, running: dict[str, Any]) -> None:
    emu.control.inject_fault("domo.cancel", status=429, retry_after="0", count=2)
    hook.cancel_instance(running["id"])
    assert emu.control.counts()["domo.cancel"] == 3


def test_5xx_burst_then_success(emu: Any, hook: DomoHook, running: dict[str, Any]) -> None:
    for status in (500, 502, 503):
        emu.control.inject_fault("domo.cancel", status=status)
    hook.cancel_instance(running["id"])
    assert emu.control.counts()["domo.cancel"] == 4


def test_persistent_5xx_fails_within_the_attempt_budget(
    emu: Any, hook: DomoHook, running: dict[str, Any]
) -> None:
    emu.control.inject_fault("domo.cancel", status=503, count=100)
    with pytest.raises(TransientError, match="after 4 attempts"):
        hook.cancel_instance(running["id"])
    assert emu.control.counts()["domo.cancel"] == 4  # max_retries=3 on the connection


def test_lost_response_of_an_applied_cancel_is_retried_safely(
    emu: Any, hook: DomoHook, running: dict[str, Any]
) -> None:
    emu.control.inject_fault("domo.cancel", mode="apply_then_drop")
    ack = hook.cancel_instance(running["id"])
    final = hook.wait_for_terminal(running["id"], timeout=5, poll_interval=0.02)
    assert emu.control.counts()["domo.cancel"] == 2
    assert final.is_cancelled
    assert ack.state_at_request is not None


def test_unknown_instance_is_not_found_without_retry(emu: Any, hook: DomoHook) -> None:
    with pytest.raises(NotFoundError, match="HTTP 404"):
        hook.cancel_instance("00000000-0000-4000-8000-000000000000")
    assert emu.control.counts()["domo.cancel"] == 1


def test_bad_token_is_rejected_without_retry(
    emu: Any, monkeypatch: pytest.MonkeyPatch, running: dict[str, Any]
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_BAD", connection_json("domo", host=emu.base_url, password="wrong-token")
    )
    with pytest.raises(AuthenticationError):
        DomoHook("domo_bad").cancel_instance(running["id"])
    assert emu.control.counts()["domo.cancel"] == 1


def test_token_without_workflow_grant_is_forbidden(
    emu: Any, monkeypatch: pytest.MonkeyPatch, running: dict[str, Any]
) -> None:
    emu.control.add_domo_token("no-grant-token", workflow_grant=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_NOGRANT", connection_json("domo", host=emu.base_url, password="no-grant-token")
    )
    with pytest.raises(PermissionDeniedError):
        DomoHook("domo_nogrant").cancel_instance(running["id"])


def test_html_block_page_is_a_permission_error(emu: Any, hook: DomoHook, running: dict[str, Any]) -> None:
    emu.control.inject_fault("domo.cancel", mode="html")
    with pytest.raises(PermissionDeniedError, match="IP allowlist"):
        hook.cancel_instance(running["id"])


def test_bad_ids_send_nothing(emu: Any, hook: DomoHook) -> None:
    for bad in ["", "None", "../../users/me", "id?x=1", "a#b", "x" * 10_000, "é"]:
        with pytest.raises(InvalidInputError):
            hook.cancel_instance(bad)
    assert emu.control.requests() == []


def test_bulk_cancel_reports_each_id(emu: Any, hook: DomoHook) -> None:
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(5)]
    finished = emu.control.create_domo_instance(status="COMPLETED")["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    items = hook.cancel_instances([*ids, finished, missing], max_workers=4)
    assert [i.instance_id for i in items] == [*ids, finished, missing]
    assert [i.ok for i in items] == [True] * 6 + [False]
    assert items[5].ack is not None
    assert items[5].ack.already_finished
    assert isinstance(items[6].error, NotFoundError)
    assert emu.control.counts()["domo.cancel"] == 7


def test_bulk_cancel_validates_every_id_first(emu: Any, hook: DomoHook) -> None:
    with pytest.raises(InvalidInputError):
        hook.cancel_instances(["ok-1", "bad/2"])
    with pytest.raises(InvalidInputError, match="not one string"):
        hook.cancel_instances("abc")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="max_workers"):
        hook.cancel_instances(["ok-1"], max_workers=0)
    assert hook.cancel_instances([]) == []
    assert emu.control.requests() == []


@pytest.mark.parametrize("mode", ["noop", "conflict"])
def test_cancel_of_a_finished_instance_is_already_finished_in_both_emulator_modes(
    emu: Any, hook: DomoHook, mode: str
) -> None:
    emu.control.configure(domo_cancel_terminal=mode)
    finished = emu.control.create_domo_instance(status="COMPLETED")["id"]
    ack = hook.cancel_instance(finished)
    assert ack.already_finished
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "COMPLETED"
    counts = emu.control.counts()
    assert counts["domo.cancel"] == 1
    assert counts.get("domo.get", 0) == (1 if mode == "conflict" else 0)


@pytest.mark.parametrize("mode", ["noop", "conflict"])
async def test_async_cancel_of_a_finished_instance_in_both_emulator_modes(
    emu: Any, hook: DomoHook, mode: str
) -> None:
    emu.control.configure(domo_cancel_terminal=mode)
    finished = emu.control.create_domo_instance(status="CANCELED")["id"]
    ack = await hook.arequest_cancel(finished)
    assert ack.already_finished
    assert ack.state_at_request is not None
    assert ack.state_at_request.is_cancelled


def test_bulk_cancel_with_conflicting_finished_instances(emu: Any, hook: DomoHook) -> None:
    emu.control.configure(domo_cancel_terminal="conflict")
    running = emu.control.create_domo_instance(status="IN_PROGRESS")["id"]
    finished = emu.control.create_domo_instance(status="FAILED")["id"]
    items = hook.cancel_instances([running, finished])
    assert [i.ok for i in items] == [True, True]
    assert items[0].ack is not None
    assert not items[0].ack.already_finished
    assert items[1].ack is not None
    assert items[1].ack.already_finished


def test_conflict_is_raised_when_the_instance_is_still_running(emu: Any, hook: DomoHook) -> None:
    running = emu.control.create_domo_instance(status="IN_PROGRESS")["id"]
    emu.control.inject_fault("domo.cancel", status=409)
    with pytest.raises(ApiError) as caught:
        hook.cancel_instance(running)
    assert (caught.value.http_status, caught.value.method) == (409, "POST")
    assert emu.control.counts()["domo.get"] == 1


def test_list_detects_the_block_page(emu: Any, hook: DomoHook) -> None:
    emu.control.inject_fault("domo.list", mode="html")
    with pytest.raises(PermissionDeniedError, match="IP allowlist"):
        hook.list_instances("model-1")


def test_port_field_reaches_the_emulator(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    host = emu.base_url.rsplit(":", 1)[0]  # http://127.0.0.1
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_JSONPORT",
        connection_json("domo", host=host, port=emu.port, password=DEFAULT_DOMO_TOKEN),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_URIPORT", f"domo://http://:{DEFAULT_DOMO_TOKEN}@127.0.0.1:{emu.port}"
    )
    for conn_id in ("domo_jsonport", "domo_uriport"):
        hook = DomoHook(conn_id)
        assert hook.settings.base_url == emu.base_url
        assert hook.test_connection()[0]


def test_bulk_cancel_builds_one_session_before_its_threads_start(
    emu: Any, hook: DomoHook, transport_threads: list[str]
) -> None:
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(4)]
    items = hook.cancel_instances(ids, max_workers=4)
    assert all(item.ok for item in items)
    assert transport_threads == [threading.current_thread().name]


async def test_async_state_against_the_emulator(hook: DomoHook, running: dict[str, Any]) -> None:
    state = await hook.aget_state(running["id"])
    assert state.status == "IN_PROGRESS"
    ack = await hook.arequest_cancel(running["id"])
    assert not ack.already_finished


def test_test_connection_against_the_emulator(
    emu: Any, hook: DomoHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hook.test_connection() == (True, f"Connected to Domo at {emu.base_url} as Emulator User 8811501")
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_BAD", connection_json("domo", host=emu.base_url, password="wrong"))
    ok, message = DomoHook("domo_bad").test_connection()
    assert not ok
    assert "Credentials rejected by Domo" in message
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DOWN",
        connection_json("domo", host="http://127.0.0.1:9", password="domo-token", extra={"max_retries": 0}),
    )
    ok, message = DomoHook("domo_down").test_connection()
    assert not ok
    assert "Could not reach Domo" in message
