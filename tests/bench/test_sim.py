"""The simulation behind the gateway sweep drives the provider's real limiter against the emulator's bucket."""

from __future__ import annotations

import pytest

from bench.sim import Gateway, known, learned, simulate


@pytest.mark.parametrize("start", [simulate, learned, known])
def test_every_id_gets_through_and_the_gateway_never_accepts_more_than_it_allows(start: object) -> None:
    gateway = Gateway(rate=20.0, burst=5)
    outcome = start(gateway, 300)  # type: ignore[operator]
    accepted = [at for at, refused in outcome.sends if not refused]
    assert len(accepted) == 300
    assert outcome.requests == 300 + outcome.throttled
    for i, at in enumerate(accepted):  # a token bucket: at most burst + rate * t by any time t
        assert i + 1 <= gateway.burst + gateway.rate * (at - accepted[0]) + 1e-6


def test_a_known_rate_is_paced_without_a_refusal() -> None:
    outcome = known(Gateway(rate=50.0, burst=1), 500)
    assert outcome.throttled == 0
