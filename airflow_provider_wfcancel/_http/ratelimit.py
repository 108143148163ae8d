"""One adaptive rate limiter per gateway, shared by every request to it.

A gateway is a base URL plus a credential identity (a digest, never the secret). Every thread of a process
shares one :class:`GatewayLimiter` per gateway (:func:`sync_limiter`), every coroutine of an event loop
another (:func:`async_limiter`), so all triggers of one triggerer pace together.

What it does:

- **Pauses everyone on an overload.** A 429, or a 503 that carries ``Retry-After``, stops every request to
  the gateway until that time and takes back the slots handed out at the pace refused (their callers queue
  again), with two exceptions, where only the refused requests wait their ``Retry-After`` (the retry
  policy): slow start's first throttle (its own overshoot: the rest go on at the lower rate at once), and
  a *stray* refusal: paced at a rate the gateway has been accepting, refusals within :data:`STRAY_SHARE`
  of the answers of the last :data:`STRAY_HORIZON` seconds are requests arriving closer than they were
  sent (jitter, a burst-1 gateway); the rate drops by :data:`STRAY_SLOWDOWN` (the limit is just under the
  rate refused: found), and answers to slots handed out at the old pace are the same event.
- **Paces.** Requests are spaced ``1 / rate`` apart (GCRA): each caller is handed a definite slot once it is
  near, so workers neither hit the limit together nor lose slots to a late wake-up.
- **Adapts (AIMD).** One request after another goes unpaced until the gateway first throttles; requests
  that overlap start at :data:`INITIAL_RATE` and grow geometrically while answers come back (slow start).
  On an overload the rate is set just under the rate the gateway accepted lately (after one soon after an
  overload at a found rate: since then, so a burst refilled during the pause is not taken for rate). That
  first estimate is rough, so the rate grows by :data:`SETTLE_GROWTH` until the gateway refuses again,
  which finds the limit; from there by :data:`FOUND_GROWTH` a second, doubling every
  :data:`ACCELERATE_EVERY` seconds without a refusal, so the client stays just under the limit and a
  stale estimate is corrected about as fast as slow start.
  A decrease that had to be capped at halving (too few answers to tell the rate) settles again.
- **Caps.** A connection's ``max_requests_per_second`` extra paces from the first request,
  :data:`CAP_MARGIN` under the cap, and bounds growth.
- **Remembers.** One limiter per gateway and process (or event loop) outlives a batch: the next batch of
  the same worker or triggerer starts at the rate the last one found.

The limiter never decides whether to retry (that stays :func:`.retry.is_retryable`'s); it only says when
the next request may go. It holds no I/O and its lock is never held across a wait, so the async transport
uses it too (one loop, no await under the lock).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable

from airflow_provider_wfcancel._http.learned_rates import LearnedRates
from airflow_provider_wfcancel._http.retry import parse_retry_after

#: The rate a limiter without a cap starts at when requests overlap (requests/s; one request after another
#: is not paced until a throttle). Unpaced, a bulk cancel would meet a limited gateway with a burst of 429s
#: and a pause at once; from here slow start reaches 100 requests/s in 1.5 s and 1,000 in 3 s.
INITIAL_RATE = 10.0
#: Seconds of accepted answers the decrease looks at ...
WINDOW = 1.0
#: ... or long enough to hold this many answers at the current rate (at most ``STRAY_HORIZON``).
MIN_SAMPLE = 10
#: The rate after a throttle, as a share of the accepted rate in the window.
DECREASE = 0.95
#: Growth per second during slow start (share of the rate: doubling about every 0.5 s).
PROBE_GROWTH = 1.5
#: Growth per second after slow start's first throttle, until the next (share of the rate).
SETTLE_GROWTH = 0.1
#: Growth per second once the limit has been found (share of the rate) ...
FOUND_GROWTH = 0.001
#: ... doubling after each this many seconds of answers without a refusal (up to :data:`PROBE_GROWTH`).
ACCELERATE_EVERY = 10.0
#: A caller is handed a definite slot at most this many seconds ahead.
HORIZON = 0.25
#: Waiters spread their next look over at most this many seconds, so a rate that rose meanwhile is taken
#: up within about a second even with a thousand triggers waiting.
MAX_SPREAD = 1.0
#: A throttle after at most this many requests in the window only pauses: a lone request (a single cancel,
#: a status poll) that gets a 429 says nothing about the rate the client should keep.
QUIET = 2
#: ... unless the gateway throttled (a separate event) within this many seconds before: then it is our
#: rate, however few requests.
REPEATED = 10.0
#: The rate never drops below this (requests/s).
MIN_RATE = 0.2
#: While pacing, refusals up to this share of the window's answers are stray (see ``_stray``) ...
STRAY_SHARE = 0.02
#: ... of the answers in this many seconds.
STRAY_HORIZON = 10.0
#: A cap (``max_requests_per_second``) is paced this share under, so arrivals a little closer than they
#: were sent still find a token.
CAP_MARGIN = 0.01
#: A stray refusal slows the rate by this share.
STRAY_SLOWDOWN = 0.02


class GatewayLimiter:
    """Adaptive pacing for one gateway; thread-safe."""

    def __init__(self, cap: float | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        #: The fastest pace: a little under the cap (``inf`` without one).
        self.ceiling = float("inf") if cap is None else cap * (1.0 - CAP_MARGIN)
        self.rate: float = INITIAL_RATE if cap is None else self.ceiling
        self._clock = clock
        self._lock = threading.Lock()
        self._next_free = 0.0
        self._waiters = 0
        self._in_flight = 0
        self.paused_until = 0.0
        self._last_event = float("-inf")
        self._event_pauses = True  # whether the last overload paused everyone
        self._overload_found = False  # whether the last overload came at a found rate
        self._recent: deque[tuple[float, bool]] = deque()  # (answered at, throttled), STRAY_HORIZON long
        self._stray_paced_until = float("-inf")
        self._found_seconds = 0.0
        self._probing = True
        self._settling = False
        #: Paced strictly (no request early, none unpaced): under a cap, once throttled, or seeded.
        self._strict = cap is not None
        self.throttles = 0
        #: A rate found and not yet handed to :meth:`take_found`, and where the transport keeps it.
        self._found: float | None = None
        self.learned: LearnedRates | None = None

    def seed(self, rate: float) -> None:
        """Start from a rate found earlier (another process's, read from the learned rates file): paced
        strictly at it, growing as a found rate does."""
        with self._lock:
            self.rate = min(rate, self.ceiling)
            self._probing = self._settling = False
            self._strict = True

    def take_found(self) -> float | None:
        """The rate found at the last stray refusal or overload since the previous call, if any."""
        with self._lock:
            found, self._found = self._found, None
            return found

    def reserve(self, *, waiting: bool = False) -> tuple[float, bool]:
        """When the caller may send: ``(delay, taken)``.

        ``taken``: the slot ``delay`` seconds from now (at most :data:`HORIZON`) is the caller's; it sleeps
        that long and sends without asking again, so slots go out exactly ``1 / rate`` apart and a waiter
        that wakes a little late loses nothing. Otherwise the caller sleeps ``delay`` and asks again with
        ``waiting=True``: a slot further away is never handed out, the caller sleeps towards a random place
        in the queue of waiters (at most :data:`MAX_SPREAD` past the next slot), so a rate that changed
        meanwhile (a pause, a decrease, growth) applies at once. Every slot handed out is given back, by
        :meth:`answered` or, for a request that got no answer, :meth:`release`.

        Until the gateway first throttles, a request with none other in flight goes at once (one caller
        sending one request after another cannot burst), and any request may go one interval early (GCRA
        tolerance), so an EnOS token and a cancel go together; after the first throttle, neither: a gateway
        without burst refuses two requests closer than its interval.
        """
        with self._lock:
            now = self._clock()
            interval = 1.0 / self.rate
            learning = not self._strict
            tolerance = interval if learning else 0.0
            due = max(self.paused_until, self._next_free - tolerance)
            if learning and self._in_flight == 0:
                due = now
                self._next_free = now  # and it owes the schedule nothing
            if due - now <= HORIZON:
                if waiting:
                    self._waiters = max(0, self._waiters - 1)
                slot = max(due, now)
                self._next_free = max(self._next_free, slot) + interval
                self._in_flight += 1
                return slot - now, True
            if not waiting:
                self._waiters += 1
            spread = random.uniform(0.0, min(self._waiters * interval, MAX_SPREAD))
            return due - now - HORIZON + spread, False

    def release(self) -> None:
        """The request of a slot :meth:`reserve` handed out ended without an answer (failed, or never sent);
        an answer releases its slot in :meth:`answered`."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def ready(self) -> bool:
        """Whether the gateway is not paused now."""
        return self._clock() >= self.paused_until

    def sent(self) -> float:
        """The time a request goes out; pass it back to :meth:`answered`."""
        return self._clock()

    def answered(self, sent_at: float, *, throttled: bool, retry_after: float | None = None) -> None:
        """Record an answer: ``throttled`` for a 429 or a 503 with ``Retry-After`` (seconds, parsed)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)  # its slot is free once the answer is counted
            now = self._clock()
            self._recent.append((now, throttled))
            while self._recent[0][0] < now - STRAY_HORIZON:
                self._recent.popleft()
            if not throttled:
                self._grow()
                return
            self.throttles += 1
            self._strict = True
            if sent_at < self._stray_paced_until:
                return  # sent in a slot handed out before the last stray refusal: the same event
            if sent_at >= self._last_event and self._stray():
                # Paced near a rate the gateway has been accepting, a refusal in many is not an overload:
                # the refused request waits its Retry-After alone (the retry policy), the rest keep their
                # pace, a little slower: paced at the rate the gateway refused, the limit is just under it.
                self._stray_paced_until = self._next_free  # the slots handed out at the pace refused
                refused_interval = 1.0 / self.rate
                self.rate = max(MIN_RATE, self.rate * (1.0 - STRAY_SLOWDOWN))
                self._next_free += 1.0 / self.rate - refused_interval  # the next slot at the new pace
                self._probing = self._settling = False  # the limit is found (under a cap: probing until now)
                self._found_seconds = 0.0
                self._found = self.rate
                return
            resumed = self.paused_until  # when the pause of the last overload ended (or ends)
            same_event = sent_at < self._last_event  # in flight when the gateway last said stop
            repeated = now - self._last_event < REPEATED
            quiet = not repeated and sum(1 for at, _ in self._recent if at >= now - WINDOW) <= QUIET
            if not same_event:
                # Slow start's first throttle is its own overshoot, not a rate kept: the refused requests
                # wait their Retry-After (the retry policy), the rest go on at the lower rate at once.
                self._event_pauses = quiet or not self._probing
            if retry_after and self._event_pauses:
                self.paused_until = max(self.paused_until, now + retry_after)
            if not same_event or self._event_pauses:
                # The slots handed out at the pace refused are taken back: their callers queue again
                # (after an event that paused no one, its stragglers leave the new pace alone).
                self.paused_until = max(self.paused_until, self._next_free)
                self._next_free = self.paused_until
            if same_event:
                return
            previous, self._last_event = self._last_event, now
            # Soon again after an overload at a found rate: what the gateway took since then is its rate
            # (a shorter look would count the burst it refilled during the pause), the pause counted up to
            # WINDOW (longer than that, a gateway has refilled any burst it is likely to have).
            cycling = self._overload_found and WINDOW <= now - previous < REPEATED
            idle = max(0.0, min(resumed, now) - previous - WINDOW)
            self._overload_found = not (self._probing or self._settling)
            if quiet:
                return  # too few requests lately to say anything about our rate: the pause is enough
            accepted_rate = self._accepted_rate(now, (previous, idle) if cycling else None)
            target = DECREASE * accepted_rate
            halved = target <= 0.5 * self.rate  # at most halve per event, however little got through
            target = max(0.5 * self.rate, min(target, DECREASE * self.rate))
            self._settling = self._probing or halved
            self._found_seconds = 0.0
            self._probing = False
            self.rate = max(MIN_RATE, min(self.ceiling, target))
            if not self._settling:
                self._found = self.rate  # a found rate, lowered: the gateway now takes less

    def record(self, sent_at: float, status_code: int, retry_after: str | None, cap: float) -> None:
        """Record an HTTP answer: a throttle (see :func:`is_throttle`) pauses everyone for its
        ``Retry-After`` (at most ``cap`` seconds); any other answer counts as accepted."""
        throttled = is_throttle(status_code, retry_after)
        hinted = parse_retry_after(retry_after) if throttled else None
        self.answered(sent_at, throttled=throttled, retry_after=None if hinted is None else min(hinted, cap))

    def _accepted_rate(self, now: float, since: tuple[float, float] | None) -> float:
        """Accepted answers per second since ``since`` (a time, and seconds of it not counted); by default
        over the last :data:`WINDOW` (or :data:`MIN_SAMPLE` answers at the rate), counted as at least a
        second."""
        if since is not None:
            start, idle = since
            count = sum(1 for at, throttled in self._recent if not throttled and at > start)
            return count / (now - start - idle)
        start = now - max(WINDOW, MIN_SAMPLE / self.rate)
        accepted = [at for at, throttled in self._recent if not throttled and at >= start]
        return len(accepted) / max(1.0, min(now - accepted[0] if accepted else 0.0, WINDOW))

    def _stray(self) -> bool:
        """Whether the refusal just counted is a stray one: the client is pacing (a cap, or a rate found at an
        earlier throttle) and refusals, this one included, are at most :data:`STRAY_SHARE` of the answers
        in the last :data:`STRAY_HORIZON` seconds."""
        if self._probing and self.cap is None:
            return False
        refused = sum(1 for _, throttled in self._recent if throttled)
        found = 0 if self._settling else 1  # a rate found is not lost to one refusal, however quiet lately
        return refused <= STRAY_SHARE * len(self._recent) + found

    def _grow(self) -> None:
        """Grow per accepted answer, so the rate grows with what is really sent (reservations taken at an
        older, lower rate do not count as headroom): per second of sending at the rate, by
        :data:`PROBE_GROWTH`, :data:`SETTLE_GROWTH`, then :data:`FOUND_GROWTH` of it."""
        if self._probing:
            step = PROBE_GROWTH
        elif self._settling:
            step = SETTLE_GROWTH
        else:
            # Gentle near the limit found, faster the longer the gateway takes it: a stale estimate (a
            # gateway that now takes more) is corrected about as fast as slow start after a minute.
            self._found_seconds += 1.0 / self.rate  # an answer is an interval of sending at the rate
            doublings = self._found_seconds / ACCELERATE_EVERY
            step = min(PROBE_GROWTH, FOUND_GROWTH * 2.0 ** min(doublings, 32.0))
        rate = self.rate + step
        self.rate = min(self.ceiling, rate)


def gateway_key(service: str, base_url: str, secrets: tuple[str, ...]) -> tuple[str, str, str]:
    """The identity of a gateway: the service, its base URL and a digest of the credentials."""
    digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]
    return service, base_url.rstrip("/"), digest


_sync_limiters: dict[tuple[object, ...], GatewayLimiter] = {}
_sync_lock = threading.Lock()
_async_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[object, ...], GatewayLimiter]
] = weakref.WeakKeyDictionary()


def sync_limiter(
    key: tuple[object, ...], cap: float | None, learned: LearnedRates | None = None
) -> GatewayLimiter:
    """The process's limiter for ``key`` (every thread shares it); a new one starts from the rate in
    ``learned`` (the learned rates file), if it holds one."""
    with _sync_lock:
        limiter = _sync_limiters.get((key, cap))
        if limiter is None:
            limiter = _sync_limiters[(key, cap)] = _new_limiter(cap, learned)
        return limiter


def async_limiter(
    key: tuple[object, ...], cap: float | None, learned: LearnedRates | None = None
) -> GatewayLimiter:
    """The running event loop's limiter for ``key`` (every coroutine of the loop shares it)."""
    per_loop = _async_limiters.setdefault(asyncio.get_running_loop(), {})
    limiter = per_loop.get((key, cap))
    if limiter is None:
        limiter = per_loop[(key, cap)] = _new_limiter(cap, learned)
    return limiter


def _new_limiter(cap: float | None, learned: LearnedRates | None) -> GatewayLimiter:
    limiter = GatewayLimiter(cap)
    limiter.learned = learned
    rate = None if learned is None else learned.load(minimum=MIN_RATE, maximum=cap)
    if rate is not None:
        limiter.seed(rate)
    return limiter


def reset() -> None:
    """Forget every limiter (tests)."""
    with _sync_lock:
        _sync_limiters.clear()
    _async_limiters.clear()


def is_throttle(status_code: int, retry_after: str | None) -> bool:
    """A 429, or a 503 that says when to come back: the gateway's way of saying "everyone, slow down"."""
    return status_code == 429 or (status_code == 503 and bool(retry_after))
