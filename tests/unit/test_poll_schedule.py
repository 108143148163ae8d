"""The one backoff schedule (``_poll_schedule.PollSchedule``): properties over any valid input, and the
errors bad input gets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_wfcancel._poll_schedule import GROWTH, JITTER, PollSchedule, check_step
from airflow_provider_wfcancel.exceptions import InvalidInputError

YEAR = 366 * 24 * 3600.0
seconds = st.floats(min_value=0.01, max_value=YEAR, allow_nan=False, allow_infinity=False)
steps = st.integers(min_value=0, max_value=10_000)
fractions = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


@st.composite
def schedules(draw: st.DrawFn) -> PollSchedule:
    low, high = sorted((draw(seconds), draw(seconds)))
    return PollSchedule.checked(low, high)


@given(schedules(), steps)
def test_before_jitter_the_interval_never_shrinks_and_stays_within_bounds(
    schedule: PollSchedule, step: int
) -> None:
    assert (
        schedule.poll_interval <= schedule.base(step) <= schedule.base(step + 1) <= schedule.max_poll_interval
    )


@given(schedules(), steps, fractions)
def test_jitter_only_shortens_a_grown_interval_by_a_bounded_fraction(
    schedule: PollSchedule, step: int, rand: float
) -> None:
    base, interval = schedule.base(step), schedule.interval(step, rand)
    assert schedule.poll_interval <= interval <= base <= schedule.max_poll_interval
    assert interval >= base * (1 - JITTER)


@given(schedules(), steps)
def test_random_jitter_stays_within_the_same_bounds(schedule: PollSchedule, step: int) -> None:
    base = schedule.base(step)
    assert max(schedule.poll_interval, base * (1 - JITTER)) <= schedule.interval(step) <= base


@given(schedules())
def test_the_interval_doubles_until_the_cap_and_then_stays_there(schedule: PollSchedule) -> None:
    for step in range(schedule.cap_step):
        assert schedule.base(step) == pytest.approx(schedule.poll_interval * GROWTH**step)
    assert schedule.base(schedule.cap_step) == schedule.max_poll_interval
    assert schedule.base(schedule.cap_step + 10**6) == schedule.max_poll_interval


@given(seconds, steps, fractions)
def test_without_a_cap_above_poll_interval_the_schedule_is_constant_and_exact(
    poll: float, step: int, rand: float
) -> None:
    schedule = PollSchedule.checked(poll)
    assert schedule.interval(step, rand) == schedule.base(step) == poll
    assert schedule.step_at(YEAR) == 0


@given(schedules(), st.floats(min_value=0, max_value=YEAR), st.floats(min_value=0, max_value=YEAR))
def test_the_step_recovered_from_elapsed_time_never_goes_back(
    schedule: PollSchedule, elapsed: float, more: float
) -> None:
    assert 0 <= schedule.step_at(elapsed) <= schedule.step_at(elapsed + more) <= schedule.cap_step


@given(schedules(), st.integers(min_value=0, max_value=40))
def test_a_wait_that_slept_each_base_interval_recovers_its_step(schedule: PollSchedule, done: int) -> None:
    done = min(done, schedule.cap_step)
    slept = sum(schedule.base(step) for step in range(done))
    assert schedule.step_at(slept * (1 + 1e-9)) >= done


@given(schedules(), steps, st.floats(min_value=0, max_value=YEAR))
def test_a_resumed_step_is_the_further_of_the_recorded_and_the_elapsed(
    schedule: PollSchedule, step: int, elapsed: float
) -> None:
    assert schedule.resumed_step(step, elapsed) == max(step, schedule.step_at(elapsed))


def test_a_known_schedule() -> None:
    schedule = PollSchedule.checked(10, 300)
    assert [schedule.base(step) for step in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    assert [schedule.step_at(t) for t in (0, 9.9, 10, 29.9, 30, 310, 1000)] == [0, 0, 1, 1, 2, 5, 5]
    assert schedule.interval(3, 0.5) == pytest.approx(80 * (1 - JITTER / 2))


@pytest.mark.parametrize(
    ("poll", "cap", "message"),
    [
        (10, 5, "max_poll_interval must be at least poll_interval (10 s), got 5"),
        (10, 0, "max_poll_interval must be a number >= 0.01"),
        (10, -1, "max_poll_interval must be a number >= 0.01"),
        (10, "60", "max_poll_interval must be a number >= 0.01"),
        (10, True, "max_poll_interval must be a number >= 0.01"),
        (10, float("nan"), "max_poll_interval must be a number >= 0.01"),
        (10, float("inf"), "max_poll_interval must be a number >= 0.01"),
        (0, 60, "poll_interval must be a number >= 0.01"),
        ("10", 60, "poll_interval must be a number >= 0.01"),
    ],
)
def test_bad_input_names_its_field(poll: Any, cap: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        PollSchedule.checked(poll, cap)


def test_the_fields_named_in_errors_are_the_callers() -> None:
    with pytest.raises(InvalidInputError, match=r"max_poll_interval must be at least poke_interval \(60 s\)"):
        PollSchedule.checked(60, 30, poll_field="poke_interval")


@pytest.mark.parametrize("value", [-1, 1.0, True, "3", None])
def test_a_serialized_step_must_be_a_non_negative_integer(value: Any) -> None:
    with pytest.raises(InvalidInputError, match="poll_step must be an integer >= 0"):
        check_step(value)
