"""The triggers' backoff against the emulator: the schedule's position survives ``serialize()`` (a running
trigger's step; a trigger restarted from the kwargs Airflow stored at deferral takes its step from the time
since the wait began), and the operators and sensors hand ``max_poll_interval`` to their trigger."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger
from tests.airflow_compat import TaskDeferred, deserialize, import_string, serialize
from tests.poll_sleeps import record, steps_of
from tests.unit.sensors.harness import ends_once_read

BASES = [0.05, 0.1, 0.2, 0.4, 0.8]


def rebuilt(trigger: Any) -> Any:
    """The trigger as a triggerer rebuilds it from its serialized form."""
    classpath, kwargs = trigger.serialize()
    return import_string(classpath)(**deserialize(serialize(kwargs)))


def backoff_trigger(instance_id: str, **kwargs: Any) -> DomoInstanceTrigger:
    return DomoInstanceTrigger(
        conn_id="domo_default",
        instance_id=instance_id,
        deadline=time.time() + 30,
        poll_interval=BASES[0],
        max_poll_interval=BASES[-1],
        **kwargs,
    )


async def test_a_running_trigger_serializes_where_its_schedule_is(
    emu: Any, domo_conn: str, mocker: Any
) -> None:
    sleeps = record(mocker)
    instance_id = emu.control.create_domo_instance(runs_for=3600)["id"]
    trigger = backoff_trigger(instance_id)
    assert trigger.serialize()[1]["poll_step"] == 0
    with ends_once_read(emu, "domo", instance_id, "COMPLETED", reads=5):
        (event,) = [event.payload async for event in trigger.run()]
    assert event["status"] == "success"
    first = steps_of(sleeps, BASES)[0]  # the time since construction may have moved it on (a slow start)
    assert first < len(BASES) - 1
    assert trigger.poll_step == first + len(sleeps) >= 4
    again = rebuilt(trigger)
    assert again.serialize() == trigger.serialize()
    assert (again.poll_step, again.poll_started, again.max_poll_interval) == (
        trigger.poll_step,
        trigger.poll_started,
        BASES[-1],
    )


async def test_a_trigger_rebuilt_with_its_step_continues_there(emu: Any, domo_conn: str, mocker: Any) -> None:
    sleeps = record(mocker)
    instance_id = emu.control.create_domo_instance(runs_for=3600)["id"]
    running = backoff_trigger(instance_id, poll_step=3)
    with ends_once_read(emu, "domo", instance_id, "COMPLETED", reads=2):
        await rebuilt(running).poll()
    assert steps_of(sleeps, BASES)[:2] == [3, 4]


async def test_a_trigger_restarted_from_its_deferral_kwargs_continues_from_the_time_since(
    emu: Any, domo_conn: str, mocker: Any
) -> None:
    """Airflow stores a trigger's kwargs once, at deferral (``poll_step`` 0): another triggerer that takes
    the trigger over 10 s later polls at the cap at once, not from ``poll_interval`` again."""
    sleeps = record(mocker)
    instance_id = emu.control.create_domo_instance(runs_for=3600)["id"]
    stored = backoff_trigger(instance_id, poll_started=time.time() - 10)
    with ends_once_read(emu, "domo", instance_id, "COMPLETED", reads=2):
        await rebuilt(stored).poll()
    assert set(steps_of(sleeps, BASES)) == {4}


def test_kwargs_of_a_trigger_deferred_before_backoff_existed_still_build() -> None:
    trigger = EnosFlowInstanceTrigger(conn_id="e", instance_id="1-12345678", deadline=1.8e9, poll_interval=7)
    assert (trigger.poll_interval, trigger.max_poll_interval, trigger.poll_step) == (7.0, 7.0, 0)


@pytest.mark.usefixtures("domo_conn")
def test_a_start_operator_defers_with_its_schedule(emu: Any, context: dict[str, Any]) -> None:
    emu.control.configure(domo_start_delay=0)
    operator = DomoStartWorkflowOperator(
        task_id="start",
        model_id="f5d7bbff-0000-4000-8000-00000000d3f3",
        version="1.0.0",
        message_name="Start",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=10,
        max_poll_interval=300,
    )
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["poll_interval"], kwargs["max_poll_interval"], kwargs["poll_step"]) == (10.0, 300.0, 0)
    assert before <= kwargs["poll_started"] <= time.time()


@pytest.mark.usefixtures("enos_conn")
def test_a_sensor_defers_with_its_schedule(emu: Any, context: dict[str, Any]) -> None:
    instance_id = emu.control.create_enos_instance(runs_for=600)["instanceId"]
    sensor = EnosFlowInstanceSensor(
        task_id="wait", flow_instance_id=instance_id, deferrable=True, poke_interval=5, max_poll_interval=120
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["poll_interval"], kwargs["max_poll_interval"]) == (5.0, 120.0)
