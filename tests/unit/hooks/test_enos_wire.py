"""EnosHook against transport mocks: answer shapes the emulator does not produce."""

from __future__ import annotations

import dataclasses
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests_mock as rm
import respx

from airflow_provider_wfcancel._http import HttpSettings, RetryPolicy
from airflow_provider_wfcancel._protocol.enos.signing import (
    sign_request,
)
from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    NotFoundError,
)
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.conftest import connection_json

OTHER_USER = "u15000000000002"
OTHER_ORG = "o15000000000002"
MOCK_BASE = "https://apim.example.com"
MOCK_TOKEN_URL = f"{MOCK_BASE}/apim-token-service/v2.0/token/get"
MOCK_INSTANCES_URL = f"{MOCK_BASE}/batch-processing-service/v2.1/flowInstances"
MOCK_SECRET = "mock-app-secret-SENTINEL"
MOCK_ACCESS_TOKEN = "mock-access-token-SENTINEL"
INSTANCE = "2438-201908081020"


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json("enos", **fields))
    return conn_id


# -- transport mocks: shapes the emulator does not produce ----------------------------------------------------------


def mock_hook(monkeypatch: pytest.MonkeyPatch) -> EnosHook:
    set_conn(
        monkeypatch,
        "enos_mock",
        host="apim.example.com",
        login="mock-key",
        password=MOCK_SECRET,
        extra={"org_id": "o1", "user_id": "u1", "max_retries": 1},
    )
    hook = EnosHook("enos_mock")
    hook._settings = dataclasses.replace(
        hook.settings, http=HttpSettings(retry=RetryPolicy(max_attempts=2, backoff_initial=0.01))
    )
    return hook


def token_answer(token: str = MOCK_ACCESS_TOKEN, expire: Any = 7200, key: str = "status") -> dict[str, Any]:
    return {
        key: 0,
        "msg": "SUCCESS",
        "business": "apim-token-service",
        "data": {"accessToken": token, "expire": expire},
    }


def flow_answer(status: int = 2) -> dict[str, Any]:
    return {"code": 0, "msg": "OK", "data": {"instanceId": INSTANCE, "status": status, "statusDesc": "x"}}


def test_poseidon_style_apim_status_and_doc_typo_stauts(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    tokens = requests_mock.post(
        MOCK_TOKEN_URL,
        [
            {"json": token_answer("access-token-1", key="stauts")},
            {"json": token_answer("access-token-2", expire="300")},
        ],
    )
    get = requests_mock.get(
        MOCK_INSTANCES_URL,
        [{"json": {"apim_status": 4011, "msg": "token expired"}}, {"json": flow_answer(8)}],
    )
    assert mocked.get_state(INSTANCE).status == "CANCEL"
    assert tokens.call_count == 2
    assert get.call_count == 2
    assert [r.headers["apim-accesstoken"] for r in get.request_history] == [
        "access-token-1",
        "access-token-2",
    ]
    second = get.request_history[1]
    query = dict(parse_qsl(urlsplit(second.url).query))
    assert query == {"action": "get", "flowInstId": INSTANCE, "userId": "u1", "orgId": "o1"}
    assert second.headers["apim-signature"] == sign_request(
        "access-token-2", query, None, second.headers["apim-timestamp"], MOCK_SECRET
    )
    entry = TOKEN_CACHE.get(mocked.settings.token_key)
    assert entry is not None
    # The second token's ``expire`` (300 s) was honoured: renewal is due 10 % (30 s) before expiry.
    assert entry.expires_at - time.monotonic() == pytest.approx(300, abs=5)
    assert entry.expires_at - entry.renew_at == pytest.approx(30)


def test_signature_covers_the_exact_query_and_body_sent(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json=token_answer())
    cancel = requests_mock.post(MOCK_INSTANCES_URL, json={"code": 0, "msg": "OK", "data": ""})
    mocked.request_cancel(INSTANCE)
    sent = cancel.last_request
    assert sent.url == f"{MOCK_INSTANCES_URL}?action=cancel&userId=u1&orgId=o1"
    params = {"action": "cancel", "userId": "u1", "orgId": "o1"}
    assert sent.headers["apim-signature"] == sign_request(
        MOCK_ACCESS_TOKEN, params, sent.body, sent.headers["apim-timestamp"], MOCK_SECRET
    )


def test_403_with_an_apim_code_counts_as_a_token_rejection(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json=token_answer())
    get = requests_mock.get(
        MOCK_INSTANCES_URL,
        [{"status_code": 403, "json": {"code": 1203, "msg": "expired"}}, {"json": flow_answer()}],
    )
    assert mocked.get_state(INSTANCE).status == "RUNNING"
    assert get.call_count == 2


def test_get_with_null_data_is_not_found(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json=token_answer())
    requests_mock.get(MOCK_INSTANCES_URL, json={"code": 0, "msg": "OK", "data": None, "requestId": "r9"})
    with pytest.raises(NotFoundError, match=f"no flow instance {INSTANCE}") as caught:
        mocked.get_state(INSTANCE)
    assert caught.value.request_id == "r9"


def test_non_json_answer_is_an_api_error_and_not_looked_up(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json=token_answer())
    requests_mock.post(MOCK_INSTANCES_URL, text="<html>gateway</html>")
    get = requests_mock.get(MOCK_INSTANCES_URL, json=flow_answer(1))
    with pytest.raises(ApiError, match="not valid JSON"):
        mocked.request_cancel(INSTANCE)
    assert get.call_count == 0


def test_refused_cancel_of_a_running_instance_raises_the_refusal(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json=token_answer())
    requests_mock.post(MOCK_INSTANCES_URL, json={"code": 62102, "msg": "locked"})
    requests_mock.get(MOCK_INSTANCES_URL, json=flow_answer(2))
    with pytest.raises(ApiError, match="locked"):
        mocked.request_cancel(INSTANCE)


@respx.mock
async def test_async_poseidon_rejection_and_secret_never_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    mocked = mock_hook(monkeypatch)
    tokens = respx.post(MOCK_TOKEN_URL).mock(
        side_effect=[
            httpx.Response(200, json=token_answer("access-token-a1")),
            httpx.Response(200, json=token_answer("access-token-a2")),
        ]
    )
    get = respx.get(MOCK_INSTANCES_URL).mock(
        side_effect=[
            httpx.Response(200, json={"apim_status": 4012}),
            httpx.Response(200, json=flow_answer(10)),
        ]
    )
    assert (await mocked.aget_state(INSTANCE)).status == "SKIP"
    assert tokens.call_count == 2
    assert get.call_count == 2
    for call in [*tokens.calls, *get.calls]:
        wire = str(call.request.url) + str(call.request.headers) + call.request.content.decode()
        assert MOCK_SECRET not in wire
    last = get.calls.last.request
    assert last.headers["apim-signature"] == sign_request(
        "access-token-a2", dict(last.url.params), None, last.headers["apim-timestamp"], MOCK_SECRET
    )


def test_token_answer_without_an_access_token_is_an_api_error(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked_hook = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json={"status": 0, "msg": "SUCCESS", "data": {}})
    with pytest.raises(ApiError, match=r"without data\.accessToken"):
        mocked_hook.get_state(INSTANCE)


def test_test_connection_wrong_host_and_bad_settings(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, status_code=404, text="no such page")
    ok, message = mocked.test_connection()
    assert not ok
    assert message.startswith("Reached a server, but not the EnOS API")
    set_conn(monkeypatch, "enos_half", host="h.example.com", login="k")
    ok, message = EnosHook("enos_half").test_connection()
    assert not ok
    assert message.startswith("Invalid connection settings")
    assert "has no password" in message


# -- secrets ---------------------------------------------------------------------------------------------------------
