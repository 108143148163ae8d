"""DomoInstanceTrigger and EnosFlowInstanceTrigger against the emulator: one event per run, every outcome."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from typing import Any

import pytest
import respx
from airflow.triggers.base import TriggerEvent

from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_APP_KEY, DEFAULT_ENOS_ORG_ID
from airflow_provider_wfcancel.exceptions import WfCancelError
from airflow_provider_wfcancel.get_provider_info import get_provider_info
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.triggers import _base as triggers_base
from airflow_provider_wfcancel.triggers._base import (
    InstanceStatusTrigger,
    validate_event,
)
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger
from tests.airflow_compat import import_string
from tests.conftest import connection_json

POLL = 0.05
RESUME = {"instance_id": "x", "url": None, "response": {"nested": [1, "two", None]}}


@pytest.fixture
def fast(emu: Any) -> Any:
    emu.control.configure(
        domo_start_delay=0, domo_cancel_delay=0.05, enos_start_delay=0, enos_cancel_delay=0.05
    )
    return emu


def domo_trigger(instance_id: str, *, within: float = 5.0, **kwargs: Any) -> DomoInstanceTrigger:
    return DomoInstanceTrigger(
        conn_id=kwargs.pop("conn_id", "domo_default"),
        instance_id=instance_id,
        deadline=time.time() + within,
        poll_interval=POLL,
        **kwargs,
    )


def enos_trigger(instance_id: str, *, within: float = 5.0, **kwargs: Any) -> EnosFlowInstanceTrigger:
    return EnosFlowInstanceTrigger(
        conn_id=kwargs.pop("conn_id", "enos_default"),
        instance_id=instance_id,
        deadline=time.time() + within,
        poll_interval=POLL,
        **kwargs,
    )


async def events_of(trigger: InstanceStatusTrigger) -> list[dict[str, Any]]:
    events = [event async for event in trigger.run()]
    assert all(isinstance(e, TriggerEvent) for e in events)
    payloads = [e.payload for e in events]
    for payload in payloads:
        json.dumps(payload)  # events are stored as JSON
    return payloads


# -- serialize --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        DomoInstanceTrigger(conn_id="d", instance_id="abc", deadline=1.8e9, poll_interval=3, resume=RESUME),
        EnosFlowInstanceTrigger(
            conn_id="e",
            instance_id="2438-201908081020",
            deadline=1.8e9,
            cancel_on_kill=True,
            user_id="u1",
            org_id="o1",
        ),
    ],
    ids=["domo", "enos"],
)
def test_serialize_round_trip(trigger: InstanceStatusTrigger) -> None:
    from tests.airflow_compat import deserialize, serialize

    classpath, kwargs = trigger.serialize()
    assert classpath == f"{type(trigger).__module__}.{type(trigger).__name__}"
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON, nothing custom
    rebuilt = import_string(classpath)(**deserialize(serialize(kwargs)))  # what the task runner does
    assert type(rebuilt) is type(trigger)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.hook_kwargs() == trigger.hook_kwargs()


def test_serialized_kwargs_name_everything_the_trigger_needs() -> None:
    _, kwargs = EnosFlowInstanceTrigger(
        conn_id="e", instance_id="1-12345678", deadline=1.5e9, poll_started=1.4e9, user_id="u", org_id="o"
    ).serialize()
    assert kwargs == {
        "conn_id": "e",
        "instance_id": "1-12345678",
        "deadline": 1.5e9,
        "poll_interval": 5.0,
        "max_poll_interval": 5.0,
        "poll_started": 1.4e9,
        "poll_step": 0,
        "cancel_on_kill": False,
        "resume": None,
        "user_id": "u",
        "org_id": "o",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"poll_interval": 0}, "poll_interval must be a number >= 0.01"),
        ({"poll_interval": True}, "poll_interval must be a number >= 0.01"),
        ({"deadline": "tomorrow"}, "deadline must be epoch seconds"),
        ({"poll_interval": 5, "max_poll_interval": 4}, "max_poll_interval must be at least poll_interval"),
        ({"max_poll_interval": "60"}, "max_poll_interval must be a number >= 0.01"),
        ({"max_poll_interval": float("inf")}, "max_poll_interval must be a number >= 0.01"),
        ({"poll_started": float("nan")}, "poll_started must be epoch seconds"),
        ({"poll_step": -1}, "poll_step must be an integer >= 0"),
        ({"poll_step": 1.5}, "poll_step must be an integer >= 0"),
        ({"poll_step": True}, "poll_step must be an integer >= 0"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(WfCancelError, match=message):
        DomoInstanceTrigger(**{"conn_id": "d", "instance_id": "a", "deadline": 1.0, **kwargs})


def test_from_hook_keeps_connection_and_identity() -> None:
    enos = EnosFlowInstanceTrigger.from_hook(
        EnosHook("my_enos", user_id="u9", org_id="o9"), instance_id="1-12345678", deadline=1.0
    )
    assert (enos.conn_id, enos.user_id, enos.org_id) == ("my_enos", "u9", "o9")
    domo = DomoInstanceTrigger.from_hook(DomoHook("my_domo"), instance_id="a", deadline=1.0)
    assert (domo.conn_id, domo.hook_kwargs()) == ("my_domo", {})


def test_each_operator_names_the_trigger_that_polls_with_its_hook() -> None:
    from airflow_provider_wfcancel.operators import domo, enos

    for operator in (domo.DomoCancelWorkflowOperator, domo.DomoStartWorkflowOperator):
        assert import_string(operator.trigger_class) is DomoInstanceTrigger
    for operator in (enos.EnosCancelFlowInstanceOperator, enos.EnosTriggerFlowOperator):
        assert import_string(operator.trigger_class) is EnosFlowInstanceTrigger


def test_provider_info_lists_the_trigger_modules() -> None:
    entries = {t["integration-name"]: t["python-modules"] for t in get_provider_info()["triggers"]}
    assert entries == {
        "Domo": ["airflow_provider_wfcancel.triggers.domo"],
        "EnOS": ["airflow_provider_wfcancel.triggers.enos"],
    }
    for modules in entries.values():
        for module in modules:
            importlib.import_module(module)


# -- Domo ------------------------------------------------------------------------------------------------


async def test_domo_success_yields_exactly_one_event(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(runs_for=0.6)  # long enough that the first poll sees it run
    events = await events_of(domo_trigger(instance["id"], resume=RESUME))
    assert events == [
        {
            "status": "success",
            "instance_id": instance["id"],
            "final_status": "COMPLETED",
            "is_cancelled": False,
            "is_success": True,
            "url": f"{fast.base_url}/workflows/instances/{instance['modelId']}/1.0.0/{instance['id']}",
            "resume": RESUME,
        }
    ]
    assert 2 <= fast.control.counts()["domo.get"] <= 20  # polled until terminal, not in a tight loop


async def test_domo_cancelled(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    DomoHook(domo_conn).request_cancel(instance["id"])
    (event,) = await events_of(domo_trigger(instance["id"]))
    assert (event["status"], event["final_status"], event["is_cancelled"], event["is_success"]) == (
        "success",
        "CANCELED",
        True,
        False,
    )


async def test_timeout_at_the_absolute_deadline(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    started = time.monotonic()
    (event,) = await events_of(domo_trigger(instance["id"], within=0.3))
    elapsed = time.monotonic() - started
    assert event["status"] == "timeout"
    assert event["last_status"] == "IN_PROGRESS"
    assert (
        f"Domo instance {instance['id']} did not reach a terminal status by the deadline" in event["message"]
    )
    assert event["message"].endswith("last status IN_PROGRESS")
    assert 0.3 <= elapsed < 1.0
    assert fast.control.counts()["domo.get"] <= 0.3 / POLL + 2


@pytest.mark.parametrize(("status", "expected"), [("IN_PROGRESS", "timeout"), ("COMPLETED", "success")])
async def test_a_past_deadline_still_polls_once(
    fast: Any, domo_conn: str, status: str, expected: str
) -> None:
    instance = fast.control.create_domo_instance(status=status)
    (event,) = await events_of(domo_trigger(instance["id"], within=-10))
    assert event["status"] == expected
    assert fast.control.counts()["domo.get"] == 1


async def test_transient_503_is_retried_then_succeeds(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="COMPLETED")
    fast.control.inject_fault("domo.get", status=503)
    (event,) = await events_of(domo_trigger(instance["id"]))
    assert (event["status"], event["final_status"]) == ("success", "COMPLETED")
    assert [r["status"] for r in fast.control.requests("domo.get")] == [503, 200]


async def test_persistent_5xx_becomes_an_error_event(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    fast.control.inject_fault("domo.get", status=503, count=100)
    (event,) = await events_of(domo_trigger(instance["id"]))
    assert (event["status"], event["error_class"]) == ("error", "TransientError")
    assert "HTTP 503" in event["message"]
    assert fast.control.counts()["domo.get"] == 4  # 1 + max_retries=3 of the connection


async def test_unknown_instance_is_an_error_event(fast: Any, domo_conn: str) -> None:
    (event,) = await events_of(domo_trigger("no-such-instance", resume=RESUME))
    assert event["status"] == "error"
    assert event["error_class"] == "NotFoundError"
    assert event["instance_id"] == "no-such-instance"
    assert event["resume"] == RESUME
    assert "HTTP 404" in event["message"]


async def test_rejected_token_is_an_error_event_without_the_token(
    fast: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = "SENTINEL-domo-token-0123456789"
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_BAD", connection_json("domo", host=fast.base_url, password=sentinel)
    )
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    (event,) = await events_of(domo_trigger(instance["id"], conn_id="domo_bad"))
    assert (event["status"], event["error_class"]) == ("error", "AuthenticationError")
    assert "HTTP 401" in event["message"]
    assert sentinel not in json.dumps(event)


async def test_missing_connection_is_an_error_event(fast: Any) -> None:
    (event,) = await events_of(domo_trigger("abc", conn_id="nowhere"))
    assert (event["status"], event["error_class"]) == ("error", "ConnectionNotFoundError")
    assert "connection 'nowhere' is not defined" in event["message"]
    assert fast.control.requests() == []


async def test_unexpected_exceptions_become_error_events(fast: Any, domo_conn: str) -> None:
    with respx.mock:  # a bug below the trigger: the HTTP client itself raises something unexpected
        respx.get(url__regex=r"/instances/abc$").mock(side_effect=KeyError("surprise"))
        (event,) = await events_of(domo_trigger("abc"))
    assert (event["status"], event["error_class"]) == ("error", "UnexpectedError")
    assert "KeyError: 'surprise'" in event["message"]


async def test_cancellation_propagates_and_is_not_an_event(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    task = asyncio.create_task(events_of(domo_trigger(instance["id"])))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- EnOS ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "name", "cancelled", "success"),
    [(1, "SUCCESS", False, True), (-1, "FAIL", False, False), (8, "CANCEL", True, False)],
)
async def test_enos_terminal_statuses(
    fast: Any, enos_conn: str, final: int, name: str, cancelled: bool, success: bool
) -> None:
    instance_id = fast.control.create_enos_instance(runs_for=0.1, final_status=final)["instanceId"]
    (event,) = await events_of(enos_trigger(instance_id))
    assert event == {
        "status": "success",
        "instance_id": instance_id,
        "final_status": name,
        "is_cancelled": cancelled,
        "is_success": success,
        "url": None,
        "resume": None,
    }


async def test_enos_user_and_org_reach_every_poll(fast: Any, enos_conn: str) -> None:
    fast.control.add_enos_user("u15000000000102", DEFAULT_ENOS_ORG_ID)
    instance_id = fast.control.create_enos_instance(runs_for=0.1, owner_user_id="u15000000000102")[
        "instanceId"
    ]
    (event,) = await events_of(enos_trigger(instance_id, user_id="u15000000000102"))
    assert event["final_status"] == "SUCCESS"
    gets = fast.control.requests("enos.flowinstance.get")
    assert gets
    assert {(r["query"]["userId"], r["query"]["orgId"]) for r in gets} == {
        ("u15000000000102", DEFAULT_ENOS_ORG_ID)
    }


async def test_enos_bad_secret_is_an_error_event_without_the_secret(
    fast: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = "SENTINEL-enos-secret-0123456789"
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENOS_BAD",
        connection_json(
            "enos",
            host=fast.base_url,
            login=DEFAULT_ENOS_APP_KEY,
            password=sentinel,
            extra={"org_id": DEFAULT_ENOS_ORG_ID, "user_id": "u1"},
        ),
    )
    (event,) = await events_of(enos_trigger("2438-201908081020", conn_id="enos_bad"))
    assert (event["status"], event["error_class"]) == ("error", "AuthenticationError")
    assert sentinel not in json.dumps(event)


async def test_fifty_enos_triggers_share_one_token(fast: Any, enos_conn: str) -> None:
    ids = [fast.control.create_enos_instance(runs_for=0.1 + i * 0.005)["instanceId"] for i in range(50)]
    results = await asyncio.gather(*(events_of(enos_trigger(i)) for i in ids))
    assert [events[0]["final_status"] for events in results] == ["SUCCESS"] * 50
    counts = fast.control.counts()
    assert counts["enos.token.get"] == 1
    assert counts.get("enos.token.refresh", 0) == 0
    assert counts["enos.flowinstance.get"] >= 50


# -- on_kill ------------------------------------------------------------------------------------------------


async def killed(trigger: InstanceStatusTrigger) -> None:
    """What the triggerer does when a user kills the deferred task: cancel run(), then call on_kill()."""
    task = asyncio.create_task(events_of(trigger))
    await asyncio.sleep(0.15)
    task.cancel("user-action")
    with pytest.raises(asyncio.CancelledError):
        await task
    await trigger.on_kill()
    await trigger.cleanup()


async def test_on_kill_cancels_when_cancel_on_kill(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    await killed(domo_trigger(instance["id"], cancel_on_kill=True))
    assert fast.control.counts()["domo.cancel"] == 1
    assert fast.control.domo_instance(instance["id"])["status"] == "CANCELED"


async def test_enos_on_kill_cancels_as_the_trigger_user(fast: Any, enos_conn: str) -> None:
    fast.control.add_enos_user("u15000000000101", DEFAULT_ENOS_ORG_ID)
    instance_id = fast.control.create_enos_instance(status=2, owner_user_id="u15000000000101")["instanceId"]
    await killed(enos_trigger(instance_id, cancel_on_kill=True, user_id="u15000000000101"))
    (cancel,) = fast.control.requests("enos.flowinstance.cancel")
    assert cancel["query"]["userId"] == "u15000000000101"
    assert fast.control.enos_instance(instance_id)["status"] == 8


async def test_on_kill_does_nothing_without_cancel_on_kill(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    await killed(domo_trigger(instance["id"]))
    assert fast.control.counts().get("domo.cancel", 0) == 0
    assert fast.control.domo_instance(instance["id"])["status"] == "IN_PROGRESS"


async def test_cleanup_never_cancels(fast: Any, domo_conn: str) -> None:
    """A trigger moving to another triggerer is cancelled without a user action: cleanup() only."""
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    trigger = domo_trigger(instance["id"], cancel_on_kill=True)
    task = asyncio.create_task(events_of(trigger))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await trigger.cleanup()
    assert fast.control.counts().get("domo.cancel", 0) == 0


async def test_on_kill_of_a_finished_instance_only_asks_once(fast: Any, domo_conn: str) -> None:
    instance = fast.control.create_domo_instance(status="COMPLETED")
    await domo_trigger(instance["id"], cancel_on_kill=True).on_kill()
    assert fast.control.counts() == {"domo.cancel": 1}


async def test_on_kill_errors_are_logged_not_raised(
    fast: Any, domo_conn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fast.control.inject_fault("domo.cancel", status=403)
    await domo_trigger("some-instance", cancel_on_kill=True).on_kill()
    assert "Could not cancel instance some-instance on kill" in capsys.readouterr().out


async def test_on_kill_gives_up_within_its_budget_when_the_cancel_hangs(
    fast: Any, domo_conn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(triggers_base, "KILL_BUDGET_SECONDS", 0.3)
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    fast.control.inject_fault("domo.cancel", latency=2.0, count=5)
    started = time.monotonic()
    await domo_trigger(instance["id"], cancel_on_kill=True).on_kill()
    assert time.monotonic() - started < 1.5  # not the 2 s the cancel would take, nor its retries
    assert f"Instance {instance['id']}: could not cancel within 0.3 s of the kill" in capsys.readouterr().out


async def test_on_kill_reports_a_cancel_accepted_but_not_confirmed_in_its_budget(
    fast: Any, domo_conn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(triggers_base, "KILL_BUDGET_SECONDS", 0.3)
    fast.control.configure(domo_cancel_delay=5.0)
    instance = fast.control.create_domo_instance(status="IN_PROGRESS")
    await domo_trigger(instance["id"], cancel_on_kill=True).on_kill()
    assert fast.control.counts()["domo.cancel"] == 1
    assert "the cancel was accepted but not confirmed within 0.3 s" in capsys.readouterr().out


# -- validate_event ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "resumed without a trigger event"),
        ("success", "must be a dict, got str"),
        ({"status": "done"}, "unknown status 'done'"),
        ({}, "unknown status None"),
        ({"status": "success"}, "carries no final_status"),
    ],
)
def test_validate_event_is_loud(event: Any, message: str) -> None:
    with pytest.raises(WfCancelError, match=message):
        validate_event(event)


def test_validate_event_passes_known_events_through() -> None:
    for event in (
        {"status": "success", "final_status": "X"},
        {"status": "timeout"},
        {"status": "error", "message": "m"},
    ):
        assert validate_event(event) is event
