"""``python -m bench.plots``: requests per second over time against the gateway's limit, as a PNG.

One short and one long bulk cancel at token-bucket gateways (``Retry-After: 1``), from the simulation of
:mod:`bench.sim` (the provider's real limiter on a virtual clock): each batch cold (a new process) and with
the rate learned by an earlier batch. Writes ``docs/rate-limit.png``. Needs matplotlib, which the project
does not depend on: ``make bench-plots`` runs this in ``.venv-plots`` (pinned by ``constraints/plots.txt``).
"""

from __future__ import annotations

from pathlib import Path

from bench.sim import Gateway, Outcome, learned, simulate

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "rate-limit.png"
BIN = 0.25  # seconds per bar of the histogram
#: (title, gateway, ids)
BATCHES = (
    ("short batch: 400 ids at 40 req/s, burst 5", Gateway(40.0, 5), 400),
    ("long batch: 5,000 ids at 100 req/s, burst 10", Gateway(100.0, 10), 5000),
)


def _per_second(outcome: Outcome, refused: bool) -> tuple[list[float], list[float]]:
    """Bin centres and requests per second (accepted or refused) per bin."""
    bins = int(outcome.wall / BIN) + 1
    counts = [0] * bins
    for at, throttled in outcome.sends:
        if throttled == refused:
            counts[min(bins - 1, int(at / BIN))] += 1
    return [(i + 0.5) * BIN for i in range(bins)], [count / BIN for count in counts]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(BATCHES), 2, figsize=(12, 7), constrained_layout=True)
    for row, (title, gateway, n) in enumerate(BATCHES):
        for column, (start, outcome) in enumerate(
            (("cold", simulate(gateway, n)), ("rate learned earlier", learned(gateway, n)))
        ):
            ax = axes[row][column]
            times, accepted = _per_second(outcome, refused=False)
            _, refused = _per_second(outcome, refused=True)
            ax.bar(times, accepted, width=BIN, color="#4c72b0", label="accepted")
            ax.bar(times, refused, width=BIN, bottom=accepted, color="#dd8452", label="answered 429")
            ax.axhline(gateway.rate, color="black", linestyle="--", linewidth=1, label="gateway's rate")
            ax.set_title(
                f"{title}, {start}: {outcome.ratio(n, gateway.rate):.2f}x N/rate, {outcome.throttled} x 429",
                fontsize=9,
            )
            ax.set_xlabel("seconds")
            ax.set_ylabel("requests per second")
            ax.set_xlim(0, max(outcome.wall, n / gateway.rate) * 1.02)
            if row == 0 and column == 0:
                ax.legend(fontsize=8, loc="lower right")
    figure.suptitle(
        "Bulk cancel, 8 workers, at token-bucket gateways (Retry-After: 1): simulation of bench/sim.py"
    )
    figure.savefig(OUTPUT, dpi=90)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
