"""The sensors' ``max_poll_interval``: Airflow's own loop asks the sensor for its next interval, in poke mode
by poke count (tests/integration/test_backoff.py), in reschedule mode from the time since the first poke;
it cannot be combined with Airflow's ``exponential_backoff``/``max_wait``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from tests.airflow_compat import AirflowRescheduleException
from tests.unit.sensors.harness import RESCHEDULED_BY_THE_TASK_RUNNER, new_context


def sensor(instance_id: str = "2052e10a-9b8c-4a6f-8d3e-000000000001", **kwargs: Any) -> Any:
    return DomoWorkflowInstanceSensor(task_id="wait", instance_id=instance_id, **kwargs)


@RESCHEDULED_BY_THE_TASK_RUNNER
@pytest.mark.usefixtures("domo_conn")
@pytest.mark.parametrize(
    ("running_for", "low", "high"),
    [
        (0.0, 1.0, 1.0),  # the first poke: poke_interval, exactly
        (10.0, 7.2, 8.0),  # 1 + 2 + 4 s slept before: the fourth interval, 8 s less up to 10 % jitter
        (3600.0, 54.0, 60.0),  # long past the cap
    ],
)
def test_a_rescheduled_sensor_takes_its_step_from_the_time_since_its_first_poke(
    emu: Any, running_for: float, low: float, high: float
) -> None:
    instance_id = emu.control.create_domo_instance(runs_for=7200)["id"]
    context = new_context()
    if running_for:
        context["ti"].first_reschedule_date = datetime.now(UTC) - timedelta(seconds=running_for)
    before = datetime.now(UTC)
    with pytest.raises(AirflowRescheduleException) as rescheduled:
        sensor(instance_id, mode="reschedule", poke_interval=1, max_poll_interval=60, timeout=7200).execute(
            context
        )
    after = datetime.now(UTC)
    assert before + timedelta(seconds=low) <= rescheduled.value.reschedule_date
    assert rescheduled.value.reschedule_date <= after + timedelta(seconds=high)


def test_the_interval_never_passes_the_sensor_timeout() -> None:
    wait = sensor(poke_interval=1, max_poll_interval=60, timeout=100)
    assert wait._get_next_poke_interval(0.0, lambda: 95.0, 20) == 5.0


def test_timedeltas_are_taken_as_airflow_takes_them() -> None:
    wait = sensor(poke_interval=timedelta(seconds=30), max_poll_interval=timedelta(minutes=10))
    assert (wait.poke_interval, wait.max_poll_interval) == (30.0, 600.0)


def test_without_max_poll_interval_airflows_own_schedule_applies() -> None:
    wait = sensor(poke_interval=5)
    assert wait.max_poll_interval is None
    assert wait._get_next_poke_interval(0.0, lambda: 1000.0, 30) == 5.0


@pytest.mark.parametrize("airflows", [{"exponential_backoff": True}, {"max_wait": 600}])
def test_airflows_backoff_and_max_poll_interval_are_one_or_the_other(airflows: dict[str, Any]) -> None:
    with pytest.raises(
        InvalidInputError, match="max_poll_interval replaces exponential_backoff and max_wait"
    ):
        sensor(poke_interval=5, max_poll_interval=60, **airflows)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (4, "max_poll_interval must be at least poke_interval (5 s), got 4"),
        ("60", "max_poll_interval must be a number >= 0.01"),
        (float("nan"), "max_poll_interval must be a number >= 0.01"),
    ],
)
def test_bad_max_poll_interval_fails_at_construction(value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sensor(poke_interval=5, max_poll_interval=value)
