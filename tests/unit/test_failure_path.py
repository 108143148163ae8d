"""Failure details through the hooks and ``_failure_path`` against the emulator (and, for a failed read,
a transport mock): what EnOS' graph and task logs give, what a Domo record gives, the bounds, redaction,
and that reading them never raises."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_wfcancel._failure_path import End, failure_detail, redacted
from airflow_provider_wfcancel._protocol.failure import DetailBounds
from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_APP_SECRET
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator
from tests.unit.sensors.test_enos import emu_fast  # noqa: F401  # the fixture: EnOS instances start at once

log = logging.getLogger("airflow_provider_wfcancel.test.failure")
REASON = "table sales_daily has no partition 2026-12-06"


def failed_instance(emu: Any, **failure: Any) -> str:
    instance_id = str(emu.control.create_enos_instance(flow_id=4343, runs_for=600)["instanceId"])
    emu.control.fail_enos_instance(instance_id, **failure)
    return instance_id


def test_enos_detail_names_the_failed_task_and_ends_with_its_log(emu_fast: Any) -> None:  # noqa: F811
    instance_id = failed_instance(
        emu_fast, task=434302, reason=REASON, log=["loading sales_daily", "query failed"]
    )
    detail = EnosHook().failure_detail(instance_id)
    assert (detail["status"], detail["message"], detail["error"], detail["tasks_not_shown"]) == (
        "FAIL",
        None,
        None,
        0,
    )
    assert detail["record"]["flowId"] == 4343
    (task,) = detail["tasks"]
    assert (task["name"], task["task_id"], task["status"]) == ("task_434302", "434302", "FAIL")
    assert task["task_instance_id"] == f"434302-{instance_id.split('-')[1]}"
    assert task["log"][-5:] == [
        "task_434302 started",
        "loading sales_daily",
        "query failed",
        f"ERROR {REASON}",
        "task_434302 ended with status FAIL",
    ]
    assert (task["log_truncated"], task["log_error"]) == (False, None)
    assert emu_fast.control.counts()["enos.taskinstance.getLog"] == 1


def without_clock(detail: Any) -> Any:
    """``detail`` without its logs' "current time" lines (the emulator, as EnOS, stamps each read)."""
    for task in detail["tasks"]:
        task["log"] = [line for line in task["log"] if not line.startswith("current time:")]
    return detail


async def test_the_async_twin_reads_the_same(emu_fast: Any) -> None:  # noqa: F811
    instance_id = failed_instance(emu_fast, task=434301, reason=REASON)
    detail = await EnosHook().afailure_detail(instance_id)
    assert without_clock(detail) == without_clock(EnosHook().failure_detail(instance_id))
    assert detail["tasks"][0]["log"][-2] == f"ERROR {REASON}"


def test_a_huge_log_is_cut_to_the_bounds(emu_fast: Any) -> None:  # noqa: F811
    noise = [f"{n:05d} " + "x" * 294 for n in range(3000)]  # 900 KB
    instance_id = failed_instance(emu_fast, reason=REASON, log=noise)
    (whole,) = EnosHook().failure_detail(instance_id)["tasks"]  # whole lines, for the redaction
    assert len(whole["log"]) == 20
    (task,) = redacted(EnosHook().failure_detail(instance_id))["tasks"]  # then cut to the bytes
    assert len(task["log"]) <= 20
    assert sum(len(line.encode()) for line in task["log"]) <= 4096
    assert task["log"][-2:] == [f"ERROR {REASON}", "task_434303 ended with status FAIL"]
    assert task["log_truncated"] is True
    (short,) = EnosHook().failure_detail(instance_id, bounds=DetailBounds(max_lines=3))["tasks"]
    assert short["log"] == [noise[-1], f"ERROR {REASON}", "task_434303 ended with status FAIL"]


def test_at_most_max_tasks_failed_tasks_and_no_request_for_a_malformed_id(emu_fast: Any) -> None:  # noqa: F811
    nodes = [{"taskName": f"t{n}", "taskInstId": "../x", "taskId": n, "status": "FAIL"} for n in range(5)]
    state = InstanceState("EnOS", "4343-20261207000000", "FAIL", True, False, raw={"graph": {"tasks": nodes}})
    detail = EnosHook().failure_detail(state.instance_id, state)
    assert [task["name"] for task in detail["tasks"]] == ["t0", "t1", "t2"]
    assert detail["tasks_not_shown"] == 2
    assert {task["log_error"] for task in detail["tasks"]} == {
        "not read: the graph names no well-formed task instance id"
    }
    assert emu_fast.control.counts() == {}


def test_a_task_without_a_log_is_reported_without_retries(emu_fast: Any) -> None:  # noqa: F811
    running = emu_fast.control.create_enos_instance(flow_id=4343, runs_for=600)  # task 2 has not run
    graph = {"tasks": [{"taskName": "t", "taskInstId": f"434303-{running['instanceId'].split('-')[1]}"}]}
    graph["tasks"][0]["status"] = "FAIL"
    state = InstanceState("EnOS", running["instanceId"], "FAIL", True, False, raw={"graph": graph})
    (task,) = EnosHook().failure_detail(state.instance_id, state)["tasks"]
    assert "EnOS has no log for this task instance" in str(task["log_error"])
    assert emu_fast.control.counts()["enos.taskinstance.getLog"] == 1  # 62109 "No log found": not retried


def test_a_log_read_that_fails_becomes_the_tasks_log_error(emu_fast: Any) -> None:  # noqa: F811
    instance_id = failed_instance(emu_fast, reason=REASON)
    emu_fast.control.inject_fault("enos.taskinstance.getLog", status=500, count=10)
    (task,) = EnosHook().failure_detail(instance_id)["tasks"]
    assert (task["status"], task["log"]) == ("FAIL", [])
    assert "500" in str(task["log_error"])


def test_the_path_redacts_logs_every_secret_and_summarizes(
    emu_fast: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    leaked = f"connecting with {DEFAULT_ENOS_APP_SECRET}"  # the connection's secret, registered when read
    instance_id = failed_instance(emu_fast, reason=REASON, log=[leaked])
    hook = EnosHook()
    pushed: dict[str, Any] = {}
    detail = failure_detail(
        hook,
        End(instance_id, "FAIL", False, False),
        log,
        push=lambda key, value: pushed.update({key: value}),
    )
    assert detail is not None
    assert pushed == {"failure_detail": detail}
    text = "\n".join(detail["tasks"][0]["log"])
    assert "connecting with ***" in text
    assert "--db-password=" in text
    assert DEFAULT_ENOS_APP_SECRET not in text
    assert "emulator-fake-password" not in text
    assert DEFAULT_ENOS_APP_SECRET not in caplog.text
    assert "emulator-fake-password" not in caplog.text
    assert f"EnOS instance {instance_id} ended FAIL; failed tasks: task_434303 (FAIL)" in caplog.text
    assert f"    ERROR {REASON}" in caplog.text


@pytest.mark.parametrize(
    ("status", "success", "cancelled"), [("SUCCESS", True, False), ("CANCEL", False, True)]
)
def test_no_detail_and_no_request_for_an_end_that_is_no_failure(
    emu_fast: Any,  # noqa: F811
    status: str,
    success: bool,
    cancelled: bool,
) -> None:
    assert failure_detail(EnosHook(), End("4343-20261207000000", status, success, cancelled), log) is None
    assert emu_fast.control.counts() == {}


def test_domo_detail_is_what_the_record_holds(emu: Any, domo_conn: str) -> None:
    created = emu.control.create_domo_instance(
        model_name="Nightly", status="FAILED", failure_reason="Tile 'score' failed: division by zero"
    )
    detail = DomoHook().failure_detail(created["id"])
    assert detail == {
        "status": "FAILED",
        "message": "Tile 'score' failed: division by zero",
        "record": {
            key: created[key]
            for key in ("modelId", "modelName", "modelVersion", "createdOn", "updatedOn", "updatedBy")
        },
        "tasks": [],
        "tasks_not_shown": 0,
        "error": None,
    }


def test_a_detail_read_that_fails_never_raises(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import connection_json

    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host="https://acme.domo.com", password="t0ken", extra={"max_retries": 0}),
    )
    instance = "613b7df4-7a2c-4c64-9e0b-2b8f0f3c9a11"
    requests_mock.get(f"https://acme.domo.com/api/workflow/v1/instances/{instance}", status_code=404)
    detail = failure_detail(DomoHook(), End(instance, "FAILED", False, False), log)
    assert detail is not None
    assert (detail["status"], detail["tasks"], detail["message"]) == ("FAILED", [], None)
    assert "404" in str(detail["error"])
    assert f"Could not read why Domo instance {instance} failed" in caplog.text


def test_a_cancel_that_finds_the_instance_failed_returns_why(emu_fast: Any, context: dict[str, Any]) -> None:  # noqa: F811
    instance_id = failed_instance(emu_fast, reason=REASON)
    result = EnosCancelFlowInstanceOperator(task_id="cancel", flow_instance_id=instance_id).execute(context)
    assert (result["outcome"], result["final_status"]) == ("already_finished", "FAIL")
    assert result["failure_detail"] is not None
    assert result["failure_detail"]["tasks"][0]["log"][-2] == f"ERROR {REASON}"
    assert context["ti"].xcoms["failure_detail"] == result["failure_detail"]


async def test_the_async_cancel_path_returns_why_too(emu_fast: Any) -> None:  # noqa: F811
    from airflow_provider_wfcancel._cancel_path import CancelPlan, acancel

    instance_id = failed_instance(emu_fast, reason=REASON)
    result = await acancel(EnosHook(), instance_id, CancelPlan(), log=log)
    assert (result["outcome"], result["final_status"]) == ("already_finished", "FAIL")
    assert result["failure_detail"] is not None
    assert result["failure_detail"]["tasks"][0]["log"][-2] == f"ERROR {REASON}"


def test_a_cut_never_leaves_a_piece_of_a_secret() -> None:
    """The byte bound falls inside a registered secret: the secret is masked first, so no piece of it is
    kept (a piece would match no masker, in XCom or in Airflow's log)."""
    from airflow_provider_wfcancel._protocol.failure import DEFAULT_BOUNDS, tail
    from airflow_provider_wfcancel.version_compat import mask_secret

    secret = "S3cr3t-EnOS-app-secret-0123456789"
    mask_secret(secret)
    # one line whose last max_bytes start in the middle of the secret
    line = "x" * 5_000 + secret + "z" * (DEFAULT_BOUNDS.max_bytes - 10)
    lines, cut = tail(line, DEFAULT_BOUNDS.max_lines, DEFAULT_BOUNDS.max_bytes)
    detail: Any = {"tasks": [{"log": lines, "log_truncated": cut}]}
    (shown,) = redacted(detail)["tasks"][0]["log"]
    assert len(shown.encode()) <= DEFAULT_BOUNDS.max_bytes
    pieces = {secret[i : i + 6] for i in range(len(secret) - 5)}
    assert not any(piece in shown for piece in pieces), shown[:80]
