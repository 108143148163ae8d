"""The per-gateway limiter: pauses everyone on a throttle, adapts its rate, is shared per process / loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import requests
import requests_mock as rm

from airflow_provider_wfcancel._http import (
    ApiRequest,
    HttpSettings,
    RetryPolicy,
    SyncTransport,
    pacing,
    ratelimit,
)
from airflow_provider_wfcancel._http.ratelimit import GatewayLimiter, gateway_key
from airflow_provider_wfcancel.exceptions import RateLimitedError, WfCancelError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from tests.conftest import connection_json


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def accept(limiter: GatewayLimiter, clock: Clock, count: int, spacing: float) -> None:
    for _ in range(count):
        clock.now += spacing
        limiter.answered(clock.now, throttled=False)


def test_a_new_limiter_lets_two_requests_go_at_once_then_paces_at_its_initial_rate() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    assert [limiter.reserve() for _ in range(2)] == [(0.0, True)] * 2  # a lone cancel, a token + a cancel
    assert limiter.reserve() == (pytest.approx(1 / ratelimit.INITIAL_RATE), True)


def test_slow_start_grows_the_rate_geometrically_while_answers_are_accepted() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    rate = limiter.rate
    for _ in range(3):  # three seconds of answers at the rate of the moment
        accept(limiter, clock, int(limiter.rate), 1 / limiter.rate)
    assert limiter.rate > 4 * rate


def test_slow_starts_first_throttle_slows_everyone_at_once_but_pauses_no_one() -> None:
    """Slow start's first throttle is its own overshoot: the rate drops under what the gateway accepted,
    the slots handed out at the pace refused are taken back, and the others go on at the new pace at once;
    only the refused request waits its Retry-After (the retry policy's business, not the limiter's)."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)  # forty accepted over one second
    handed_until = clock.now + 0.2
    limiter._next_free = handed_until  # slots handed out up to here at the pace refused
    limiter.answered(clock.now, throttled=True, retry_after=2.0)
    assert limiter.rate == pytest.approx(ratelimit.DECREASE * 40)
    assert limiter.paused_until == pytest.approx(handed_until)  # no Retry-After pause for the others
    clock.now = handed_until
    assert limiter.ready()
    interval = 1 / limiter.rate
    delays = [limiter.reserve() for _ in range(3)]
    assert delays == [(0.0, True), (pytest.approx(interval), True), (pytest.approx(2 * interval), True)]


def test_a_throttle_after_slow_start_pauses_everyone_for_retry_after() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    limiter.answered(clock.now, throttled=True, retry_after=1.0)  # slow start's end: no pause
    accept(limiter, clock, 40, 0.025)
    rate = limiter.rate
    limiter.answered(clock.now, throttled=True, retry_after=2.0)  # again, at a rate kept: an overload
    assert not limiter.ready()
    delay, taken = limiter.reserve()  # any caller, not just the one that got the 429
    assert delay >= 2.0 - ratelimit.HORIZON
    assert not taken  # asks again nearer the time
    assert limiter.rate < rate
    clock.now += 2.0
    assert limiter.ready()


def test_answers_in_flight_during_a_throttle_decrease_the_rate_once() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 20, 0.05)
    sent = clock.now
    clock.now += 0.01
    limiter.answered(sent, throttled=True, retry_after=1.0)
    rate = limiter.rate
    for _ in range(5):  # sent before the gateway said stop: the same event
        limiter.answered(sent, throttled=True, retry_after=1.0)
    assert limiter.rate == rate
    assert limiter.throttles == 6


def test_a_cap_paces_from_the_first_request_just_under_it_and_bounds_growth() -> None:
    clock = Clock()
    limiter = GatewayLimiter(cap=5.0, clock=clock)
    assert limiter.rate == pytest.approx(5.0 * (1 - ratelimit.CAP_MARGIN))
    interval = 1 / limiter.rate
    # the user said what the gateway takes: no request goes early, not even the second of a token + cancel
    assert [limiter.reserve() for _ in range(2)] == [(0.0, True), (pytest.approx(interval), True)]
    accept(limiter, clock, 100, 0.2)
    assert limiter.rate == pytest.approx(5.0 * (1 - ratelimit.CAP_MARGIN))
    for _ in range(3):  # a refusal now and then (one in sixty): jitter, not our rate
        accept(limiter, clock, 60, 0.2)
        limiter.answered(clock.now, throttled=True, retry_after=1.0)
        assert limiter.ready()
    lowered = limiter.rate
    assert lowered < 5.0 * (1 - ratelimit.CAP_MARGIN)
    accept(limiter, clock, 500, 0.2)
    assert lowered < limiter.rate <= 5.0 * (1 - ratelimit.CAP_MARGIN)


def test_under_a_cap_a_stray_refusal_finds_the_limit_and_growth_stays_gentle() -> None:
    """A cap the gateway refuses now and then is just over its limit: the rate a stray refusal lowers is
    the limit found, not undone by slow start's growth at the next answer."""
    clock = Clock()
    limiter = GatewayLimiter(cap=5.0, clock=clock)
    accept(limiter, clock, 60, 0.2)
    limiter.answered(clock.now, throttled=True, retry_after=1.0)
    found = limiter.rate
    assert found == pytest.approx(5.0 * (1 - ratelimit.CAP_MARGIN) * (1 - ratelimit.STRAY_SLOWDOWN))
    accept(limiter, clock, 5, 1 / found)  # a second of answers at the rate found
    assert found < limiter.rate <= found * (1 + 2 * ratelimit.FOUND_GROWTH)


def test_a_stray_refusal_at_a_steady_pace_slows_only_a_little_and_pauses_no_one() -> None:
    """Paced at a rate the gateway has been taking, a refusal in many is two requests that arrived closer
    than they were sent: the refused request alone waits its Retry-After (the retry policy's business, not
    the limiter's), the others keep their pace, a little slower."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    limiter.answered(clock.now, throttled=True, retry_after=1.0)  # slow start's first throttle
    accept(limiter, clock, 200, 1 / 32)
    before, handed_until = limiter.rate, clock.now + 0.2
    limiter._next_free = handed_until  # slots handed out up to here at the pace refused
    sent = clock.now
    clock.now += 0.01
    limiter.answered(sent, throttled=True, retry_after=1.0)
    assert limiter.ready()
    assert limiter.rate == pytest.approx(before * (1 - ratelimit.STRAY_SLOWDOWN))
    assert limiter._next_free == pytest.approx(handed_until - 1 / before + 1 / limiter.rate)  # new pace
    found = limiter.rate
    for _ in range(3):  # requests sent in slots handed out before: the same event
        limiter.answered(handed_until - 0.01, throttled=True, retry_after=1.0)
    assert limiter.rate == found
    assert limiter.ready()
    accept(limiter, clock, int(found), 1 / found)  # a second of answers: the limit found, growth is gentle
    assert found < limiter.rate <= found * (1 + 2 * ratelimit.FOUND_GROWTH)


def test_a_found_rate_grows_faster_the_longer_the_gateway_takes_it() -> None:
    """A stale estimate (the gateway now takes more) is corrected: the growth doubles every
    ACCELERATE_EVERY seconds of answers without a refusal, up to slow start's."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    limiter._probing = False
    limiter.rate = 20.0
    accept(limiter, clock, 20, 0.05)  # the first second after the limit was found
    assert limiter.rate / 20.0 - 1 == pytest.approx(ratelimit.FOUND_GROWTH, rel=0.1)
    limiter._found_seconds = 6 * ratelimit.ACCELERATE_EVERY  # a minute of answers, never refused
    rate = limiter.rate
    accept(limiter, clock, 20, 1 / rate)
    assert limiter.rate / rate - 1 == pytest.approx(2**6 * ratelimit.FOUND_GROWTH, rel=0.1)
    limiter._found_seconds = 20 * ratelimit.ACCELERATE_EVERY
    rate = limiter.rate
    accept(limiter, clock, 1, 1 / rate)
    assert limiter.rate == pytest.approx(rate + ratelimit.PROBE_GROWTH)  # as fast as slow start


@pytest.mark.parametrize("retry_after", [1.0, 5.0])
def test_an_overload_soon_after_one_at_a_found_rate_sets_what_the_gateway_took_since(
    retry_after: float,
) -> None:
    """A burst gateway refills during the pause, so the second after it shows more than the gateway's rate;
    since the last overload (its pause counted up to a second: longer, any burst is full) the accepted rate
    is the gateway's."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    limiter._probing = False
    limiter.rate = 8.0
    limiter._recent.clear()
    clock.now += 0.01
    limiter.answered(clock.now, throttled=True, retry_after=retry_after)  # an overload at a found rate
    for _ in range(2):  # requests in flight then: the same overload
        limiter.answered(clock.now - 0.01, throttled=True, retry_after=retry_after)
    assert not limiter.ready()
    clock.now += retry_after  # the pause: 5 tokens refill a burst-10 gateway taking 5/s
    accept(limiter, clock, 12, 1 / 8)  # 1.5 s at 8/s: the refill, then 5/s, until empty again
    limiter.answered(clock.now, throttled=True, retry_after=retry_after)
    assert limiter.rate == pytest.approx(ratelimit.DECREASE * 12 / 2.5)


def test_answers_in_flight_at_slow_starts_first_throttle_leave_the_new_pace_alone() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    event = clock.now
    limiter.answered(event, throttled=True, retry_after=1.0)  # slow start's end: no pause
    clock.now += 0.05
    assert limiter.ready()
    slots = [limiter.reserve() for _ in range(3)]  # handed out at the new pace
    assert all(taken for _, taken in slots)
    handed_until = limiter._next_free
    limiter.answered(event - 0.01, throttled=True, retry_after=1.0)  # sent before the event: the same one
    assert limiter.ready()
    assert limiter._next_free == handed_until  # the slots at the new pace are not taken back


def test_refusals_past_the_stray_share_are_an_overload_that_pauses_everyone() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    limiter.answered(clock.now, throttled=True, retry_after=1.0)
    clock.now += 1.0
    accept(limiter, clock, 100, 0.02)
    refused = 0
    while limiter.ready():  # one refusal every five answers: far more than jitter
        accept(limiter, clock, 4, 0.02)
        clock.now += 0.5  # past the previous refusal's requests on their way
        limiter.answered(clock.now, throttled=True, retry_after=1.0)
        refused += 1
    assert refused <= 4  # with the slow-start throttle, past 2 % of the answers of the last 10 s
    assert limiter.rate < 50 * ratelimit.DECREASE


def test_an_overload_takes_back_the_slots_handed_out_at_the_pace_refused() -> None:
    """Without Retry-After nothing pauses, yet the callers holding slots at the old pace (up to HORIZON
    ahead) must not send at it: they find the gateway not ready, give the slot back and queue again."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    handed = [delay for delay, taken in (limiter.reserve() for _ in range(8)) if taken]
    assert len(handed) > 1
    old_interval = 1 / limiter.rate
    limiter.answered(clock.now, throttled=True, retry_after=None)
    assert not limiter.ready()
    clock.now += max(handed)
    assert not limiter.ready()  # the last slot handed out at the old pace is taken back too
    clock.now += 2 * old_interval
    assert limiter.ready()
    first, _ = limiter.reserve()
    second, _ = limiter.reserve()
    assert second - first == pytest.approx(1 / limiter.rate)  # the new pace


def test_what_the_limiter_remembers_stays_bounded_however_long_it_runs() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 100_000, 0.001)  # 100 s at 1,000 answers a second
    assert len(limiter._recent) <= ratelimit.STRAY_HORIZON / 0.001 + 1


@pytest.mark.parametrize(
    ("status", "retry_after", "throttle"),
    [(429, None, True), (429, "1", True), (503, "2", True), (503, None, False), (500, "1", False)],
)
def test_what_counts_as_a_throttle(status: int, retry_after: str | None, throttle: bool) -> None:
    assert ratelimit.is_throttle(status, retry_after) is throttle


def test_gateways_are_told_apart_by_url_and_credentials_without_holding_them() -> None:
    key = gateway_key("Domo", "https://a.example.com/", ("token-1",))
    assert key == gateway_key("Domo", "https://a.example.com", ("token-1",))
    assert key != gateway_key("Domo", "https://a.example.com", ("token-2",))
    assert key != gateway_key("Domo", "https://b.example.com", ("token-1",))
    assert "token-1" not in repr(key)
    assert ratelimit.sync_limiter(key, None) is ratelimit.sync_limiter(key, None)


def test_every_hook_thread_of_a_process_shares_the_limiter_of_its_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host="https://acme.domo.com", password="domo-token"),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_OTHER", connection_json("domo", host="https://acme.domo.com", password="other")
    )
    limiters: list[Any] = []

    def build() -> None:
        limiters.append(DomoHook("domo_default").transport.limiter)

    threads = [threading.Thread(target=build) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(limiter) for limiter in limiters}) == 1
    assert DomoHook("other").transport.limiter is not limiters[0]


def test_one_429_pauses_every_request_to_that_gateway(requests_mock: rm.Mocker) -> None:
    settings = HttpSettings(retry=RetryPolicy(max_attempts=1))
    key = gateway_key("Svc", "https://svc.example.com", ("secret",))
    first, second = (SyncTransport("Svc", settings, gateway=key) for _ in range(2))
    requests_mock.get("https://svc.example.com/a", status_code=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimitedError):
        first.send(ApiRequest("GET", "https://svc.example.com/a"))
    assert second.limiter is first.limiter
    assert second.limiter is not None
    assert not second.limiter.ready()
    assert second.limiter.reserve()[0] > 25  # the other transport's next request waits too


def test_a_transport_without_a_gateway_is_not_limited(requests_mock: rm.Mocker) -> None:
    transport = SyncTransport("Svc", HttpSettings(retry=RetryPolicy(max_attempts=1)))
    assert transport.limiter is None


def test_each_event_loop_has_its_own_limiter_shared_by_its_coroutines() -> None:
    key = gateway_key("Svc", "https://svc.example.com", ())

    async def two() -> tuple[GatewayLimiter, GatewayLimiter]:
        return ratelimit.async_limiter(key, None), ratelimit.async_limiter(key, None)

    a, b = asyncio.run(two())
    c, _ = asyncio.run(two())
    assert a is b
    assert a is not c


def test_a_lone_request_that_gets_a_429_pauses_but_does_not_slow_the_client_down() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    limiter.answered(clock.now, throttled=True, retry_after=1.5)
    assert limiter.rate == ratelimit.INITIAL_RATE  # one request says nothing about the rate to keep
    assert not limiter.ready()
    clock.now += 1.5
    interval = 1 / ratelimit.INITIAL_RATE  # paced as before the 429, not slower
    assert [limiter.reserve() for _ in range(2)] == [(0.0, True), (pytest.approx(interval), True)]


def test_after_a_throttle_slots_are_handed_out_exactly_one_interval_apart_and_only_near_at_hand() -> None:
    """A gateway without burst refuses two requests closer than its interval: after it throttled once, the
    limiter never sends two back to back, and a waiter that wakes late does not cost the next one its slot."""
    clock = Clock()
    limiter = GatewayLimiter(cap=20.0, clock=clock)
    limiter.answered(clock.now, throttled=True, retry_after=None)
    interval = 1 / limiter.rate
    turns = [limiter.reserve() for _ in range(10)]
    taken = [delay for delay, slot in turns if slot]
    assert taken == pytest.approx([i * interval for i in range(len(taken))])
    assert taken[-1] <= ratelimit.HORIZON
    assert not any(slot for _, slot in turns[len(taken) :])  # further away: asked again later


def test_throttles_that_keep_coming_slow_the_client_down_however_few_its_requests() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    for _ in range(3):  # one accepted and one refused request a second: the client is too fast
        clock.now += 1.0
        limiter.answered(clock.now, throttled=False)
        limiter.answered(clock.now, throttled=True, retry_after=1.0)
    assert limiter.rate < ratelimit.INITIAL_RATE / 2


def test_after_slow_starts_first_throttle_the_rate_settles_geometrically() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    accept(limiter, clock, 40, 0.025)
    limiter.answered(clock.now, throttled=True, retry_after=None)
    landed = limiter.rate
    assert landed == pytest.approx(ratelimit.DECREASE * 40)
    clock.now += 1.0  # a quiet second: the next window holds only what follows
    accept(limiter, clock, int(landed), 1 / landed)  # a second of answers at that rate
    assert limiter.rate == pytest.approx(landed * (1 + ratelimit.SETTLE_GROWTH), rel=0.01)


def test_one_request_after_another_is_never_paced_until_the_gateway_throttles() -> None:
    """A caller that waits for each answer cannot burst: it goes at once, however fast its answers come."""
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    for _ in range(50):
        assert limiter.reserve() == (0.0, True)
        clock.now += 0.001
        limiter.answered(clock.now, throttled=False)  # the answer frees the slot
    assert [limiter.reserve()[0] for _ in range(2)] == [0.0, 0.0]  # a token and a cancel
    assert limiter.reserve()[0] > 0  # three in flight at once: paced
    for _ in range(2):
        limiter.answered(clock.now, throttled=False)
    limiter.answered(clock.now, throttled=True, retry_after=None)
    first, _ = limiter.reserve()
    interval = 1 / limiter.rate
    limiter.answered(clock.now, throttled=False)
    second, _ = limiter.reserve()
    assert second - first == pytest.approx(interval)  # after a throttle, always paced


def test_a_slot_is_given_back_when_the_wait_for_it_fails() -> None:
    limiter = GatewayLimiter()
    assert [limiter.reserve() for _ in range(2)] == [(0.0, True)] * 2  # two in flight
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        raise KeyboardInterrupt  # the task is killed while it waits for its (taken) slot

    with pytest.raises(KeyboardInterrupt):
        pacing.wait(limiter, sleep)
    assert slept == [pytest.approx(0.1, abs=0.01)]
    limiter.release()
    limiter.release()  # the two requests end: none in flight, unless the failed wait kept its slot
    assert limiter.reserve() == (0.0, True)


def test_a_request_that_gets_no_answer_gives_its_slot_back(requests_mock: rm.Mocker) -> None:
    key = gateway_key("Svc", "https://svc.example.com", ("secret",))
    transport = SyncTransport("Svc", HttpSettings(retry=RetryPolicy(max_attempts=1)), gateway=key)
    requests_mock.get("https://svc.example.com/a", exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(WfCancelError):
        transport.send(ApiRequest("GET", "https://svc.example.com/a"))
    requests_mock.get("https://svc.example.com/b", json={})
    transport.send(ApiRequest("GET", "https://svc.example.com/b"))
    assert transport.limiter is not None
    assert transport.limiter.reserve() == (0.0, True)  # nothing in flight: both slots came back


def test_two_429s_for_requests_in_flight_together_are_one_event_and_do_not_slow_the_client() -> None:
    clock = Clock()
    limiter = GatewayLimiter(clock=clock)
    sent = clock.now
    clock.now += 0.01
    for _ in range(2):  # both were sent before the gateway's first "stop"
        limiter.answered(sent, throttled=True, retry_after=1.0)
    assert limiter.rate == ratelimit.INITIAL_RATE
