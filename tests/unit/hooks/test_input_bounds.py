"""Hooks refuse what cannot be sent safely before any request, and hold their bounds under load."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import requests_mock as rm
import respx

from airflow_provider_wfcancel._http import MAX_CONCURRENT_SYNC_REQUESTS
from airflow_provider_wfcancel._http import transport as http_transport
from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE, CachedToken
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.conftest import connection_json

GATEWAY = "https://apim.example.com"
TOKEN_URL = f"{GATEWAY}/apim-token-service/v2.0/token/get"
INSTANCES_URL = f"{GATEWAY}/batch-processing-service/v2.1/flowInstances"
IDENTITY = {"org_id": "o15000000000001", "user_id": "u15000000000001"}


@pytest.fixture
def domo(monkeypatch: pytest.MonkeyPatch) -> DomoHook:
    monkeypatch.setenv("AIRFLOW_CONN_BOUNDS_DOMO", connection_json("domo", host="acme", password="t0ken"))
    return DomoHook("bounds_domo")


@pytest.fixture
def enos(monkeypatch: pytest.MonkeyPatch) -> EnosHook:
    conn = connection_json("enos", host=GATEWAY, login="app-key", password="app-secret", extra=IDENTITY)
    monkeypatch.setenv("AIRFLOW_CONN_BOUNDS_ENOS", conn)
    return EnosHook("bounds_enos")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"x": float("nan")}, "data cannot be sent as JSON: Out of range float values"),
        ({"x": {1, 2}}, "data cannot be sent as JSON: Object of type set"),
        ({"x": object()}, "data cannot be sent as JSON: Object of type object"),
    ],
)
def test_start_inputs_json_cannot_carry_are_refused_before_sending(
    domo: DomoHook, requests_mock: rm.Mocker, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        domo.start_workflow("model-1", "1.0.0", "start", data)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("flow_id", [2**63, 2**70, 0, -5])
def test_flow_ids_beyond_a_java_long_are_refused(
    enos: EnosHook, requests_mock: rm.Mocker, flow_id: int
) -> None:
    with pytest.raises(InvalidInputError, match="flow_id must be a positive integer"):
        enos.trigger_flow(flow_id)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("workers", [0, MAX_CONCURRENT_SYNC_REQUESTS + 1, 2.0, True])
def test_bulk_concurrency_is_bounded_by_what_the_pool_holds(domo: DomoHook, workers: Any) -> None:
    with pytest.raises(
        InvalidInputError,
        match=f"max_workers must be a whole number from 1 to {MAX_CONCURRENT_SYNC_REQUESTS}",
    ):
        domo.cancel_many(["a"], max_workers=workers)


def test_the_connection_pool_holds_the_largest_allowed_concurrency(domo: DomoHook) -> None:
    adapter = domo.transport.session.get_adapter("https://acme.domo.com")
    assert adapter._pool_maxsize == MAX_CONCURRENT_SYNC_REQUESTS


@pytest.mark.parametrize(("timeout", "poll"), [(float("nan"), 1), (float("inf"), 1), (1, float("nan"))])
def test_waits_refuse_non_finite_numbers(
    domo: DomoHook, requests_mock: rm.Mocker, timeout: float, poll: float
) -> None:
    with pytest.raises(InvalidInputError, match="must be a number"):
        domo.wait_for_terminal("abc", timeout=timeout, poll_interval=poll)
    assert requests_mock.call_count == 0


def test_the_token_cache_key_shows_no_digest_of_the_secret(enos: EnosHook) -> None:
    key = enos.settings.token_key
    assert key.secret_digest.hex()[:16] not in repr(key)
    assert "app-secret" not in repr(key)


async def test_a_token_that_expires_while_waiting_for_a_request_slot_is_renewed_not_sent(
    enos: EnosHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request slot of the event loop is busy while the token, fresh when the call took it, runs
    out: the call gets a new token once it holds a slot, and the gateway never sees the expired one."""
    now = time.monotonic()
    TOKEN_CACHE.store(
        enos.settings.token_key, CachedToken("short-lived", expires_at=now + 0.2, renew_at=now + 0.1)
    )
    slots = http_transport._async_request_slot()
    held = [await slots.acquire() for _ in range(http_transport.MAX_CONCURRENT_ASYNC_REQUESTS)]

    async def release_later() -> None:
        await asyncio.sleep(0.4)
        for _ in held:
            slots.release()

    with respx.mock:
        tokens = respx.post(TOKEN_URL).mock(
            return_value=httpx.Response(
                200, json={"status": 0, "data": {"accessToken": "renewed", "expire": 7200}}
            )
        )
        gets = respx.get(INSTANCES_URL).mock(
            return_value=httpx.Response(
                200, json={"code": 0, "data": {"instanceId": "2438-201908081020", "status": 2}}
            )
        )
        releaser = asyncio.create_task(release_later())
        state = await enos.aget_state("2438-201908081020")
        await releaser
    assert state.status == "RUNNING"
    assert tokens.call_count == 1
    assert [call.request.headers["apim-accesstoken"] for call in gets.calls] == ["renewed"]
