"""Taking a turn at a gateway's limiter (:mod:`.ratelimit`), within the caller's deadline, if any.

A transport calls :func:`wait` (or :func:`await_turn`) before every attempt; a bulk cancel sets
:func:`deadline` so that a request the limiter would hold past it fails at once (:class:`PastDeadline`)
instead of starting late.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_wfcancel._http.ratelimit import GatewayLimiter


class PastDeadline(Exception):
    """The limiter would hold a request past the caller's deadline (see :func:`deadline`)."""


#: An absolute ``time.monotonic()`` deadline for the requests of this thread or task (a bulk cancel's).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("wfcancel_deadline", default=None)


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Within this block, a request the limiter would hold past ``at`` fails at once instead."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def _check(delay: float) -> None:
    at = _deadline.get()
    if at is not None and time.monotonic() + delay > at:
        raise PastDeadline


def wait(limiter: GatewayLimiter, sleep: Callable[[float], object]) -> None:
    """Block until ``limiter`` lets one request go; the caller then owes it a :meth:`~.ratelimit.GatewayLimiter.release`."""
    waiting = False
    while True:
        delay, taken = limiter.reserve(waiting=waiting)
        try:
            _check(delay)
            if delay > 0:
                sleep(delay)
        except BaseException:
            if taken:
                limiter.release()
            raise
        if taken:
            if limiter.ready():
                return
            limiter.release()  # a pause overtook the slot: queue again
        waiting = not taken


async def await_turn(limiter: GatewayLimiter, sleep: Callable[[float], Awaitable[object]]) -> None:
    """Async twin of :func:`wait`."""
    waiting = False
    while True:
        delay, taken = limiter.reserve(waiting=waiting)
        try:
            _check(delay)
            if delay > 0:
                await sleep(delay)
        except BaseException:
            if taken:
                limiter.release()
            raise
        if taken:
            if limiter.ready():
                return
            limiter.release()
        waiting = not taken
