"""EnosCancelFlowInstanceOperator against the emulator: result shape, outcomes, XCom pushes and overrides."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE
from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_ORG_ID, DEFAULT_ENOS_USER_ID
from airflow_provider_wfcancel.exceptions import (
    AlreadyFinishedError,
    InvalidInputError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator
from tests.airflow_compat import as_stored

OTHER_USER = "u15000000000009"
OTHER_ORG = "o15000000000009"


@pytest.fixture
def emu_fast(emu: Any, enos_conn: str) -> Any:
    emu.control.configure(enos_start_delay=0, enos_cancel_delay=0.1)
    return emu


def operator(instance_id: str, **kwargs: Any) -> EnosCancelFlowInstanceOperator:
    return EnosCancelFlowInstanceOperator(
        task_id="cancel", flow_instance_id=instance_id, **{"poll_interval": 0.02, "timeout": 5, **kwargs}
    )


def new_instance(emu: Any, **kwargs: Any) -> str:
    instance_id: str = emu.control.create_enos_instance(**kwargs)["instanceId"]
    return instance_id


def routes(emu: Any) -> dict[str, int]:
    return {route: n for route, n in emu.control.counts().items() if n}


def test_cancel_and_wait_returns_the_full_result(
    emu_fast: Any, context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    instance_id = new_instance(emu_fast)
    result = operator(instance_id).execute(context)
    response = result["response"]
    assert isinstance(response["requestId"], str)
    assert response["requestId"]
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "outcome": "cancelled",
        "status_at_request": None,
        "final_status": "CANCEL",
        "url": None,
        "response": {"code": 0, "msg": "OK", "requestId": response["requestId"], "data": ""},
        "failure_detail": None,
    }
    json.dumps(result)
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert emu_fast.control.enos_instance(instance_id)["status"] == 8
    seen = routes(emu_fast)
    assert seen["enos.flowinstance.cancel"] == 1
    assert seen["enos.token.get"] == 1
    assert seen["enos.flowinstance.get"] >= 1
    task_log = capsys.readouterr().out
    assert f"Cancelling EnOS instance {instance_id} at {emu_fast.base_url}" in task_log
    assert f"EnOS instance {instance_id} is CANCEL" in task_log
    assert "Outcome: cancelled (final status CANCEL)" in task_log


def test_cancel_without_waiting(emu_fast: Any, context: dict[str, Any]) -> None:
    instance_id = new_instance(emu_fast)
    result = operator(instance_id, wait_for_termination=False).execute(context)
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "outcome": "cancel_requested",
        "status_at_request": None,
        "final_status": None,
        "url": None,
        "response": {"code": 0, "msg": "OK", "requestId": result["response"]["requestId"], "data": ""},
        "failure_detail": None,
    }
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert routes(emu_fast) == {"enos.token.get": 1, "enos.flowinstance.cancel": 1}


def test_already_finished_instance(emu_fast: Any, context: dict[str, Any]) -> None:
    instance_id = new_instance(emu_fast, status=1)
    result = operator(instance_id).execute(context)
    response = result["response"]
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "outcome": "already_finished",
        "status_at_request": "SUCCESS",
        "final_status": "SUCCESS",
        "url": None,
        "response": {"code": 62102, "msg": response["msg"], "requestId": response["requestId"]},
        "failure_detail": None,
    }
    assert "already finished" in response["msg"]
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert routes(emu_fast) == {
        "enos.token.get": 1,
        "enos.flowinstance.cancel": 1,
        "enos.flowinstance.get": 1,
    }


def test_finished_instance_when_enos_accepts_the_cancel(emu_fast: Any, context: dict[str, Any]) -> None:
    emu_fast.control.configure(enos_cancel_terminal_code=0)
    instance_id = new_instance(emu_fast, status=-1)
    result = operator(instance_id).execute(context)
    assert (result["outcome"], result["status_at_request"], result["final_status"]) == (
        "already_finished",
        None,
        "FAIL",
    )


def test_fail_if_already_finished(emu_fast: Any, context: dict[str, Any]) -> None:
    instance_id = new_instance(emu_fast, status=7)
    with pytest.raises(AlreadyFinishedError, match=f"EnOS instance {instance_id} had already finished"):
        operator(instance_id, fail_if_already_finished=True).execute(context)
    detail = context["ti"].xcoms.pop("failure_detail")  # it had ended TIMEOUT: why, before the task fails
    assert (detail["status"], [task["status"] for task in detail["tasks"]]) == ("TIMEOUT", ["TIMEOUT"])
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})


def test_user_and_org_overrides_reach_the_cancel_and_every_poll(
    emu_fast: Any, context: dict[str, Any]
) -> None:
    emu_fast.control.add_enos_user(OTHER_USER, OTHER_ORG)
    instance_id = new_instance(emu_fast, owner_user_id=OTHER_USER, org_id=OTHER_ORG)
    with pytest.raises(PermissionDeniedError):  # the connection's user/org may not touch it
        operator(instance_id).execute(context)
    refused = emu_fast.control.requests()
    assert {(e["query"]["userId"], e["query"]["orgId"]) for e in refused if "userId" in e["query"]} == {
        (DEFAULT_ENOS_USER_ID, DEFAULT_ENOS_ORG_ID)
    }
    result = operator(instance_id, user_id=OTHER_USER, org_id=OTHER_ORG).execute(context)
    assert (result["outcome"], result["final_status"]) == ("cancelled", "CANCEL")
    overridden = emu_fast.control.requests()[len(refused) :]
    assert overridden[0]["route"] == "enos.flowinstance.cancel"
    assert {e["route"] for e in overridden} == {"enos.flowinstance.cancel", "enos.flowinstance.get"}
    assert {(e["query"]["userId"], e["query"]["orgId"]) for e in overridden} == {(OTHER_USER, OTHER_ORG)}


def test_only_org_override_keeps_the_connection_user(emu_fast: Any, context: dict[str, Any]) -> None:
    instance_id = new_instance(emu_fast)
    op = operator(instance_id, org_id=DEFAULT_ENOS_ORG_ID, wait_for_termination=False)
    assert op.execute(context)["outcome"] == "cancel_requested"
    (cancel,) = emu_fast.control.requests("enos.flowinstance.cancel")
    assert cancel["query"] == {
        "action": "cancel",
        "userId": DEFAULT_ENOS_USER_ID,
        "orgId": DEFAULT_ENOS_ORG_ID,
    }


def test_wait_times_out_with_the_last_status(emu_fast: Any, context: dict[str, Any]) -> None:
    emu_fast.control.configure(enos_cancel_delay=30)
    instance_id = new_instance(emu_fast)
    with pytest.raises(WaitTimeoutError, match="last status RUNNING"):
        operator(instance_id, timeout=0.2).execute(context)
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})


@pytest.mark.parametrize("bad", ["", "None", "2438", "2438-2019/08", "{{ ti.xcom_pull('x') }}"])
def test_bad_ids_fail_before_any_request(emu_fast: Any, context: dict[str, Any], bad: str) -> None:
    with pytest.raises(InvalidInputError, match="flow_instance_id"):
        operator(bad).execute(context)
    assert routes(emu_fast) == {}
    assert context["ti"].xcoms == {}


@pytest.mark.parametrize(
    ("field", "value"), [("user_id", "u/1"), ("org_id", "o\n1"), ("org_id", "None"), ("enos_conn_id", " ")]
)
def test_bad_overrides_fail_before_any_request(
    emu_fast: Any, context: dict[str, Any], field: str, value: str
) -> None:
    instance_id = new_instance(emu_fast)
    with pytest.raises(InvalidInputError, match=field):
        operator(instance_id, **{field: value}).execute(context)
    assert routes(emu_fast) == {}


def test_operator_declaration() -> None:
    op = EnosCancelFlowInstanceOperator(task_id="t", flow_instance_id="2438-201908081020")
    assert EnosCancelFlowInstanceOperator.template_fields == (
        "flow_instance_id",
        "user_id",
        "org_id",
        "enos_conn_id",
        "wait_for_termination",
    )
    assert op.operator_extra_links == ()  # EnOS documents no console URL to link to
    assert op.trigger_class == "airflow_provider_wfcancel.triggers.enos.EnosFlowInstanceTrigger"
    assert (op.enos_conn_id, op.user_id, op.org_id, op.wait_for_termination) == (
        "enos_default",
        None,
        None,
        True,
    )
    scoped = EnosCancelFlowInstanceOperator(
        task_id="s", flow_instance_id="x", enos_conn_id="enos_x", user_id="u1", org_id="o1"
    )
    hook = scoped.hook
    assert isinstance(hook, EnosHook)
    assert (hook.conn_id, hook.user_id, hook.org_id) == ("enos_x", "u1", "o1")


def test_secrets_never_reach_logs_or_the_result(
    emu_fast: Any,
    context: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "SENTINEL-operator-secret-91c2"
    emu_fast.control.add_enos_app("sentinel-op-key", secret)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENOS_SENTINEL",
        json.dumps(
            {
                "conn_type": "enos",
                "host": emu_fast.base_url,
                "login": "sentinel-op-key",
                "password": secret,
                "extra": {"org_id": DEFAULT_ENOS_ORG_ID, "user_id": DEFAULT_ENOS_USER_ID, "max_retries": 1},
            }
        ),
    )
    instance_id = new_instance(emu_fast)
    op = operator(instance_id, enos_conn_id="enos_sentinel")
    result = op.execute(context)
    assert isinstance(op.hook, EnosHook)
    entry = TOKEN_CACHE.get(op.hook.settings.token_key)
    assert entry is not None
    failed = operator(new_instance(emu_fast), enos_conn_id="enos_sentinel", org_id=OTHER_ORG)
    with pytest.raises(PermissionDeniedError) as caught:
        failed.execute(context)
    texts = [caplog.text, capsys.readouterr().out, json.dumps(result), str(caught.value), repr(caught.value)]
    texts.append(json.dumps(context["ti"].xcoms))
    for text in texts:
        assert secret not in text
        assert entry.token not in text


# -- EnosTriggerFlowOperator ----------------------------------------------------------------------------


def test_trigger_pushes_the_new_instance_at_once(emu: Any, enos_conn: str, context: dict[str, Any]) -> None:
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    result = EnosTriggerFlowOperator(task_id="trigger", flow_id="2438").execute(context)
    instance_id = result["instance_id"]
    assert instance_id.startswith("2438-")
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "url": None,
        "status_at_start": "INIT",
        "final_status": None,
        "failure_detail": None,
    }
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert emu.control.counts()["enos.flow.trigger"] == 1


def test_trigger_and_wait_succeeds(emu: Any, enos_conn: str, context: dict[str, Any]) -> None:
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_start_delay=0.01, enos_run_seconds=0.1)
    op = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, wait_for_completion=True, poll_interval=0.02)
    assert op.execute(context)["final_status"] == "SUCCESS"


def test_trigger_on_kill_cancels_the_instance(emu: Any, enos_conn: str, context: dict[str, Any]) -> None:
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_cancel_delay=0.02)
    op = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, poll_interval=0.02)
    instance_id = op.execute(context)["instance_id"]
    op.on_kill()
    assert emu.control.enos_instance(instance_id)["status"] == 8


@pytest.mark.parametrize("flow_id", ["abc", 0, -1, None, 1.5, "²", "0"])
def test_trigger_rejects_bad_flow_ids_before_any_request(
    emu: Any, enos_conn: str, context: dict[str, Any], flow_id: Any
) -> None:
    from airflow_provider_wfcancel.exceptions import InvalidInputError
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    with pytest.raises(InvalidInputError, match="flow_id"):
        EnosTriggerFlowOperator(task_id="trigger", flow_id=flow_id).execute(context)
    assert emu.control.requests() == []


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_user_and_org_overrides_mean_the_connection_values(
    emu_fast: Any, context: dict[str, Any], blank: str
) -> None:
    """A UI form sends "" for an empty optional field: that means "use the connection's", not an error."""
    instance_id = new_instance(emu_fast)
    op = operator(instance_id, user_id=blank, org_id=blank, wait_for_termination=False)
    assert op.execute(context)["outcome"] == "cancel_requested"
    (cancel,) = emu_fast.control.requests("enos.flowinstance.cancel")
    assert (cancel["query"]["userId"], cancel["query"]["orgId"]) == (
        DEFAULT_ENOS_USER_ID,
        DEFAULT_ENOS_ORG_ID,
    )


def test_blank_overrides_on_the_trigger_operator_use_the_connection(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    result = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, user_id="", org_id=" ").execute(context)
    assert result["instance_id"].startswith("9-")
    (trigger,) = emu.control.requests("enos.flow.trigger")
    assert (trigger["query"]["userId"], trigger["query"]["orgId"]) == (
        DEFAULT_ENOS_USER_ID,
        DEFAULT_ENOS_ORG_ID,
    )


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_trigger_wait_timeout_cancels_only_with_cancel_on_kill(
    emu: Any, enos_conn: str, context: dict[str, Any], cancel_on_kill: bool
) -> None:
    """Not deferred, a timed-out wait cancels the instance just as the deferred path's timeout does."""
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_start_delay=0, enos_run_seconds=60, enos_cancel_delay=0.05)
    op = EnosTriggerFlowOperator(
        task_id="trigger",
        flow_id=9,
        wait_for_completion=True,
        timeout=0.2,
        poll_interval=0.02,
        cancel_on_kill=cancel_on_kill,
    )
    with pytest.raises(WaitTimeoutError, match="last status RUNNING"):
        op.execute(context)
    instance_id = context["ti"].xcoms["instance_id"]
    assert routes(emu).get("enos.flowinstance.cancel", 0) == (1 if cancel_on_kill else 0)
    assert emu.control.enos_instance(instance_id)["status"] == (8 if cancel_on_kill else 2)


@pytest.mark.parametrize("fault", [{"status": 400}, {"status": 500, "count": 50}])
def test_trigger_records_the_instance_even_when_the_status_read_fails(
    emu: Any,
    enos_conn: str,
    context: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    fault: dict[str, Any],
) -> None:
    """The trigger went through: its id is pushed and kept for on_kill although the follow-up read failed."""
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_cancel_delay=0.02)
    emu.control.inject_fault("enos.flowinstance.get", **{"count": 1, **fault})
    op = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, poll_interval=0.02)
    result = op.execute(context)
    instance_id = result["instance_id"]
    assert instance_id.startswith("9-")
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "url": None,
        "status_at_start": None,
        "final_status": None,
        "failure_detail": None,
    }
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert op.started_instance_id == instance_id
    assert (
        f"Could not read the status of EnOS instance {instance_id} after starting it"
        in capsys.readouterr().out
    )
    emu.control.clear_faults()
    op.on_kill()
    assert emu.control.enos_instance(instance_id)["status"] == 8


def test_a_kill_right_after_the_id_is_recorded_cancels_the_new_instance(
    emu: Any, enos_conn: str, context: dict[str, Any], mocker: MockerFixture
) -> None:
    """The id is pushed and kept before the follow-up status read, so a kill that arrives then (here:
    exactly when the id is pushed) finds it and cancels the instance."""
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_cancel_delay=0)
    op = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, poll_interval=0.02)
    real_push = context["ti"].xcom_push

    def push_then_kill(key: str, value: Any) -> None:
        real_push(key=key, value=value)
        if key == "instance_id":
            assert emu.control.counts().get("enos.flowinstance.get", 0) == 0  # no status read yet
            op.on_kill()

    mocker.patch.object(context["ti"], "xcom_push", side_effect=push_then_kill)
    op.execute(context)
    instance_id = op.started_instance_id
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": None})
    assert emu.control.enos_instance(instance_id)["status"] == 8


def test_trigger_and_wait_survives_a_failed_status_read(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

    emu.control.configure(enos_start_delay=0.01, enos_run_seconds=0.1)
    emu.control.inject_fault("enos.flowinstance.get", status=400)
    op = EnosTriggerFlowOperator(task_id="trigger", flow_id=9, wait_for_completion=True, poll_interval=0.02)
    result = op.execute(context)
    assert (result["status_at_start"], result["final_status"]) == (None, "SUCCESS")
