"""Benchmarks 1 and 2: what one cancel costs through the hooks, against the plainest client that does the same.

Every variant sends the same request to the same emulator and parses the JSON answer; the hooks add
validation, error mapping, retry bookkeeping, a time and byte bound and (EnOS) the token cache and signing, and
read the environment's proxies once per host where a plain Session scans ``os.environ`` on every request
(which is why a hook's cancel costs less than the plain call). Repeated cancels of the
same instances are fine: the emulator answers a cancel of a cancelled instance with a 200 no-op (Domo), or
with code 0 once ``enos_cancel_terminal_code=0`` (EnOS).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from bench.env import DOMO_CONN_ID, ENOS_CONN_ID, HTTP_CONN_ID, EmulatorProcess
from bench.report import Row, ratio_row
from bench.scale import Scale
from bench.stats import Stats, compare, per_call

INSTANCE_POOL = 10
RAW_TIMEOUT = 30.0


def domo_overhead(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    """Sequential cancels (500 per variant in full mode): DomoHook vs a bare requests.Session vs HttpHook."""
    from airflow.providers.http.hooks.http import HttpHook

    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
    from airflow_provider_wfcancel.hooks.domo import DomoHook

    control = emulator.control
    control.reset()
    control.configure(domo_cancel_delay=0)
    ids = [control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(INSTANCE_POOL)]
    headers = {"X-DOMO-Developer-Token": DEFAULT_DOMO_TOKEN}

    hook = DomoHook(domo_conn_id=DOMO_CONN_ID)
    session = requests.Session()
    http_hook = HttpHook(method="POST", http_conn_id=HTTP_CONN_ID)

    def endpoint(instance_id: str) -> str:
        return f"/api/workflow/v1/instances/{instance_id}/cancel"

    def raw_cancel(instance_id: str) -> Any:
        response = session.post(
            emulator.base_url + endpoint(instance_id), headers=headers, timeout=RAW_TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    def http_hook_cancel(instance_id: str) -> Any:
        return http_hook.run(endpoint(instance_id), headers=headers).json()

    stats = compare(
        {
            "ours": _cycling(hook.cancel_instance, ids, scale.batch),
            "raw": _cycling(raw_cancel, ids, scale.batch),
            "http_hook": _cycling(http_hook_cancel, ids, scale.batch),
        },
        rounds=scale.cancel_rounds,
    )
    session.close()
    ours = stats["ours"]
    return [
        _per_cancel_row(
            "domo.cancel.vs_raw",
            "1. Domo per-cancel vs raw requests.Session",
            ours,
            stats["raw"],
            "raw Session.post",
            1.05,
        ),
        _per_cancel_row(
            "domo.cancel.vs_http_hook",
            "1. Domo per-cancel vs HttpHook",
            ours,
            stats["http_hook"],
            "HttpHook.run",
            1.0,
        ),
    ]


def enos_overhead(emulator: EmulatorProcess, scale: Scale) -> list[Row]:
    """Signed cancels (500 per variant in full mode): EnosHook vs a Session that signs with one token."""
    from airflow_provider_wfcancel._protocol.enos.signing import sign_request, token_encryption
    from airflow_provider_wfcancel.emulator import (
        DEFAULT_ENOS_APP_KEY,
        DEFAULT_ENOS_APP_SECRET,
        DEFAULT_ENOS_ORG_ID,
        DEFAULT_ENOS_USER_ID,
    )
    from airflow_provider_wfcancel.hooks.enos import EnosHook, clear_token_cache

    control = emulator.control
    control.reset()
    control.configure(enos_cancel_terminal_code=0, enos_cancel_delay=0)
    ids = [control.create_enos_instance(status=2)["instanceId"] for _ in range(INSTANCE_POOL)]

    session = requests.Session()
    timestamp = int(time.time() * 1000)
    token_response = session.post(
        f"{emulator.base_url}/apim-token-service/v2.0/token/get",
        json={
            "appKey": DEFAULT_ENOS_APP_KEY,
            "encryption": token_encryption(DEFAULT_ENOS_APP_KEY, timestamp, DEFAULT_ENOS_APP_SECRET),
            "timestamp": timestamp,
        },
        timeout=RAW_TIMEOUT,
    )
    token = token_response.json()["data"]["accessToken"]
    cancel_url = f"{emulator.base_url}/batch-processing-service/v2.1/flowInstances"

    def raw_cancel(instance_id: str) -> Any:
        params = {"action": "cancel", "userId": DEFAULT_ENOS_USER_ID, "orgId": DEFAULT_ENOS_ORG_ID}
        body = json.dumps({"flowInstId": instance_id}, separators=(",", ":")).encode()
        stamp = str(int(time.time() * 1000))
        signed = {
            "Content-Type": "application/json;charset=UTF-8",
            "apim-accesstoken": token,
            "apim-timestamp": stamp,
            "apim-signature": sign_request(token, params, body, stamp, DEFAULT_ENOS_APP_SECRET),
        }
        response = session.post(cancel_url, params=params, data=body, headers=signed, timeout=RAW_TIMEOUT)
        response.raise_for_status()
        answer = response.json()
        if answer.get("code") != 0:
            raise RuntimeError(f"raw EnOS cancel refused: {answer}")
        return answer

    # The raw variant's own token request above is not the hook's: count from here on.
    clear_token_cache()
    before = _token_requests(control.counts())
    hook = EnosHook(enos_conn_id=ENOS_CONN_ID)
    stats = compare(
        {
            "ours": _cycling(hook.cancel_flow_instance, ids, scale.batch),
            "raw": _cycling(raw_cancel, ids, scale.batch),
        },
        rounds=scale.cancel_rounds,
    )
    token_requests = _token_requests(control.counts()) - before
    session.close()
    cancels = (scale.cancel_rounds + 1) * scale.batch  # the warm-up round included
    return [
        _per_cancel_row(
            "enos.cancel.vs_raw",
            "2. EnOS per-cancel (token + signing) vs raw signed requests.Session",
            stats["ours"],
            stats["raw"],
            "raw signed Session.post",
            1.05,
        ),
        Row(
            key="enos.token_requests",
            benchmark=f"2. EnOS token requests for {cancels} cancels",
            value=float(token_requests),
            ours=f"{token_requests} (token.get + token.refresh, emulator counts)",
            target="exactly 1",
            met=token_requests == 1,
        ),
    ]


def _per_cancel_row(key: str, title: str, ours: Stats, anchor: Stats, label: str, limit: float) -> Row:
    return ratio_row(key, title, ours=ours, anchor=anchor, anchor_label=label, limit=limit, unit="ms/cancel")


def _token_requests(counts: dict[str, int]) -> int:
    return counts.get("enos.token.get", 0) + counts.get("enos.token.refresh", 0)


def _cycling(cancel: Callable[[str], Any], ids: list[str], batch: int) -> Callable[[], float]:
    """A measurement of ``batch`` sequential cancels, cycling through ``ids``."""
    cycle: Iterator[str] = itertools.cycle(ids)
    return per_call(lambda: cancel(next(cycle)), batch)
