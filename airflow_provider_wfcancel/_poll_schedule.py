"""How long to wait between two status reads of a running instance: the one backoff schedule.

Every wait for an instance to end polls on this schedule: the hook's worker and async waits (used by the
start and cancel operators and the notifiers), the bulk operators' rounds of reads, the triggers, and the
sensors in poke and reschedule mode. Only the bounded waits after a cancel on kill and the Remote instances page poll at a constant rate. The interval starts at ``poll_interval`` and doubles with each read
while the instance runs, up to ``max_poll_interval``. A grown interval is shortened by a random fraction of
at most :data:`JITTER` (never below ``poll_interval``), so many waits started together spread out instead
of reading in step. With ``max_poll_interval`` equal to ``poll_interval`` (the default) the schedule is
constant and exact, as it was before backoff existed.

"Where in the growth" a wait is: its ``step``, the number of reads it has done. A wait that resumes in
another process (a trigger moved to another triggerer: Airflow keeps only the kwargs the trigger was created
with; a sensor rescheduled) recovers its step from the time since it began (:meth:`PollSchedule.step_at`).

Pure: no I/O, no Airflow; the caller sleeps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_wfcancel._validation import check_seconds
from airflow_provider_wfcancel.exceptions import InvalidInputError

#: Each read while the instance runs doubles the interval (before jitter), up to the cap.
GROWTH = 2.0
#: A grown interval is shortened by up to this fraction, at random.
JITTER = 0.1


@dataclass(frozen=True)
class PollSchedule:
    """``poll_interval`` growing to ``max_poll_interval`` (seconds); build it with :meth:`checked`."""

    poll_interval: float
    max_poll_interval: float
    #: The first step whose interval is the cap.
    cap_step: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        step, interval = 0, self.poll_interval
        while interval < self.max_poll_interval:
            step, interval = step + 1, interval * GROWTH
        object.__setattr__(self, "cap_step", step)

    @classmethod
    def checked(
        cls,
        poll_interval: Any,
        max_poll_interval: Any = None,
        *,
        poll_field: str = "poll_interval",
        max_field: str = "max_poll_interval",
        minimum: float = 0.01,
    ) -> PollSchedule:
        """A schedule from user input; ``max_poll_interval`` ``None`` means constant. Bad values raise
        :class:`InvalidInputError` naming their field (``poll_field``/``max_field``)."""
        poll = check_seconds(poll_field, poll_interval, minimum=minimum)
        if max_poll_interval is None:
            return cls(poll, poll)
        cap = check_seconds(max_field, max_poll_interval, minimum=minimum)
        if cap < poll:
            raise InvalidInputError(
                f"{max_field} must be at least {poll_field} ({poll:g} s), got {max_poll_interval!r}"
            )
        return cls(poll, cap)

    def base(self, step: int) -> float:
        """The interval after read number ``step + 1`` (``step`` >= 0), before jitter."""
        if step >= self.cap_step:
            return self.max_poll_interval
        return min(self.max_poll_interval, self.poll_interval * GROWTH ** max(0, step))

    def interval(self, step: int, rand: float | None = None) -> float:
        """The interval to wait after read number ``step + 1``: :meth:`base` shortened by ``rand`` (in
        ``[0, 1)``; random when ``None``) times :data:`JITTER`, never below ``poll_interval``."""
        base = self.base(step)
        if base <= self.poll_interval:
            return self.poll_interval
        fraction = random.random() if rand is None else min(max(rand, 0.0), 1.0)
        return max(self.poll_interval, base * (1.0 - JITTER * fraction))

    def step_at(self, elapsed: float) -> int:
        """How many reads a wait begun ``elapsed`` seconds ago has done, had it slept each :meth:`base`
        interval and read in no time (an estimate: jitter shortens a real wait, each read lengthens it);
        at most :attr:`cap_step`."""
        step, waited = 0, 0.0
        while step < self.cap_step and waited + self.base(step) <= elapsed:
            waited += self.base(step)
            step += 1
        return step

    def resumed_step(self, step: int, elapsed: float) -> int:
        """The step of a wait resuming with a recorded ``step``, begun ``elapsed`` seconds ago: the further
        of the two (kwargs written when a trigger was created say 0; the time since says more)."""
        return max(step, self.step_at(elapsed))


def check_step(value: Any) -> int:
    """A serialized schedule position (``poll_step``): an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"poll_step must be an integer >= 0, got {value!r}")
    return value
