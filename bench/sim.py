"""A virtual-time simulation of a bulk cancel at a rate-limited gateway: the provider's real limiter.

The provider's :class:`~airflow_provider_wfcancel._http.ratelimit.GatewayLimiter` (on a virtual clock), its
:class:`~airflow_provider_wfcancel._http.retry.RetryPolicy` and the emulator's
:class:`~airflow_provider_wfcancel.emulator.ratelimit.TokenBucket` (the gateway) are the code under test; only
the network (a fixed latency, half each way) and the threads are simulated. Each worker runs the loop of
``SyncTransport.send`` (``pacing.wait``, send, ``record``, honour the retry delay) inside the loop of the
bulk path (a throttled id is sent again until it gets through). A run takes milliseconds, so the sweep can
cover every gateway shape the emulator would need hours for; the emulator rows check it against real I/O.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from airflow_provider_wfcancel._http.ratelimit import GatewayLimiter
from airflow_provider_wfcancel._http.retry import DEFAULT_RETRY_POLICY
from airflow_provider_wfcancel.emulator.ratelimit import RateLimitSpec, TokenBucket

#: Round trip of one request in the simulation (seconds): a nearby gateway.
LATENCY = 0.002


@dataclass(frozen=True)
class Gateway:
    """A token-bucket gateway: ``rate`` requests/s, ``burst`` tokens, ``Retry-After`` seconds (``header``
    ``False``: its 429s carry none)."""

    rate: float
    burst: int
    retry_after: float = 1.0
    header: bool = True

    def describe(self) -> str:
        after = f"{self.retry_after:g} s" if self.header else "absent"
        return f"{self.rate:g} req/s, burst {self.burst}, Retry-After {after}"

    def spec(self) -> RateLimitSpec:
        """The emulator's limit for this gateway."""
        return RateLimitSpec(
            rate=self.rate, burst=self.burst, retry_after=self.retry_after, retry_after_header=self.header
        )


@dataclass
class Outcome:
    wall: float
    requests: int
    throttled: int
    lost: int
    #: (send time, throttled) of every request, for the plots
    sends: list[tuple[float, bool]] = field(default_factory=list)

    def ratio(self, n: int, rate: float) -> float:
        return self.wall / (n / rate)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Sleep = Generator[float, None, None]


def _wait(limiter: GatewayLimiter) -> Sleep:
    """``pacing.wait``, yielding its sleeps."""
    waiting = False
    while True:
        delay, taken = limiter.reserve(waiting=waiting)
        if delay > 0:
            yield delay
        if taken:
            if limiter.ready():
                return
            limiter.release()
        waiting = not taken


def simulate(
    gateway: Gateway,
    n: int,
    *,
    workers: int = 8,
    limiter: GatewayLimiter | None = None,
    clock: _Clock | None = None,
    latency: float = LATENCY,
    seed: int = 0,
) -> Outcome:
    """Cancel ``n`` ids with ``workers`` workers through ``limiter`` (a fresh one by default: a cold start).

    Pass a limiter (and its clock) from an earlier run to simulate a second batch in the same process.
    """
    random.seed(seed)
    clock = clock or _Clock()
    limiter = limiter or GatewayLimiter(clock=clock)
    bucket = TokenBucket.create(gateway.spec(), clock.now)
    policy = DEFAULT_RETRY_POLICY
    ids: Iterator[int] = iter(range(n))
    started = clock.now
    sends: list[tuple[float, bool]] = []

    def worker() -> Sleep:
        for _ in ids:
            attempt, first = 0, clock.now
            while True:
                yield from _wait(limiter)
                sent_at = limiter.sent()
                yield latency / 2
                refused = bucket.take(clock.now)  # None: accepted; else its Retry-After ("": none)
                sends.append((clock.now - started, refused is not None))
                yield latency / 2
                retry_after = refused or None
                limiter.record(sent_at, 200 if refused is None else 429, retry_after, policy.retry_after_cap)
                if refused is None:
                    break
                attempt += 1
                delay = policy.next_delay(attempt=attempt, elapsed=clock.now - first, retry_after=retry_after)
                if delay is None:  # RateLimitedError: the bulk path sends the id again
                    attempt, first = 0, clock.now
                    continue
                yield delay

    _run(clock, [worker() for _ in range(min(workers, n))])
    throttled = sum(1 for _, refused in sends if refused)
    return Outcome(clock.now - started, len(sends), throttled, 0, sends)


def _run(clock: _Clock, tasks: list[Sleep]) -> None:
    order = itertools.count()
    queue = [(clock.now, next(order), task) for task in tasks]
    heapq.heapify(queue)
    while queue:
        at, _, task = heapq.heappop(queue)
        clock.now = at
        try:
            delay = next(task)
        except StopIteration:
            continue
        heapq.heappush(queue, (at + delay, next(order), task))


def learned(gateway: Gateway, n: int, *, workers: int = 8, rest: float = 60.0, seed: int = 0) -> Outcome:
    """A batch of ``n`` in a process whose limiter met the gateway's limit in an earlier batch (one long
    enough to: 15 seconds' worth), ``rest`` seconds before: the learned rate reused."""
    clock = _Clock()
    limiter = GatewayLimiter(clock=clock)
    simulate(
        gateway, max(n, int(gateway.rate * 15)), workers=workers, limiter=limiter, clock=clock, seed=seed
    )
    clock.now += rest
    return simulate(gateway, n, workers=workers, limiter=limiter, clock=clock, seed=seed + 1)


def known(gateway: Gateway, n: int, *, workers: int = 8, seed: int = 0) -> Outcome:
    """A batch with the rate known up front (the connection's ``max_requests_per_second`` extra)."""
    clock = _Clock()
    return simulate(
        gateway, n, workers=workers, limiter=GatewayLimiter(gateway.rate, clock=clock), clock=clock, seed=seed
    )
