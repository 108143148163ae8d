"""How big each benchmark is, in full and in quick (smoke) mode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # 1-2: per-cancel overhead; ``cancels`` per variant, timed in batches of ``batch``
    cancels: int
    batch: int
    # 3: bulk cancel
    bulk_instances: int
    bulk_sequential_sample: int
    bulk_rounds: int
    bulk_workers: int
    bulk_latency: float
    # 4: deferred waiting
    triggers: int
    poll_interval: float
    first_finish: float
    last_finish: float
    # 5: import and parse
    import_rounds: int
    parse_tasks: int
    parse_rounds: int
    # 7: bulk cancel at a rate-limited gateway
    limited_instances: int
    limited_rate: float
    # 8: deferred waits at a rate-limited gateway
    limited_waits: int
    limited_poll: float
    limited_last_finish: float
    # 9: the gateway sweep: (rate, burst) shapes x batch sizes, simulated; the emulator runs these too
    sweep_shapes: tuple[tuple[float, int, float | None], ...]  # rate, burst, Retry-After (None: absent)
    sweep_batches: tuple[int, ...]
    sweep_emulated: frozenset[tuple[float, int, float | None, int]]
    #: explain missed targets with extra diagnostic runs (import breakdown)
    diagnose: bool

    @property
    def cancel_rounds(self) -> int:
        return max(1, self.cancels // self.batch)


FULL = Scale(
    name="full",
    cancels=500,
    batch=20,
    bulk_instances=1000,
    bulk_sequential_sample=100,
    bulk_rounds=3,
    bulk_workers=16,
    bulk_latency=0.05,
    triggers=1000,
    poll_interval=5.0,
    first_finish=2.0,
    last_finish=20.0,
    import_rounds=7,
    parse_tasks=200,
    parse_rounds=21,
    limited_instances=1000,
    limited_rate=20.0,
    limited_waits=1000,
    limited_poll=5.0,
    limited_last_finish=20.0,
    sweep_shapes=(
        *((rate, burst, 1.0) for rate, burst in ((5.0, 1), (5.0, 10), (20.0, 1), (20.0, 5), (40.0, 5))),
        *((rate, burst, 1.0) for rate, burst in ((100.0, 10), (300.0, 1), (300.0, 10))),
        (50.0, 50, 5.0),  # a long Retry-After at a gateway whose burst is a second of its rate
        (20.0, 5, None),
        (100.0, 10, None),
    ),
    sweep_batches=(100, 400, 1000, 5000),
    sweep_emulated=frozenset(
        {(20.0, 5, 1.0, 400), (40.0, 5, 1.0, 400), (100.0, 10, 1.0, 1000), (300.0, 10, 1.0, 1000)}
        | {(20.0, 5, None, 400), (100.0, 10, None, 1000)}
    ),
    diagnose=True,
)

QUICK = Scale(
    name="quick",
    cancels=20,
    batch=10,
    bulk_instances=32,
    bulk_sequential_sample=8,
    bulk_rounds=1,
    bulk_workers=16,
    bulk_latency=0.05,
    triggers=20,
    poll_interval=0.25,
    first_finish=0.1,
    last_finish=0.5,
    import_rounds=1,
    parse_tasks=20,
    parse_rounds=1,
    limited_instances=40,
    limited_rate=40.0,
    limited_waits=20,
    limited_poll=0.25,
    limited_last_finish=1.0,
    sweep_shapes=((40.0, 5, 1.0),),
    sweep_batches=(40,),
    sweep_emulated=frozenset({(40.0, 5, 1.0, 40)}),
    diagnose=False,
)
