"""DomoWorkflowFinishedTrigger and EnosFlowFinishedTrigger (AssetWatcher event triggers) against the emulator.

The asset state store (Airflow 3.3+) is the triggerer's; here a stand-in with its accessor's ``aget``/``aset``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN, DEFAULT_ENOS_APP_SECRET
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks._finished import PAGE_SIZE
from airflow_provider_wfcancel.triggers._events import MAX_PAGES_PER_POLL, FinishedInstanceEventTrigger
from airflow_provider_wfcancel.triggers.domo import DomoWorkflowFinishedTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowFinishedTrigger
from airflow_provider_wfcancel.version_compat import BaseEventTrigger
from tests.airflow_compat import import_string, needs_airflow
from tests.conftest import connection_json

pytestmark = needs_airflow((3, 0), "BaseEventTrigger and AssetWatcher")

MODEL = "5b6c1d2e-0000-4000-8000-00000000beef"
FLOW = 7301  # not one of the emulator's seeded flows


class StoreStandIn:
    """What a trigger uses of Airflow's ``AssetStateStoreAccessors`` (one watched asset), in memory."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)  # stored as JSON text, as the metadata database does
        self.writes += 1


@pytest.fixture
def fast(emu: Any) -> Any:
    emu.control.configure(domo_start_delay=0, enos_start_delay=0)
    return emu


def domo(**kwargs: Any) -> DomoWorkflowFinishedTrigger:
    return DomoWorkflowFinishedTrigger(model_id=kwargs.pop("model_id", MODEL), poll_interval=0.05, **kwargs)


def enos(**kwargs: Any) -> EnosFlowFinishedTrigger:
    return EnosFlowFinishedTrigger(flow_id=kwargs.pop("flow_id", FLOW), poll_interval=0.05, **kwargs)


def start_domo(emu: Any, runs_for: float = 0.0, **kwargs: Any) -> str:
    record = emu.control.create_domo_instance(
        model_id=kwargs.pop("model_id", MODEL), runs_for=runs_for, **kwargs
    )
    return str(record["id"])


def start_enos(emu: Any, runs_for: float = 0.0, **kwargs: Any) -> str:
    record = emu.control.create_enos_instance(
        flow_id=kwargs.pop("flow_id", FLOW), runs_for=runs_for, **kwargs
    )
    return str(record["instanceId"])


def wait_ended(
    read: Any, instance_id: str, field: str = "status", running: Any = (None, "IN_PROGRESS")
) -> None:
    for _ in range(200):
        if read(instance_id)[field] not in running:
            return
        time.sleep(0.02)
    raise AssertionError(f"{instance_id} did not end")


def ids(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["instance_id"] for p in payloads]


# -- once per instance ---------------------------------------------------------------------------------------------


def test_domo_first_poll_is_a_baseline_then_one_event_per_ended_instance(fast: Any, domo_conn: str) -> None:
    before = start_domo(fast)
    running = start_domo(fast, runs_for=2.0)
    trigger = domo()
    wait_ended(fast.control.domo_instance, before)

    assert asyncio.run(trigger.poll()) == []  # `before` ended before the watcher: no event
    assert fast.control.domo_instance(running)["status"] == "IN_PROGRESS"  # still running at the baseline
    wait_ended(fast.control.domo_instance, running)
    (event,) = asyncio.run(trigger.poll())
    assert event["instance_id"] == running
    assert (event["service"], event["final_status"], event["is_success"]) == ("domo", "COMPLETED", True)
    assert (event["model_id"], event["model_version"]) == (MODEL, "1.0.0")
    assert event["ended_at"]
    assert running in event["url"]
    assert asyncio.run(trigger.poll()) == []  # once per instance
    later = start_domo(fast)
    wait_ended(fast.control.domo_instance, later)
    assert ids(asyncio.run(trigger.poll())) == [later]


def test_enos_first_poll_is_a_baseline_then_one_event_per_ended_instance(fast: Any, enos_conn: str) -> None:
    running_codes = (0, 2, 3, 5, 6, 9)
    before = start_enos(fast)
    other_flow = start_enos(fast, flow_id=FLOW + 1)
    trigger = enos()
    wait_ended(fast.control.enos_instance, before, running=running_codes)
    assert asyncio.run(trigger.poll()) == []
    failed = start_enos(fast, final_status=-1)
    ok = start_enos(fast)
    for instance in (failed, ok, other_flow):
        wait_ended(fast.control.enos_instance, instance, running=running_codes)
    events = asyncio.run(trigger.poll())
    assert sorted(ids(events)) == sorted([failed, ok])  # not the other flow's
    by_id = {e["instance_id"]: e for e in events}
    assert (by_id[failed]["final_status"], by_id[failed]["is_success"]) == ("FAIL", False)
    assert (by_id[ok]["final_status"], by_id[ok]["flow_id"], by_id[ok]["service"]) == (
        "SUCCESS",
        FLOW,
        "enos",
    )
    assert asyncio.run(trigger.poll()) == []


def test_only_success_skips_other_ends_and_never_fires_them_later(fast: Any, domo_conn: str) -> None:
    trigger = domo(only_success=True)
    assert asyncio.run(trigger.poll()) == []
    failed = start_domo(fast, final_status="FAILED")
    done = start_domo(fast)
    for instance in (failed, done):
        wait_ended(fast.control.domo_instance, instance)
    assert ids(asyncio.run(trigger.poll())) == [done]
    assert asyncio.run(trigger.poll()) == []


def test_model_version_filters_instances(fast: Any, domo_conn: str) -> None:
    trigger = domo(model_version="2.0.0")
    asyncio.run(trigger.poll())
    old = start_domo(fast, model_version="1.0.0")
    new = start_domo(fast, model_version="2.0.0")
    for instance in (old, new):
        wait_ended(fast.control.domo_instance, instance)
    assert ids(asyncio.run(trigger.poll())) == [new]


# -- across a re-created trigger -------------------------------------------------------------------------------------


def recreated(trigger: FinishedInstanceEventTrigger) -> Any:
    """The trigger as the triggerer rebuilds it from the stored kwargs."""
    classpath, kwargs = trigger.serialize()
    return import_string(classpath)(**json.loads(json.dumps(kwargs)))


@needs_airflow((3, 3), "the asset state store")
def test_with_the_state_store_a_recreated_trigger_goes_on_once_per_instance(
    fast: Any, domo_conn: str
) -> None:
    store = StoreStandIn()
    first = domo()
    first.asset_state_store = store
    before = start_domo(fast)
    wait_ended(fast.control.domo_instance, before)
    asyncio.run(first.poll())  # baseline, kept at once
    fired = start_domo(fast)
    wait_ended(fast.control.domo_instance, fired)
    assert ids(asyncio.run(first.poll())) == [fired]
    asyncio.run(first.poll())  # writes the ids of the poll before

    meanwhile = start_domo(fast)  # ends while no trigger runs
    wait_ended(fast.control.domo_instance, meanwhile)
    second = recreated(first)
    second.asset_state_store = store
    assert ids(asyncio.run(second.poll())) == [meanwhile]  # not `before`, not `fired` again
    assert asyncio.run(second.poll()) == []


@needs_airflow((3, 3), "the asset state store")
def test_a_trigger_lost_right_after_its_event_repeats_it_with_the_same_instance_id(
    fast: Any, domo_conn: str
) -> None:
    store = StoreStandIn()
    first = domo()
    first.asset_state_store = store
    asyncio.run(first.poll())
    fired = start_domo(fast)
    wait_ended(fast.control.domo_instance, fired)
    assert ids(asyncio.run(first.poll())) == [fired]
    # the triggerer dies before the next poll wrote the ids: at least once, the duplicate is visible
    second = recreated(first)
    second.asset_state_store = store
    assert ids(asyncio.run(second.poll())) == [fired]
    asyncio.run(second.poll())
    third = recreated(first)
    third.asset_state_store = store
    assert asyncio.run(third.poll()) == []


def test_without_a_state_store_a_recreated_trigger_takes_a_new_baseline(fast: Any, domo_conn: str) -> None:
    first = domo()
    asyncio.run(first.poll())
    fired = start_domo(fast)
    wait_ended(fast.control.domo_instance, fired)
    assert ids(asyncio.run(first.poll())) == [fired]
    meanwhile = start_domo(fast)
    wait_ended(fast.control.domo_instance, meanwhile)
    second = recreated(first)
    assert asyncio.run(second.poll()) == []  # at most once: neither `fired` again nor `meanwhile`


# -- run(): forever, errors logged and retried ----------------------------------------------------------------------


async def first_events(trigger: FinishedInstanceEventTrigger, count: int, within: float = 10.0) -> list[Any]:
    events: list[Any] = []
    runner = trigger.run()
    async with asyncio.timeout(within):
        async for event in runner:
            events.append(event.payload)
            if len(events) == count:
                break
    await runner.aclose()
    return events


def test_run_keeps_polling_through_errors_and_fires_after_them(
    fast: Any, domo_conn: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger = domo()
    asyncio.run(trigger.poll())
    fast.control.inject_fault("domo.list", status=500, count=20)  # beyond the HTTP layer's retries
    ended = start_domo(fast)
    wait_ended(fast.control.domo_instance, ended)
    with caplog.at_level(logging.WARNING):
        (event,) = asyncio.run(first_events(trigger, 1))
    assert event["instance_id"] == ended
    logged = capsys.readouterr().out + caplog.text  # the trigger's log (structlog), the HTTP layer's
    assert "Poll 1 in a row failed" in logged
    assert DEFAULT_DOMO_TOKEN not in logged + json.dumps(event)


def test_a_missing_connection_is_logged_and_retried(emu: Any, capsys: pytest.CaptureFixture[str]) -> None:
    trigger = domo(domo_conn_id="nowhere")

    async def two_polls() -> None:
        runner = trigger.run()
        try:
            async with asyncio.timeout(0.5):
                async for event in runner:
                    raise AssertionError(f"no event expected, got {event}")
        except TimeoutError:
            pass
        await runner.aclose()

    asyncio.run(two_polls())
    logged = capsys.readouterr().out
    assert "Poll 2 in a row failed" in logged
    assert "'nowhere' is not defined" in logged


def test_a_poll_reads_at_most_its_page_cap(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that always has another page of new instances: one poll, at most the cap, then a warning."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host="https://acme.domo.com", password=DEFAULT_DOMO_TOKEN),
    )
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def endless(request: httpx.Request) -> httpx.Response:
        page = [
            {
                "id": str(uuid.uuid4()),
                "modelId": MODEL,
                "modelVersion": "1.0.0",
                "createdOn": now,
                "status": "COMPLETED",
            }
            for _ in range(PAGE_SIZE)
        ]
        return httpx.Response(200, json=page)

    trigger = domo()
    with respx.mock(assert_all_called=False) as router:
        route = router.get("https://acme.domo.com/api/workflow/v1/instances").mock(side_effect=endless)
        assert asyncio.run(trigger.poll()) == []  # the baseline
        assert route.call_count == MAX_PAGES_PER_POLL
        events = asyncio.run(trigger.poll())
        assert route.call_count == 2 * MAX_PAGES_PER_POLL
    assert len(events) == MAX_PAGES_PER_POLL * PAGE_SIZE  # what it read still fires
    assert "page cap" in capsys.readouterr().out


def test_enos_events_carry_no_secret(
    fast: Any, enos_conn: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger = enos()
    asyncio.run(trigger.poll())
    ended = start_enos(fast)
    wait_ended(fast.control.enos_instance, ended, running=(0, 2, 3, 5, 6, 9))
    with caplog.at_level(logging.DEBUG):
        (event,) = asyncio.run(first_events(trigger, 1))
    assert DEFAULT_ENOS_APP_SECRET not in json.dumps(event) + caplog.text + capsys.readouterr().out


# -- serialize, kinds, bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        lambda: DomoWorkflowFinishedTrigger(MODEL, "1.2.0", True, "domo_x", 30.0, 3600.0),
        lambda: EnosFlowFinishedTrigger("2438", enos_conn_id="enos_x", user_id="u1", org_id="o1"),
    ],
)
def test_serialize_round_trip(trigger: Any) -> None:
    original = trigger()
    assert isinstance(original, BaseEventTrigger)
    classpath, kwargs = original.serialize()
    rebuilt = import_string(classpath)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*rebuilt.serialize())
    assert rebuilt.state_key() == original.state_key()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DomoWorkflowFinishedTrigger("not a model!"), "model_id"),
        (lambda: DomoWorkflowFinishedTrigger(MODEL, model_version=""), "model_version"),
        (lambda: DomoWorkflowFinishedTrigger(MODEL, only_success="yes"), "only_success"),  # type: ignore[arg-type]
        (lambda: DomoWorkflowFinishedTrigger(MODEL, poll_interval=0), "poll_interval"),
        (lambda: DomoWorkflowFinishedTrigger(MODEL, lookback=float("nan")), "lookback"),
        (lambda: DomoWorkflowFinishedTrigger(MODEL, domo_conn_id=" "), "domo_conn_id"),
        (lambda: EnosFlowFinishedTrigger("flow-1"), "flow_id"),
    ],
)
def test_bad_input_is_refused_when_built(build: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build()


def test_an_instance_created_before_the_window_never_fires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Domo lists a model's instances with no time filter: one created before ``lookback`` that a listing
    still shows (a model of few runs) is neither an event nor forgotten and fired again later."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host="https://acme.domo.com", password=DEFAULT_DOMO_TOKEN),
    )
    old = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3 * 86400))
    instance = {"id": str(uuid.uuid4()), "modelId": MODEL, "modelVersion": "1.0.0", "createdOn": old}
    pages = [[{**instance, "status": "COMPLETED"}], []]

    trigger = domo()
    with respx.mock(assert_all_called=False) as router:
        router.get("https://acme.domo.com/api/workflow/v1/instances").mock(
            side_effect=lambda request: httpx.Response(200, json=pages[int(request.url.params["offset"]) > 0])
        )
        polls = [asyncio.run(trigger.poll()) for _ in range(4)]
    assert polls == [[], [], [], []]


def test_what_ended_before_a_baseline_cut_short_never_fires(monkeypatch: pytest.MonkeyPatch) -> None:
    """A baseline stopped by its page cap did not list everything that had ended: those instances still
    ended before the watcher existed (their answer says when), so a later poll that lists them fires none
    of them, only what ended after the baseline."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host="https://acme.domo.com", password=DEFAULT_DOMO_TOKEN),
    )

    def instance(instance_id: str, ended: float) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ended))
        return {
            "id": instance_id,
            "modelId": MODEL,
            "modelVersion": "1.0.0",
            "createdOn": stamp,
            "updatedOn": stamp,
            "status": "COMPLETED",
        }

    hour_ago = time.time() - 3600
    old = [instance(str(uuid.uuid4()), hour_ago) for _ in range(PAGE_SIZE * (MAX_PAGES_PER_POLL + 1))]
    fresh: list[dict[str, Any]] = []

    def listing(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        everything = fresh + old  # newest created first
        return httpx.Response(200, json=everything[offset : offset + PAGE_SIZE])

    trigger = domo()
    with respx.mock(assert_all_called=False) as router:
        router.get("https://acme.domo.com/api/workflow/v1/instances").mock(side_effect=listing)
        assert asyncio.run(trigger.poll()) == []  # the baseline: cut short at the page cap
        fresh.append(instance("ended-after-the-baseline", time.time() + 1))
        events = asyncio.run(trigger.poll())
    assert ids(events) == ["ended-after-the-baseline"]


def test_a_long_subject_gets_a_state_key_the_store_can_hold() -> None:
    short = domo(model_version="1.0.0").state_key()
    assert short.endswith(":1.0.0:only_success=False")
    long_key = domo(domo_conn_id="c" * 240, model_version="9" * 200).state_key()
    assert len(long_key) <= 250
    assert long_key != domo(domo_conn_id="c" * 240, model_version="8" * 200).state_key()
