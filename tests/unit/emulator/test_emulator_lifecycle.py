"""Lifecycle timing, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from emulator_clients import DomoClient, EnosClient, FakeClock

from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorServer
from airflow_provider_wfcancel.emulator.state import Lifecycle


@pytest.fixture(scope="module")
def emulator(clock: FakeClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(clock=clock) as server:
        yield server


def test_lifecycle_phases() -> None:
    life = Lifecycle.start(100.0, 1.0, 10.0, "DONE")
    assert life.phase(100.5) == ("pending", 100.0)
    assert life.phase(101.0) == ("running", 101.0)
    assert life.phase(111.0) == ("finished", 111.0)
    life.request_cancel(105.0, 2.0)
    life.request_cancel(106.0, 0.0)
    assert life.phase(106.5) == ("running", 101.0)
    assert life.phase(107.0) == ("canceled", 107.0)
    assert life.is_terminal(107.0)


def test_cancel_after_the_end_loses_to_completion() -> None:
    life = Lifecycle.start(0.0, 0.0, 1.0, "DONE")
    life.request_cancel(0.9, 0.5)
    assert life.phase(2.0) == ("finished", 1.0)


def test_forced_hold_lasts_until_cancel() -> None:
    life = Lifecycle.start(0.0, 5.0, 10.0, 1)
    life.force(1.0, 3, running=2, pending=0, terminal=False)
    assert life.phase(1000.0) == ("running", 1.0)
    assert life.held_status == 3
    assert life.end_at == math.inf
    life.request_cancel(1000.0, 0.0)
    assert life.phase(1000.0)[0] == "canceled"


def test_domo_timeline(domo: DomoClient, control: EmulatorControl, clock: FakeClock) -> None:
    control.configure(domo_start_delay=1, domo_run_seconds=10)
    created = domo.start().json()
    instance_id = created["id"]
    assert created["status"] is None
    clock.advance(1)
    running = domo.get(instance_id).json()
    assert running["status"] == "IN_PROGRESS"
    assert running["updatedOn"] > running["createdOn"]
    clock.advance(9.999)
    assert domo.get(instance_id).json()["status"] == "IN_PROGRESS"
    clock.advance(0.001)
    assert domo.get(instance_id).json()["status"] == "COMPLETED"


def test_domo_cancel_with_zero_delay_still_reports_previous_status(
    domo: DomoClient, control: EmulatorControl, clock: FakeClock
) -> None:
    control.configure(domo_start_delay=0, domo_cancel_delay=0)
    instance_id = domo.start().json()["id"]
    assert domo.cancel(instance_id).json()["status"] == "IN_PROGRESS"
    assert domo.get(instance_id).json()["status"] == "CANCELED"


def test_domo_cancel_while_pending(domo: DomoClient, control: EmulatorControl, clock: FakeClock) -> None:
    control.configure(domo_start_delay=5, domo_cancel_delay=0.5)
    instance_id = domo.start().json()["id"]
    assert domo.cancel(instance_id).json()["status"] is None
    clock.advance(0.5)
    assert domo.get(instance_id).json()["status"] == "CANCELED"


def test_domo_forced_statuses(domo: DomoClient, control: EmulatorControl, clock: FakeClock) -> None:
    running = control.create_domo_instance(status="IN_PROGRESS", runs_for=5)
    assert running["status"] == "IN_PROGRESS"
    weird = control.create_domo_instance(status="TIMEOUT")
    assert weird["status"] == "TIMEOUT"
    clock.advance(5.2)
    assert domo.get(running["id"]).json()["status"] == "COMPLETED"
    assert domo.get(weird["id"]).json()["status"] == "TIMEOUT"


def test_enos_timeline_and_trigger_final_status(
    enos: EnosClient, control: EmulatorControl, clock: FakeClock
) -> None:
    control.configure(enos_start_delay=2, enos_run_seconds=30, enos_final_status=-1)
    flow_instance = enos.call("POST", "flows", "trigger", {"flowId": 7}).json()["data"]["flowInstanceId"]
    assert enos.get(flow_instance).json()["data"]["status"] == 0
    clock.advance(2)
    data = enos.get(flow_instance).json()["data"]
    assert (data["status"], data["statusDesc"]) == (2, "RUNNING")
    assert data["startTime"] is not None
    clock.advance(30)
    data = enos.get(flow_instance).json()["data"]
    assert (data["status"], data["statusDesc"], data["endTime"] is not None) == (-1, "FAIL", True)


def test_enos_forced_statuses(enos: EnosClient, control: EmulatorControl, clock: FakeClock) -> None:
    control.configure(enos_cancel_delay=1)
    init = control.create_enos_instance(status=0)["instanceId"]
    suspended = control.create_enos_instance(status=3)["instanceId"]
    clock.advance(100_000)
    assert enos.get(init).json()["data"]["status"] == 0
    assert enos.get(suspended).json()["data"]["statusDesc"] == "SUSPEND"
    assert enos.cancel(suspended).json()["code"] == 0
    clock.advance(1)
    assert enos.get(suspended).json()["data"]["status"] == 8


def test_enos_token_expire_counts_down(enos: EnosClient, control: EmulatorControl, clock: FakeClock) -> None:
    first = enos.token_call()["data"]
    clock.advance(100)
    second = enos.token_call()["data"]
    assert second == {"accessToken": first["accessToken"], "expire": 7100}
    clock.advance(7100)
    assert enos.token_call()["data"]["accessToken"] != first["accessToken"]
