"""A start task's record in the task state store (resumable starts), unit by unit: when it is written,
kept, read back and forgotten. The store is a stand-in here (a dict behind Airflow's accessor methods);
tests/integration/test_resumable_starts.py runs the same paths through Airflow's own store and retries."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock as rm
from pytest_mock import MockerFixture

from airflow_provider_wfcancel.exceptions import (
    InvalidInputError,
    PermissionDeniedError,
    RemoteInstanceFailedError,
    WaitTimeoutError,
)
from airflow_provider_wfcancel.operators._reattach import STATE_KEY
from tests.conftest import connection_json
from tests.unit.hooks.test_domo import CANCEL_URL, GET_URL, INSTANCE, TOKEN, instance
from tests.unit.operators.test_domo import START_URL, start_operator

RECORD = {"instance_id": INSTANCE, "url": None, "status_at_start": "IN_PROGRESS"}


@pytest.fixture(autouse=True)
def domo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_DEFAULT", connection_json("domo", host="acme", password=TOKEN))


@pytest.fixture
def stored() -> dict[str, Any]:
    return {}


@pytest.fixture
def store_context(context: dict[str, Any], stored: dict[str, Any], mocker: MockerFixture) -> dict[str, Any]:
    """The test context with a task state store: ``get``/``set``/``delete`` over ``stored``."""
    store = mocker.MagicMock(name="task_state_store")
    store.get.side_effect = lambda key, default=None: stored.get(key, default)
    store.set.side_effect = lambda key, value, **_: stored.__setitem__(key, value)
    store.delete.side_effect = lambda key: stored.pop(key, None)
    return {**context, "task_state_store": store}


def test_the_record_is_written_before_the_first_status_read_and_forgotten_when_the_instance_ends(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    seen_during_reads: list[Any] = []

    def status(request: Any, context: Any) -> dict[str, Any]:
        seen_during_reads.append(stored.get(STATE_KEY))
        return instance("COMPLETED" if len(seen_during_reads) > 1 else "IN_PROGRESS")

    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, json=status)
    result = start_operator(wait_for_completion=True).execute(store_context)
    assert result["final_status"] == "COMPLETED"
    assert [record["instance_id"] for record in seen_during_reads] == [INSTANCE, INSTANCE]
    assert STATE_KEY not in stored


def test_a_try_whose_status_read_fails_leaves_the_record_for_its_retry(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    requests_mock.post(START_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, status_code=403)
    with pytest.raises(PermissionDeniedError):
        start_operator(wait_for_completion=True).execute(store_context)
    assert stored[STATE_KEY]["instance_id"] == INSTANCE
    assert stored[STATE_KEY]["status_at_start"] == "IN_PROGRESS"


def test_a_retry_reattaches_to_the_recorded_instance_and_starts_nothing(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.get(GET_URL, [{"json": instance("IN_PROGRESS")}, {"json": instance("COMPLETED")}])
    result = start_operator(wait_for_completion=True).execute(store_context)
    assert [request.method for request in requests_mock.request_history] == ["GET", "GET"]
    assert (result["instance_id"], result["status_at_start"], result["final_status"]) == (
        INSTANCE,
        "IN_PROGRESS",
        "COMPLETED",
    )
    assert store_context["ti"].xcoms["instance_id"] == INSTANCE  # pushed again for this try
    assert STATE_KEY not in stored


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (instance("IN_PROGRESS", modelId="0a0a0a0a-0000-4000-8000-000000000001"), "is of model '0a0a0a0a-"),
        (
            instance("IN_PROGRESS", modelVersion="9.9.9"),
            "is of model version '9.9.9', the task starts '1.3.10'",
        ),
    ],
)
def test_a_recorded_instance_of_another_model_or_version_is_not_adopted(
    requests_mock: rm.Mocker,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    answer: dict[str, Any],
    reason: str,
) -> None:
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.get(GET_URL, json=answer)
    requests_mock.post(START_URL, json=instance(None))
    start_operator().execute(store_context)
    assert [request.method for request in requests_mock.request_history] == ["GET", "POST"]  # a new start
    assert reason in capsys.readouterr().out
    assert STATE_KEY not in stored


def test_a_recorded_malformed_id_is_cleared_without_a_request(
    requests_mock: rm.Mocker,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stored[STATE_KEY] = {**RECORD, "instance_id": "../x"}
    requests_mock.post(START_URL, json=instance(None))
    start_operator().execute(store_context)
    assert [request.method for request in requests_mock.request_history] == ["POST"]
    assert "malformed instance id '../x'" in capsys.readouterr().out
    assert STATE_KEY not in stored


def test_a_recorded_instance_that_ended_badly_is_the_retrys_outcome(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.get(GET_URL, json=instance("FAILED"))
    with pytest.raises(RemoteInstanceFailedError, match="ended with status FAILED"):
        start_operator(wait_for_completion=True).execute(store_context)
    assert requests_mock.call_count == 1
    assert STATE_KEY not in stored  # concluded: a further retry starts a new instance


def test_an_unreadable_record_is_cleared_with_a_warning(
    requests_mock: rm.Mocker,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stored[STATE_KEY] = "not a record"
    requests_mock.post(START_URL, json=instance(None))
    start_operator().execute(store_context)
    assert requests_mock.call_count == 1
    assert (
        "Not adopting the start record in the task state store (unreadable record" in capsys.readouterr().out
    )
    assert STATE_KEY not in stored


def test_a_store_that_refuses_the_write_is_logged_and_the_task_goes_on(
    requests_mock: rm.Mocker, store_context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    store_context["task_state_store"].set.side_effect = RuntimeError("state store down")
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, json=instance("COMPLETED"))
    assert start_operator(wait_for_completion=True).execute(store_context)["final_status"] == "COMPLETED"
    assert "(a retry will not reattach): state store down" in capsys.readouterr().out


@pytest.mark.parametrize(("cancel_on_kill", "kept"), [(True, False), (False, True)])
def test_a_timed_out_wait_keeps_the_record_unless_it_cancelled_the_instance(
    requests_mock: rm.Mocker,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    cancel_on_kill: bool,
    kept: bool,
) -> None:
    requests_mock.post(START_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    requests_mock.post(CANCEL_URL, json=instance("CANCELED"))
    with pytest.raises(WaitTimeoutError):
        start_operator(wait_for_completion=True, timeout=0, cancel_on_kill=cancel_on_kill).execute(
            store_context
        )
    assert (STATE_KEY in stored) is kept


def test_on_kill_forgets_the_instance_it_cancelled(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    requests_mock.post(START_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, [{"status_code": 403}, {"json": instance("CANCELED")}])
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    op = start_operator(wait_for_completion=True)
    with pytest.raises(PermissionDeniedError):
        op.execute(store_context)
    assert STATE_KEY in stored
    op.on_kill()
    assert STATE_KEY not in stored


def test_without_durable_the_store_is_never_touched(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.post(START_URL, json=instance(None))
    start_operator(durable=False).execute(store_context)
    assert requests_mock.call_count == 1  # started anew
    assert store_context["task_state_store"].method_calls == []


@pytest.mark.parametrize("durable", ["yes", 1, None])
def test_durable_must_be_a_boolean_checked_before_any_request(
    requests_mock: rm.Mocker, store_context: dict[str, Any], durable: Any
) -> None:
    with pytest.raises(InvalidInputError, match="durable"):
        start_operator(durable=durable).execute(store_context)
    assert requests_mock.call_count == 0


def test_a_recorded_instance_that_was_cancelled_is_concluded_and_the_retry_starts_anew(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    """A killed deferred task's trigger cancels in the triggerer, which cannot clear the record: the next
    try (a person's clear) must start a new instance, not fail on the cancelled one."""
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.get(GET_URL, json=instance("CANCELED"))
    requests_mock.post(START_URL, json=instance(None))
    start_operator().execute(store_context)
    assert [request.method for request in requests_mock.request_history] == ["GET", "POST"]
    assert STATE_KEY not in stored  # concluded after the start (no wait)


def test_a_recorded_instance_the_service_no_longer_knows_is_cleared_and_the_try_starts_anew(
    requests_mock: rm.Mocker,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not a failure of this try (a retry policy would not retry a NotFoundError): as for a cancelled
    instance, the record is cleared and this try starts the instance it is for."""
    stored[STATE_KEY] = dict(RECORD)
    requests_mock.get(GET_URL, status_code=404, json={"message": "not found"})
    requests_mock.post(START_URL, json=instance(None))
    start_operator().execute(store_context)
    assert [request.method for request in requests_mock.request_history] == ["GET", "POST"]
    assert STATE_KEY not in stored  # concluded after the start (no wait)
    log = " ".join((capsys.readouterr().out + caplog.text).split())
    assert "which an earlier try of this task started, is gone" in log


def test_a_cancel_that_fails_keeps_the_record_so_a_retry_does_not_start_a_second_instance(
    requests_mock: rm.Mocker, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    requests_mock.post(START_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    requests_mock.post(CANCEL_URL, status_code=403)
    with pytest.raises(WaitTimeoutError):
        start_operator(wait_for_completion=True, timeout=0).execute(store_context)
    assert stored[STATE_KEY]["instance_id"] == INSTANCE


def test_deferrable_is_checked_before_the_start(
    requests_mock: rm.Mocker, store_context: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="deferrable"):
        start_operator(wait_for_completion=True, deferrable="maybe").execute(store_context)
    assert requests_mock.call_count == 0


def test_an_enos_instance_the_service_no_longer_knows_clears_the_record_too(
    enos_conn: str, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    """EnOS answers an id it does not know with 62102 "... not found", which the hook reads as
    NotFoundError: the record is cleared and this try starts anew (it is not read again by every try)."""
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    gone = "3377-20190101000000"
    stored[STATE_KEY] = {"instance_id": gone, "url": None, "status_at_start": None}
    result = EnosTriggerFlowOperator(task_id="start", flow_id=3377).execute(store_context)
    assert result["instance_id"] != gone
    assert STATE_KEY not in stored


def test_the_task_log_says_where_airflow_lacks_the_store_or_the_triggers_on_kill(
    requests_mock: rm.Mocker,
    context: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Below Airflow 3.3 a retry cannot reattach and a killed deferred task is not cancelled: the start
    task says so in its log (on 3.3 it has both, and says nothing)."""
    from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_3_PLUS
    from tests.airflow_compat import TaskDeferred

    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    with pytest.raises(TaskDeferred):
        start_operator(wait_for_completion=True, deferrable=True).execute(context)
    captured = capsys.readouterr()
    log = " ".join((captured.out + captured.err + caplog.text).split())
    assert ("has no task state store (3.3+)" in log) is not AIRFLOW_V_3_3_PLUS, log
    assert ("never calls a trigger's on_kill (3.3+)" in log) is not AIRFLOW_V_3_3_PLUS, log
