"""Deferrable operators: defer after the request, resume in ``execute_complete`` with the SAME result.

Each scenario runs twice, the non-deferred way and the deferred way (``execute`` -> ``TaskDeferred`` ->
the serialized trigger re-created and run -> a NEW operator's ``execute_complete``), against the same
service answers, and the two results (and XCom pushes) must be equal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests_mock as rm
import respx

from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_ORG_ID
from airflow_provider_wfcancel.exceptions import (
    AlreadyFinishedError,
    NotFoundError,
    RemoteInstanceCancelledError,
    RemoteInstanceFailedError,
    WaitTimeoutError,
    WfCancelError,
)
from airflow_provider_wfcancel.operators._base import DEFER_TIMEOUT_GRACE, BaseServiceOperator
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator, DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator, EnosTriggerFlowOperator
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger
from tests.airflow_compat import TaskDeferred, as_stored, deserialize, import_string, serialize
from tests.conftest import FakeTaskInstance, connection_json
from tests.unit.hooks.test_domo import CANCEL_URL, GET_URL, INSTANCE, TOKEN, instance

START_URL = "https://acme.domo.com/api/workflow/v1/instances/message"
DOMO_URL = f"https://acme.domo.com/workflows/instances/f5d7bbff-0000-4000-8000-000000000001/1.3.10/{INSTANCE}"


@pytest.fixture(autouse=True)
def _acme_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_DEFAULT", connection_json("domo", host="acme", password=TOKEN))


def new_context() -> dict[str, Any]:
    return {"ti": FakeTaskInstance(), "params": {}}


def defer(operator: BaseServiceOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        operator.execute(context)
    return info.value


async def run_trigger(deferred: TaskDeferred) -> dict[str, Any]:
    """What the triggerer does: rebuild the trigger from its serialized form, take its one event."""
    classpath, kwargs = deferred.trigger.serialize()
    trigger = import_string(classpath)(**deserialize(serialize(kwargs)))
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = deserialize(serialize(events[0]))
    return payload


async def resume(make: Callable[[], BaseServiceOperator], deferred: TaskDeferred, context: Any) -> Any:
    """Resume like the task runner: a NEW operator, ``method_name(context, event=..., **kwargs)``."""
    event = await run_trigger(deferred)
    next_kwargs = deserialize(serialize(deferred.kwargs or {}))
    return getattr(make(), deferred.method_name)(context, event=event, **next_kwargs)


# -- Domo, against transport mocks (requests-mock for the worker, respx for the triggerer) ------------------


def domo_cancel(**kwargs: Any) -> DomoCancelWorkflowOperator:
    return DomoCancelWorkflowOperator(
        task_id="cancel", instance_id=INSTANCE, **{"poll_interval": 0.01, "timeout": 5, **kwargs}
    )


@pytest.mark.parametrize(
    ("at_request", "polls", "outcome"),
    [
        ("IN_PROGRESS", ["IN_PROGRESS", "CANCELED"], "cancelled"),
        ("IN_PROGRESS", ["IN_PROGRESS", "COMPLETED"], "already_finished"),
        (None, ["CANCELED"], "cancelled"),
    ],
    ids=["cancelled", "completed-while-waiting", "not-started"],
)
async def test_domo_cancel_deferred_equals_non_deferred(
    requests_mock: rm.Mocker, at_request: str | None, polls: list[str], outcome: str
) -> None:
    requests_mock.post(CANCEL_URL, json=instance(at_request))
    requests_mock.get(GET_URL, [{"json": instance(s)} for s in polls])
    sync_context = new_context()
    expected = domo_cancel().execute(sync_context)
    assert expected["outcome"] == outcome

    context = new_context()
    deferred = defer(domo_cancel(deferrable=True), context)
    assert [r.method for r in requests_mock.request_history[-1:]] == ["POST"]  # cancel sent, no sync poll
    assert context["ti"].xcoms == sync_context["ti"].xcoms == {"instance_id": INSTANCE, "url": DOMO_URL}
    with respx.mock:
        respx.get(GET_URL).mock(side_effect=[httpx.Response(200, json=instance(s)) for s in polls])
        result = await resume(lambda: domo_cancel(deferrable=True), deferred, context)
    assert result == expected
    json.dumps(result)


def test_domo_cancel_defers_with_an_absolute_deadline(requests_mock: rm.Mocker) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    before = time.time()
    deferred = defer(domo_cancel(deferrable=True, timeout=300, poll_interval=7), new_context())
    after = time.time()
    trigger = deferred.trigger
    assert isinstance(trigger, DomoInstanceTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_wfcancel.triggers.domo.DomoInstanceTrigger"
    assert before + 300 <= kwargs["deadline"] <= after + 300
    assert (kwargs["conn_id"], kwargs["instance_id"], kwargs["poll_interval"]) == (
        "domo_default",
        INSTANCE,
        7,
    )
    assert kwargs["cancel_on_kill"] is False  # a cancel operator's trigger never cancels
    assert deferred.method_name == "execute_complete"
    assert deferred.kwargs == {
        "resume": {
            "instance_id": INSTANCE,
            "status_at_request": "IN_PROGRESS",
            "url": DOMO_URL,
            "response": instance("IN_PROGRESS"),
        }
    }
    assert kwargs["resume"] == deferred.kwargs["resume"]
    assert isinstance(deferred.timeout, timedelta)
    assert 300 + DEFER_TIMEOUT_GRACE - 1 <= deferred.timeout.total_seconds() <= 300 + DEFER_TIMEOUT_GRACE
    json.dumps(kwargs)
    json.dumps(deferred.kwargs)


def test_execution_timeout_caps_the_deadline(requests_mock: rm.Mocker) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    op = domo_cancel(deferrable=True, timeout=600, execution_timeout=timedelta(seconds=60))
    context = new_context()
    context["ti"].start_date = datetime.now(UTC) - timedelta(seconds=20)
    deferred = defer(op, context)
    deadline = deferred.trigger.serialize()[1]["deadline"]
    assert time.time() + 35 <= deadline <= time.time() + 41


@pytest.mark.parametrize(
    ("kwargs", "answer"),
    [({"wait_for_termination": False}, "IN_PROGRESS"), ({}, "COMPLETED")],
    ids=["not-waiting", "already-finished"],
)
def test_domo_cancel_does_not_defer_when_there_is_nothing_to_wait_for(
    requests_mock: rm.Mocker, kwargs: dict[str, Any], answer: str
) -> None:
    requests_mock.post(CANCEL_URL, json=instance(answer))
    result = domo_cancel(deferrable=True, **kwargs).execute(new_context())
    assert result["outcome"] in ("cancel_requested", "already_finished")
    assert requests_mock.call_count == 1


def test_deferrable_defaults_to_the_config_and_init_does_no_io(requests_mock: rm.Mocker) -> None:
    assert domo_cancel().deferrable is False  # [operators] default_deferrable is not set in tests
    assert domo_cancel(deferrable=True).deferrable is True
    assert requests_mock.call_count == 0


def test_fail_if_already_finished_holds_after_resuming() -> None:
    resume_data = {"instance_id": INSTANCE, "status_at_request": "IN_PROGRESS", "url": None, "response": {}}
    event = {
        "status": "success",
        "instance_id": INSTANCE,
        "final_status": "COMPLETED",
        "is_cancelled": False,
        "is_success": True,
        "url": None,
    }
    op = domo_cancel(fail_if_already_finished=True)
    with pytest.raises(AlreadyFinishedError, match="had already finished"):
        op.execute_complete(new_context(), event=event, resume=resume_data)


# -- bad or failing events ------------------------------------------------------------------------------------

RESUME = {"instance_id": INSTANCE, "status_at_request": None, "url": None, "response": {}}


@pytest.mark.parametrize(
    ("event", "resume_data", "error", "message"),
    [
        (None, RESUME, WfCancelError, "resumed without a trigger event"),
        ({"status": "weird", "instance_id": INSTANCE}, RESUME, WfCancelError, "unknown status 'weird'"),
        (
            {"status": "timeout", "instance_id": INSTANCE, "message": "did not reach a terminal status by"},
            RESUME,
            WaitTimeoutError,
            "did not reach a terminal status by",
        ),
        (
            {"status": "error", "instance_id": INSTANCE, "error_class": "NotFoundError", "message": "gone"},
            RESUME,
            NotFoundError,
            "gone",
        ),
        (
            {"status": "error", "instance_id": INSTANCE, "error_class": "KeyError", "message": "odd"},
            RESUME,
            WfCancelError,
            "odd",
        ),
        ({"status": "success", "instance_id": INSTANCE, "final_status": "X"}, None, WfCancelError, "saved"),
        (
            {"status": "success", "instance_id": "other", "final_status": "X"},
            RESUME,
            WfCancelError,
            "about instance 'other'",
        ),
    ],
    ids=[
        "none",
        "unknown-status",
        "timeout",
        "error-class-kept",
        "error-unknown-class",
        "no-resume",
        "mismatch",
    ],
)
def test_execute_complete_fails_loudly(
    event: Any, resume_data: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        domo_cancel().execute_complete(new_context(), event=event, resume=resume_data)
    if error is WfCancelError:
        assert type(info.value) is WfCancelError


def test_resume_data_echoed_in_the_event_is_the_fallback() -> None:
    """dag.test() on Airflow <= 3.3.2 drops the defer kwargs and passes only the event."""
    event = {
        "status": "success",
        "instance_id": INSTANCE,
        "final_status": "CANCELED",
        "is_cancelled": True,
        "is_success": False,
        "url": DOMO_URL,
        "resume": {**RESUME, "status_at_request": "IN_PROGRESS"},
    }
    result = domo_cancel().execute_complete(new_context(), event=event)
    assert (result["outcome"], result["status_at_request"], result["url"]) == (
        "cancelled",
        "IN_PROGRESS",
        DOMO_URL,
    )


# -- Domo start ------------------------------------------------------------------------------------------------


def domo_start(**kwargs: Any) -> DomoStartWorkflowOperator:
    defaults: dict[str, Any] = {
        "model_id": "f5d7bbff-0000-4000-8000-000000000001",
        "version": "1.3.10",
        "message_name": "Start AddTwoNumbers",
        "wait_for_completion": True,
        "poll_interval": 0.01,
        "timeout": 5,
    }
    return DomoStartWorkflowOperator(task_id="start", **{**defaults, **kwargs})


async def test_domo_start_deferred_equals_non_deferred(requests_mock: rm.Mocker) -> None:
    polls = ["IN_PROGRESS", "COMPLETED"]
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, [{"json": instance(s)} for s in polls])
    sync_context = new_context()
    expected = domo_start().execute(sync_context)

    context = new_context()
    deferred = defer(domo_start(deferrable=True), context)
    assert deferred.trigger.serialize()[1]["cancel_on_kill"] is True
    assert context["ti"].xcoms == sync_context["ti"].xcoms
    with respx.mock:
        respx.get(GET_URL).mock(side_effect=[httpx.Response(200, json=instance(s)) for s in polls])
        result = await resume(lambda: domo_start(deferrable=True), deferred, context)
    assert (
        result
        == expected
        == {
            "service": "domo",
            "instance_id": INSTANCE,
            "url": DOMO_URL,
            "status_at_start": None,
            "final_status": "COMPLETED",
            "failure_detail": None,
        }
    )


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
async def test_domo_start_deferred_fails_unless_completed(requests_mock: rm.Mocker, status: str) -> None:
    requests_mock.post(START_URL, json=instance(None))
    requests_mock.get(GET_URL, json=instance(status))
    with pytest.raises(RemoteInstanceFailedError) as sync_error:
        domo_start().execute(new_context())
    deferred = defer(domo_start(deferrable=True), new_context())
    with respx.mock:
        respx.get(GET_URL).mock(return_value=httpx.Response(200, json=instance(status)))
        with pytest.raises(RemoteInstanceFailedError) as deferred_error:
            await resume(lambda: domo_start(deferrable=True), deferred, new_context())
    assert str(deferred_error.value) == str(sync_error.value)
    assert f"ended with status {status}" in str(deferred_error.value)
    cancelled = status == "CANCELED"  # its own class, which the retry policy does not retry
    assert isinstance(sync_error.value, RemoteInstanceCancelledError) is cancelled
    assert isinstance(deferred_error.value, RemoteInstanceCancelledError) is cancelled


def test_domo_start_without_waiting_or_cancel_on_kill(requests_mock: rm.Mocker) -> None:
    requests_mock.post(START_URL, json=instance(None))
    result = domo_start(deferrable=True, wait_for_completion=False).execute(new_context())
    assert result["final_status"] is None
    deferred = defer(domo_start(deferrable=True, cancel_on_kill=False), new_context())
    assert deferred.trigger.serialize()[1]["cancel_on_kill"] is False


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_domo_start_timeout_event_cancels_only_with_cancel_on_kill(
    requests_mock: rm.Mocker, cancel_on_kill: bool
) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("CANCELED"))
    event = {"status": "timeout", "instance_id": INSTANCE, "last_status": "IN_PROGRESS", "message": "late"}
    resume_data = {"instance_id": INSTANCE, "url": None, "status_at_start": None}
    with pytest.raises(WaitTimeoutError, match="late"):
        domo_start(cancel_on_kill=cancel_on_kill).execute_complete(
            new_context(),
            event=event,
            resume=resume_data,
        )
    cancels = [r for r in requests_mock.request_history if r.url == CANCEL_URL]
    assert len(cancels) == (1 if cancel_on_kill else 0)


# -- EnOS, against the emulator (ids and request ids differ between the two runs) -----------------------------


@pytest.fixture
def emu_fast(emu: Any, enos_conn: str) -> Any:
    emu.control.configure(enos_start_delay=0, enos_cancel_delay=0.1, enos_run_seconds=2.0)
    return emu


def same_but_ids(result: dict[str, Any], instance_id: str) -> dict[str, Any]:
    """The result with this run's instance id and EnOS requestId replaced by placeholders."""
    text = json.dumps(result).replace(instance_id, "<instance>")
    normalized: dict[str, Any] = json.loads(text)
    if isinstance(normalized.get("response"), dict) and "requestId" in normalized["response"]:
        normalized["response"]["requestId"] = "<request-id>"
    return normalized


def enos_cancel(instance_id: str, **kwargs: Any) -> EnosCancelFlowInstanceOperator:
    return EnosCancelFlowInstanceOperator(
        task_id="cancel", flow_instance_id=instance_id, **{"poll_interval": 0.02, "timeout": 5, **kwargs}
    )


async def test_enos_cancel_deferred_equals_non_deferred(emu_fast: Any) -> None:
    first = emu_fast.control.create_enos_instance(status=2, runs_for=60)["instanceId"]
    second = emu_fast.control.create_enos_instance(status=2, runs_for=60)["instanceId"]
    expected = enos_cancel(first).execute(new_context())
    context = new_context()
    deferred = defer(enos_cancel(second, deferrable=True), context)
    result = await resume(lambda: enos_cancel(second, deferrable=True), deferred, context)
    assert result["outcome"] == "cancelled"
    assert same_but_ids(result, second) == same_but_ids(expected, first)
    assert context["ti"].xcoms == as_stored({"instance_id": second, "url": None})


async def test_enos_user_and_org_reach_the_trigger(emu_fast: Any) -> None:
    emu_fast.control.add_enos_user("u15000000000101", DEFAULT_ENOS_ORG_ID)
    instance_id = emu_fast.control.create_enos_instance(
        status=2, owner_user_id="u15000000000101", runs_for=60
    )["instanceId"]

    def make() -> EnosCancelFlowInstanceOperator:
        return enos_cancel(
            instance_id, deferrable=True, user_id="u15000000000101", org_id=DEFAULT_ENOS_ORG_ID
        )

    deferred = defer(make(), new_context())
    assert isinstance(deferred.trigger, EnosFlowInstanceTrigger)
    kwargs = deferred.trigger.serialize()[1]
    assert (kwargs["user_id"], kwargs["org_id"]) == ("u15000000000101", DEFAULT_ENOS_ORG_ID)
    result = await resume(make, deferred, new_context())
    assert result["final_status"] == "CANCEL"
    polls = emu_fast.control.requests("enos.flowinstance.get")
    assert polls
    assert {r["query"]["userId"] for r in polls} == {"u15000000000101"}


async def test_enos_trigger_flow_deferred_equals_non_deferred(emu_fast: Any) -> None:
    def make(**kwargs: Any) -> EnosTriggerFlowOperator:
        return EnosTriggerFlowOperator(
            task_id="trigger", flow_id=777, wait_for_completion=True, poll_interval=0.05, timeout=5, **kwargs
        )

    expected = make().execute(new_context())
    context = new_context()
    deferred = defer(make(deferrable=True), context)
    instance_id = context["ti"].xcoms["instance_id"]
    result = await resume(lambda: make(deferrable=True), deferred, context)
    assert result["final_status"] == "SUCCESS"
    assert same_but_ids(result, instance_id) == same_but_ids(expected, expected["instance_id"])
