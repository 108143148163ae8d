"""Both instance sensors, in each of the three modes, against the emulator: how every kind of end is judged.

Each test runs the same scenario through ``poke``, ``reschedule`` and ``deferrable`` (``harness.py`` runs
a sensor as the task runner does), for Domo and for EnOS. The instance runs until the emulator has answered
one status read of it, then ends: every mode sees it running first, however slow the machine.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import RemoteInstanceEndedError, RemoteInstanceFailedError
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from airflow_provider_wfcancel.version_compat import AirflowFailException, AirflowSensorTimeout
from tests.airflow_compat import AirflowSkipException, as_stored
from tests.unit.sensors.harness import MODES, ends_once_read, mode_kwargs, new_context, run_sensor

ENOS_CODES = {"SUCCESS": 1, "FAIL": -1, "CANCEL": 8, "UNKNOWN": 42}


@dataclass(frozen=True)
class Service:
    name: str
    success: str
    failed: str
    cancelled: str

    def start(self, control: Any) -> str:
        """A running instance (until something ends it)."""
        if self.name == "domo":
            return str(control.create_domo_instance(runs_for=3600)["id"])
        return str(control.create_enos_instance(runs_for=3600)["instanceId"])

    def ends(self, emu: Any, instance_id: str, final: str) -> Any:
        """The block in which ``instance_id`` ends ``final`` once it has been read."""
        return ends_once_read(
            emu, self.name, instance_id, final if self.name == "domo" else ENOS_CODES[final]
        )

    def sensor(self, instance_id: str, mode: str, **kwargs: Any) -> Any:
        common = {"task_id": "wait", "poke_interval": 0.05, "timeout": 30, **mode_kwargs(mode), **kwargs}
        if self.name == "domo":
            return DomoWorkflowInstanceSensor(instance_id=instance_id, **common)
        return EnosFlowInstanceSensor(flow_instance_id=instance_id, **common)


DOMO = Service("domo", success="COMPLETED", failed="FAILED", cancelled="CANCELED")
ENOS = Service("enos", success="SUCCESS", failed="FAIL", cancelled="CANCEL")


@pytest.fixture(params=[DOMO, ENOS], ids=lambda s: s.name)
def svc(request: pytest.FixtureRequest, emu: Any, domo_conn: str, enos_conn: str) -> Service:
    service: Service = request.param
    return service


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def assert_mode_was_used(context: dict[str, Any], mode: str) -> None:
    ti = context["ti"]
    assert (ti.reschedules > 0, ti.deferrals) == (mode == "reschedule", int(mode == "deferrable"))


async def test_success_returns_the_final_state(svc: Service, mode: str, emu: Any) -> None:
    instance_id = svc.start(emu.control)
    context = new_context()
    with svc.ends(emu, instance_id, svc.success):
        result = await run_sensor(lambda: svc.sensor(instance_id, mode), context)
    assert (result["service"], result["instance_id"], result["final_status"]) == (
        svc.name,
        instance_id,
        svc.success,
    )
    assert context["ti"].xcoms == as_stored({"instance_id": instance_id, "url": result["url"]})
    if svc.name == "domo":
        remote = emu.control.domo_instance(instance_id)
        path = f"{remote['modelId']}/{remote['modelVersion']}/{instance_id}"
        assert result["url"] == f"{emu.base_url}/workflows/instances/{path}"
    else:
        assert result["url"] is None  # EnOS documents no console URL
    assert_mode_was_used(context, mode)


@pytest.mark.parametrize("end", ["failed", "cancelled"])
async def test_any_other_end_fails_without_retry_naming_the_status(
    svc: Service, mode: str, end: str, emu: Any
) -> None:
    status = getattr(svc, end)
    instance_id = svc.start(emu.control)
    context = new_context()
    with svc.ends(emu, instance_id, status), pytest.raises(RemoteInstanceEndedError) as info:
        await run_sensor(lambda: svc.sensor(instance_id, mode), context)
    assert isinstance(info.value, AirflowFailException)  # the task runner fails it without retry
    assert isinstance(info.value, RemoteInstanceFailedError)
    assert f"instance {instance_id} ended with status {status}; the sensor accepts {svc.success}" in str(
        info.value
    )
    assert context["ti"].xcoms["instance_id"] == instance_id
    assert_mode_was_used(context, mode)


async def test_an_unknown_status_is_named(svc: Service, mode: str, emu: Any) -> None:
    """Domo: any undocumented value is an end (a failure here). EnOS: an undocumented code counts as
    running, so the sensor ends at its timeout, naming the code."""
    instance_id = svc.start(emu.control)
    context = new_context()
    if svc.name == "domo":
        with svc.ends(emu, instance_id, "ON_HOLD"), pytest.raises(RemoteInstanceEndedError) as info:
            await run_sensor(lambda: svc.sensor(instance_id, mode), context)
        assert "ended with status ON_HOLD" in str(info.value)
    else:
        with svc.ends(emu, instance_id, "UNKNOWN"), pytest.raises(AirflowSensorTimeout) as timeout:
            await run_sensor(lambda: svc.sensor(instance_id, mode, timeout=1), context)
        assert "last status UNKNOWN(42)" in str(timeout.value)
    assert_mode_was_used(context, mode)


#: A sensor timeout that ends the wait soon, yet leaves room for the first poke (EnOS: a token and a read)
#: and a reschedule after it on a loaded machine (at 0.5 s, a slow first poke timed out before any).
TIMEOUT = 1.5


async def test_timeout_fails_with_airflows_sensor_timeout(svc: Service, mode: str, emu: Any) -> None:
    instance_id = svc.start(emu.control)
    context = new_context()
    with pytest.raises(AirflowSensorTimeout) as info:
        await run_sensor(lambda: svc.sensor(instance_id, mode, timeout=TIMEOUT), context)
    running = "IN_PROGRESS" if svc.name == "domo" else "RUNNING"
    assert f"instance {instance_id}" in str(info.value)
    assert f"last status {running}" in str(info.value)
    assert_mode_was_used(context, mode)


@pytest.mark.parametrize("end", ["failed", "timeout"])
async def test_soft_fail_skips_instead_of_failing(svc: Service, mode: str, end: str, emu: Any) -> None:
    instance_id = svc.start(emu.control)
    context = new_context()
    ending = svc.ends(emu, instance_id, svc.failed) if end == "failed" else contextlib.nullcontext()
    with ending, pytest.raises(AirflowSkipException) as info:
        await run_sensor(lambda: svc.sensor(instance_id, mode, timeout=TIMEOUT, soft_fail=True), context)
    if end == "failed":  # the reason stays in the chain
        assert isinstance(info.value.__cause__, RemoteInstanceEndedError)
    assert_mode_was_used(context, mode)


async def test_accepted_statuses_replace_success(svc: Service, mode: str, emu: Any) -> None:
    cancelled = svc.start(emu.control)
    accepted = [svc.success.lower(), f" {svc.cancelled} "]  # names are compared without case or spaces
    with svc.ends(emu, cancelled, svc.cancelled):
        result = await run_sensor(
            lambda: svc.sensor(cancelled, mode, accepted_statuses=accepted), new_context()
        )
    assert result["final_status"] == svc.cancelled

    succeeded = svc.start(emu.control)
    with svc.ends(emu, succeeded, svc.success), pytest.raises(RemoteInstanceEndedError) as info:
        await run_sensor(
            lambda: svc.sensor(succeeded, mode, accepted_statuses=[svc.cancelled]), new_context()
        )
    message = f"ended with status {svc.success}; the sensor accepts {svc.cancelled}"
    assert str(info.value).endswith(message)


async def test_an_instance_that_already_ended_needs_one_read(svc: Service, mode: str, emu: Any) -> None:
    emu.control.configure(domo_start_delay=0, enos_start_delay=0)
    if svc.name == "domo":
        instance_id = str(emu.control.create_domo_instance(status=svc.success)["id"])
    else:
        instance_id = str(emu.control.create_enos_instance(status=ENOS_CODES[svc.success])["instanceId"])
    context = new_context()
    result = await run_sensor(lambda: svc.sensor(instance_id, mode), context)
    assert result["final_status"] == svc.success
    assert (context["ti"].reschedules, context["ti"].deferrals) == (0, 0)  # done at the first poke
    get_route = "domo.get" if svc.name == "domo" else "enos.flowinstance.get"
    assert emu.control.counts()[get_route] == 1
