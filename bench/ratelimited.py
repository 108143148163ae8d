"""Benchmark 7: bulk cancel at a rate-limited gateway, the provider against a plain thread pool.

The emulator limits the Domo API to ``limited_rate`` requests/s (token bucket, burst 5, ``Retry-After: 1``,
as gateways send it). The provider's bulk cancel (one adaptive limiter per gateway, a batch deadline) and a
plain ``ThreadPoolExecutor`` whose workers each retry their own request (up to 5 attempts, honouring
``Retry-After``: what a user writes today) cancel the same number of running instances. Targets: no id lost,
wall time <= 1.10x ``N / rate``, 429 answers <= 10 % of requests.

Then N deferred waits: N ``DomoInstanceTrigger`` s in one event loop (a triggerer) polling instances that
finish at staggered times, at a gateway allowing half their combined poll rate; side by side, N plain
coroutines polling with httpx and retrying each 429 on their own (5 attempts, ``Retry-After`` honoured).
Target: 0 error events, every wait ends with the instance's real final status.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.env import DOMO_CONN_ID, EmulatorProcess
from bench.report import Row
from bench.scale import Scale

BURST = 5
RETRY_AFTER = 1
WORKERS = 8
FAR_FUTURE = 3600.0
TARGET_WALL = 1.10
TARGET_THROTTLED = 0.10


def running_instances(emulator: EmulatorProcess, n: int) -> list[str]:
    control = emulator.control
    control.reset()
    control.configure(domo_cancel_delay=FAR_FUTURE)
    return [control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(n)]


def throttled_share(emulator: EmulatorProcess) -> tuple[int, int]:
    log = emulator.control.requests("domo.cancel")
    return sum(1 for entry in log if entry["fault"] == "rate_limit"), len(log)


def _provider(emulator: EmulatorProcess, ids: list[str]) -> tuple[float, int]:
    from airflow_provider_wfcancel._http import ratelimit
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    ratelimit.reset()  # learn the gateway from scratch
    hook = DomoHook(domo_conn_id=DOMO_CONN_ID)
    started = time.monotonic()
    items = hook.cancel_instances(ids, max_workers=WORKERS)
    return time.monotonic() - started, sum(1 for item in items if not item.ok)


def _plain_pool(emulator: EmulatorProcess, ids: list[str]) -> tuple[float, int]:
    import requests

    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=WORKERS))
    headers = {"X-DOMO-Developer-Token": DEFAULT_DOMO_TOKEN, "Accept": "application/json"}

    def cancel(instance_id: str) -> bool:
        for attempt in range(5):
            response = session.post(
                f"{emulator.base_url}/api/workflow/v1/instances/{instance_id}/cancel",
                headers=headers,
                timeout=30,
            )
            if response.status_code not in (429, 503):
                return response.ok
            if attempt < 4:
                time.sleep(float(response.headers.get("Retry-After") or 0.5 * 2**attempt))
        return False

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(cancel, ids))
    return time.monotonic() - started, results.count(False)


def _limited_run(
    emulator: EmulatorProcess, variant: Any, n: int, rate: float, burst: int
) -> tuple[float, int, int, int]:
    """One bulk cancel of ``n`` running instances at a gateway allowing ``rate`` requests/s (``burst``):
    wall time, lost ids, 429 answers, requests."""
    ids = running_instances(emulator, n)
    emulator.control.set_rate_limit("domo", rate=rate, burst=burst, retry_after=RETRY_AFTER)
    wall, lost = variant(emulator, ids)
    throttled, total = throttled_share(emulator)
    emulator.control.clear_rate_limits()
    return wall, lost, throttled, total


def rate_limited_bulk(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    n, rate = scale.limited_instances, scale.limited_rate
    title = f"7. Bulk cancel {n} instances at a gateway allowing {rate:g} req/s (burst {BURST}), {WORKERS} workers"
    rows = []
    for key, label, variant in (
        ("limited.provider", "provider", _provider),
        ("limited.plain_pool", "plain thread pool, per-request retries", _plain_pool),
    ):
        wall, lost, throttled, total = _limited_run(emulator, variant, n, rate, BURST)
        share = throttled / total if total else 0.0
        ratio = wall / (n / rate)
        rows.append(
            Row(
                key=key,
                benchmark=f"{title}: {label}",
                value=wall,
                ours=f"{wall:.1f} s, {lost} lost, {throttled} of {total} requests 429 ({share:.1%})",
                anchor=f"N / rate: {n / rate:.1f} s",
                ratio=ratio,
                ratio_text=f"{ratio:.2f}x",
                target=f"0 lost, <= {TARGET_WALL:.2f}x, <= {TARGET_THROTTLED:.0%} 429",
                met=lost == 0 and ratio <= TARGET_WALL and share <= TARGET_THROTTLED,
            )
        )
    # The same provider at other gateways, informational: one without burst (it refuses two requests closer
    # than its interval), and one five times as fast (slow start's own ramp there makes the limiter's first
    # estimate low).
    for key, label, (count, allowed, burst) in (
        ("limited.provider_no_burst", f"{n} at {rate:g} req/s, burst 1", (n, rate, 1)),
        ("limited.provider_fast", f"{3 * n} at {5 * rate:g} req/s, burst {BURST}", (3 * n, 5 * rate, BURST)),
    ):
        wall, lost, throttled, total = _limited_run(emulator, _provider, count, allowed, burst)
        ratio = wall / (count / allowed)
        rows.append(
            Row(
                key=key,
                benchmark=f"7. Bulk cancel, provider, other gateways: {label}",
                value=wall,
                ours=f"{wall:.1f} s, {lost} lost, {throttled} of {total} requests 429",
                anchor=f"N / rate: {count / allowed:.1f} s",
                ratio=ratio,
                ratio_text=f"{ratio:.2f}x",
            )
        )
    return rows


def _finishing(emulator: EmulatorProcess, n: int, last: float) -> list[str]:
    control = emulator.control
    control.reset()
    control.configure(domo_start_delay=0)
    return [control.create_domo_instance(runs_for=last * (i + 1) / n)["id"] for i in range(n)]


async def _provider_waits(ids: list[str], poll: float) -> list[str]:
    from airflow_provider_wfcancel._http import ratelimit
    from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger

    ratelimit.reset()
    deadline = time.time() + 600

    async def wait(instance_id: str) -> str:
        trigger = DomoInstanceTrigger(
            conn_id=DOMO_CONN_ID, instance_id=instance_id, deadline=deadline, poll_interval=poll
        )
        async for event in trigger.run():
            payload = event.payload
            return str(payload.get("final_status")) if payload.get("status") == "success" else "error"
        return "error"

    return list(await asyncio.gather(*(wait(i) for i in ids)))


async def _plain_waits(base_url: str, ids: list[str], poll: float) -> list[str]:
    import httpx

    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN

    headers = {"X-DOMO-Developer-Token": DEFAULT_DOMO_TOKEN}
    async with httpx.AsyncClient(
        headers=headers, timeout=30, limits=httpx.Limits(max_connections=100)
    ) as client:

        async def wait(instance_id: str) -> str:
            while True:
                for attempt in range(5):
                    answer = await client.get(f"{base_url}/api/workflow/v1/instances/{instance_id}")
                    if answer.status_code not in (429, 503):
                        break
                    if attempt == 4:
                        return "error"
                    await asyncio.sleep(float(answer.headers.get("Retry-After") or 0.5 * 2**attempt))
                if answer.status_code != 200:
                    return "error"
                status = answer.json().get("status")
                if status not in (None, "IN_PROGRESS"):
                    return str(status)
                await asyncio.sleep(poll)

        return list(await asyncio.gather(*(wait(i) for i in ids)))


def rate_limited_waits(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    n, poll, last = scale.limited_waits, scale.limited_poll, scale.limited_last_finish
    rate = n / poll / 2
    title = (
        f"8. {n} deferred waits (poll {poll:g} s) at a gateway allowing {rate:g} req/s, half their poll rate"
    )
    rows = []
    for key, label, variant in (
        ("limited_waits.provider", "provider triggers", lambda ids: _provider_waits(ids, poll)),
        (
            "limited_waits.plain",
            "plain coroutines, per-request retries",
            lambda ids: _plain_waits(emulator.base_url, ids, poll),
        ),
    ):
        ids = _finishing(emulator, n, last)
        emulator.control.set_rate_limit("domo", rate=rate, burst=BURST, retry_after=RETRY_AFTER)
        started = time.monotonic()
        outcomes = asyncio.run(variant(ids))
        wall = time.monotonic() - started
        emulator.control.clear_rate_limits()
        throttled, total = _throttled_share_of(emulator, "domo.get")
        errors = outcomes.count("error")
        wrong = sum(1 for outcome in outcomes if outcome not in ("error", "COMPLETED"))
        rows.append(
            Row(
                key=key,
                benchmark=f"{title}: {label}",
                value=float(errors),
                ours=f"{errors} error events, {wrong} wrong outcomes, {wall:.1f} s, "
                f"{throttled} of {total} polls 429",
                anchor=f"last instance finishes at {last:g} s",
                target="0 error events, every outcome right",
                met=errors == 0 and wrong == 0,
            )
        )
    return rows


def _throttled_share_of(emulator: EmulatorProcess, route: str) -> tuple[int, int]:
    log = emulator.control.requests(route)
    return sum(1 for entry in log if entry["fault"] == "rate_limit"), len(log)
