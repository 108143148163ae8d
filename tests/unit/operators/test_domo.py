"""DomoCancelWorkflowOperator: result shape, outcomes, XCom pushes, logs, links and bad input."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_wfcancel.exceptions import (
    AlreadyFinishedError,
    InvalidInputError,
    RemoteInstanceFailedError,
    WaitTimeoutError,
)
from airflow_provider_wfcancel.links import DomoWorkflowInstanceLink
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator, DomoStartWorkflowOperator
from tests.conftest import connection_json
from tests.unit.hooks.test_domo import CANCEL_URL, GET_URL, INSTANCE, TOKEN, instance

URL = f"https://acme.domo.com/workflows/instances/f5d7bbff-0000-4000-8000-000000000001/1.3.10/{INSTANCE}"


@pytest.fixture(autouse=True)
def _acme_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_DEFAULT", connection_json("domo", host="acme", password=TOKEN))


def operator(**kwargs: Any) -> DomoCancelWorkflowOperator:
    return DomoCancelWorkflowOperator(
        task_id="cancel", **{"instance_id": INSTANCE, "poll_interval": 0.01, **kwargs}
    )


def test_cancel_and_wait_returns_the_full_result(
    requests_mock: rm.Mocker,
    context: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, [{"json": instance("IN_PROGRESS")}, {"json": instance("CANCELED")}])
    result = operator().execute(context)
    assert result == {
        "service": "domo",
        "instance_id": INSTANCE,
        "outcome": "cancelled",
        "status_at_request": "IN_PROGRESS",
        "final_status": "CANCELED",
        "url": URL,
        "response": instance("IN_PROGRESS"),
        "failure_detail": None,
    }
    assert context["ti"].xcoms == {"instance_id": INSTANCE, "url": URL}
    task_log = capsys.readouterr().out  # the task logger writes through structlog
    assert f"Cancelling Domo instance {INSTANCE} at https://acme.domo.com" in task_log
    assert "Domo reported status IN_PROGRESS when it received the cancel" in task_log
    assert f"Domo instance {INSTANCE} is CANCELED" in task_log
    assert "Outcome: cancelled (final status CANCELED)" in task_log
    assert TOKEN not in task_log
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("wait", [False, "False", "false"])
def test_not_waiting_returns_cancel_requested(
    requests_mock: rm.Mocker, context: dict[str, Any], wait: Any
) -> None:
    requests_mock.post(CANCEL_URL, json=instance(None))
    result = operator(wait_for_termination=wait).execute(context)
    assert (result["outcome"], result["status_at_request"], result["final_status"]) == (
        "cancel_requested",
        None,
        None,
    )
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELED"])
def test_already_finished_succeeds_by_default(
    requests_mock: rm.Mocker, context: dict[str, Any], status: str
) -> None:
    requests_mock.post(CANCEL_URL, json=instance(status))
    result = operator().execute(context)
    assert (result["outcome"], result["status_at_request"], result["final_status"]) == (
        "already_finished",
        status,
        status,
    )
    assert requests_mock.call_count == 1


def test_already_finished_fails_when_asked(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    requests_mock.post(CANCEL_URL, json=instance("COMPLETED"))
    with pytest.raises(AlreadyFinishedError, match="had already finished \\(status COMPLETED\\)"):
        operator(fail_if_already_finished=True).execute(context)


def test_instance_that_completes_while_waiting_is_already_finished(
    requests_mock: rm.Mocker, context: dict[str, Any]
) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("COMPLETED"))
    result = operator().execute(context)
    assert (result["outcome"], result["final_status"]) == ("already_finished", "COMPLETED")
    with pytest.raises(AlreadyFinishedError):
        operator(fail_if_already_finished=True).execute(context)


def test_wait_timeout_fails_with_last_status_after_pushing_ids(
    requests_mock: rm.Mocker, context: dict[str, Any]
) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    with pytest.raises(WaitTimeoutError, match="last status IN_PROGRESS"):
        operator(timeout=0.05).execute(context)
    assert context["ti"].xcoms["url"] == URL


@pytest.mark.parametrize(
    "bad", [None, "", "  ", "None", "{{ params.instance_id }}", "a/b", "..", "x?y", "x" * 300, 7, ["a"]]
)
def test_bad_ids_fail_before_any_request(requests_mock: rm.Mocker, context: dict[str, Any], bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="instance_id"):
        operator(instance_id=bad).execute(context)
    assert requests_mock.call_count == 0
    assert context["ti"].xcoms == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"timeout": -1}, "timeout"), ({"poll_interval": 0}, "poll_interval"), ({"timeout": "10"}, "timeout")],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        operator(**kwargs)
    with pytest.raises(InvalidInputError, match=message):
        start_operator(**kwargs)


def test_cancel_and_start_operators_keep_their_own_wait_defaults() -> None:
    cancel = DomoCancelWorkflowOperator(task_id="c", instance_id=INSTANCE)
    start = DomoStartWorkflowOperator(task_id="s", model_id=MODEL, version="1.0.0", message_name="Start")
    assert (cancel.timeout, cancel.poll_interval) == (600.0, 5.0)
    assert (start.timeout, start.poll_interval) == (3600.0, 10.0)
    assert (operator(timeout=0, poll_interval=0.01).timeout, operator(poll_interval=0.01).poll_interval) == (
        0.0,
        0.01,
    )


def test_bad_connection_id_fails_clearly(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="domo_conn_id must be a non-empty string"):
        operator(domo_conn_id="").execute(context)
    with pytest.raises(InvalidInputError, match="connection 'missing' is not defined"):
        operator(domo_conn_id="missing").execute(context)
    assert requests_mock.call_count == 0


def test_templated_fields_and_link() -> None:
    op = operator()
    assert set(op.template_fields) == {"instance_id", "domo_conn_id", "wait_for_termination"}
    assert [link.name for link in op.operator_extra_links] == ["Domo Workflow Instance"]
    assert isinstance(op.operator_extra_links[0], DomoWorkflowInstanceLink)


def test_constructor_does_no_io(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DOMO_DEFAULT")
    operator(instance_id="{{ params.instance_id }}", domo_conn_id="{{ params.conn }}")
    assert requests_mock.call_count == 0


def test_unrenderable_wait_flag_fails_before_any_request(
    requests_mock: rm.Mocker, context: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="wait_for_termination must be true or false"):
        operator(wait_for_termination="maybe").execute(context)
    assert requests_mock.call_count == 0


# -- DomoStartWorkflowOperator --------------------------------------------------------------------------

START_URL = "https://acme.domo.com/api/workflow/v1/instances/message"
MODEL = "f5d7bbff-0000-4000-8000-000000000001"


def start_operator(**kwargs: Any) -> DomoStartWorkflowOperator:
    defaults: dict[str, Any] = {
        "model_id": MODEL,
        "version": "1.3.10",
        "message_name": "Start AddTwoNumbers",
        "data": {"a": 1, "b": 2},
        "poll_interval": 0.01,
    }
    return DomoStartWorkflowOperator(task_id="start", **{**defaults, **kwargs})


def test_start_pushes_the_instance_at_once(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    requests_mock.post(START_URL, json=instance(None))
    result = start_operator().execute(context)
    assert result == {
        "service": "domo",
        "instance_id": INSTANCE,
        "url": URL,
        "status_at_start": None,
        "final_status": None,
        "failure_detail": None,
    }
    assert context["ti"].xcoms == {"instance_id": INSTANCE, "url": URL}
    assert requests_mock.last_request.json()["data"] == {"a": 1, "b": 2}


def test_start_and_wait_succeeds_on_completed(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, [{"json": instance("IN_PROGRESS")}, {"json": instance("COMPLETED")}])
    result = start_operator(wait_for_completion=True).execute(context)
    assert result["final_status"] == "COMPLETED"


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
def test_start_and_wait_fails_unless_completed(
    requests_mock: rm.Mocker, context: dict[str, Any], status: str
) -> None:
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, json=instance(status))
    with pytest.raises(RemoteInstanceFailedError, match=f"ended with status {status}"):
        start_operator(wait_for_completion=True).execute(context)


def test_on_kill_cancels_the_started_instance(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("CANCELED"))
    op = start_operator()
    op.execute(context)
    op.on_kill()
    assert [(r.method, r.url) for r in requests_mock.request_history] == [
        ("POST", START_URL),
        ("POST", CANCEL_URL),
        ("GET", GET_URL),
    ]


def test_on_kill_does_nothing_when_disabled_or_nothing_started(
    requests_mock: rm.Mocker, context: dict[str, Any]
) -> None:
    start_operator().on_kill()
    requests_mock.post(START_URL, json=instance(None))
    op = start_operator(cancel_on_kill=False)
    op.execute(context)
    op.on_kill()
    assert requests_mock.call_count == 1


def test_on_kill_failure_is_logged_not_raised(
    requests_mock: rm.Mocker, context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.post(CANCEL_URL, status_code=403)
    op = start_operator()
    op.execute(context)
    op.on_kill()
    assert f"Could not cancel Domo instance {INSTANCE} on kill" in capsys.readouterr().out


def _cancel_flips_status(requests_mock: rm.Mocker) -> list[str]:
    """Domo answers IN_PROGRESS until the cancel arrives, CANCELED after it; returns the cancels seen."""
    cancels: list[str] = []

    def cancel(request: Any, context: Any) -> dict[str, Any]:
        cancels.append(request.url)
        return instance("IN_PROGRESS")

    requests_mock.post(START_URL, json=instance(None))
    requests_mock.post(CANCEL_URL, json=cancel)
    requests_mock.get(
        GET_URL, json=lambda request, context: instance("CANCELED" if cancels else "IN_PROGRESS")
    )
    return cancels


def test_start_wait_timeout_cancels_the_instance_like_the_deferred_path(
    requests_mock: rm.Mocker, context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cancels = _cancel_flips_status(requests_mock)
    op = start_operator(wait_for_completion=True, timeout=0.05)
    with pytest.raises(WaitTimeoutError, match="last status IN_PROGRESS"):
        op.execute(context)
    assert cancels == [CANCEL_URL]
    assert context["ti"].xcoms == {"instance_id": INSTANCE, "url": URL}
    out = capsys.readouterr().out
    assert f"Wait timed out: cancelling Domo instance {INSTANCE} (cancel_on_kill=True)" in out
    assert f"Domo instance {INSTANCE} is now CANCELED" in out


def test_start_wait_timeout_does_not_cancel_without_cancel_on_kill(
    requests_mock: rm.Mocker, context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cancels = _cancel_flips_status(requests_mock)
    op = start_operator(wait_for_completion=True, timeout=0.05, cancel_on_kill=False)
    with pytest.raises(WaitTimeoutError, match="last status IN_PROGRESS"):
        op.execute(context)
    assert cancels == []
    assert "Wait timed out: cancelling" not in capsys.readouterr().out


def test_start_reads_no_status_after_starting(requests_mock: rm.Mocker, context: dict[str, Any]) -> None:
    """Domo's start answer already carries the status: no follow-up read."""
    requests_mock.post(START_URL, json=instance("IN_PROGRESS"))
    result = start_operator().execute(context)
    assert result["status_at_start"] == "IN_PROGRESS"
    assert [(r.method, r.url) for r in requests_mock.request_history] == [("POST", START_URL)]
