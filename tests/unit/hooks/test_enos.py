"""EnosHook: signing, connection parsing, token cache and the API, against the emulator and transport mocks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests_mock as rm
import respx
from airflow.sdk import Connection

from airflow_provider_wfcancel._http import ApiRequest, ApiResponse, HttpSettings, RetryPolicy
from airflow_provider_wfcancel.emulator import (
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    enos_encryption,
    enos_signature,
)
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    WfCancelError,
)
from airflow_provider_wfcancel.hooks import enos as enos_module
from airflow_provider_wfcancel.hooks.enos import (
    TOKEN_CACHE,
    CachedToken,
    EnosGatewayAuth,
    EnosHook,
    StaleTokenError,
    classify_batch_response,
    classify_token_response,
    clear_token_cache,
    fresh_timestamp_ms,
    is_gateway_rejection,
    sign_request,
    state_from_instance,
    status_name,
    token_encryption,
)
from tests.conftest import connection_json

OTHER_USER = "u15000000000002"
OTHER_ORG = "o15000000000002"
MOCK_BASE = "https://apim.example.com"
MOCK_TOKEN_URL = f"{MOCK_BASE}/apim-token-service/v2.0/token/get"
MOCK_INSTANCES_URL = f"{MOCK_BASE}/batch-processing-service/v2.1/flowInstances"
MOCK_SECRET = "mock-app-secret-SENTINEL"
MOCK_ACCESS_TOKEN = "mock-access-token-SENTINEL"
INSTANCE = "2438-201908081020"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json("enos", **fields))
    return conn_id


def emulator_conn(
    emu: Any, monkeypatch: pytest.MonkeyPatch, conn_id: str = "enos_emu", **overrides: Any
) -> str:
    extra = {"org_id": DEFAULT_ENOS_ORG_ID, "user_id": DEFAULT_ENOS_USER_ID, "max_retries": 2}
    extra.update(overrides.pop("extra", {}))
    fields = {
        "host": emu.base_url,
        "login": DEFAULT_ENOS_APP_KEY,
        "password": DEFAULT_ENOS_APP_SECRET,
        "extra": extra,
        **overrides,
    }
    return set_conn(monkeypatch, conn_id, **fields)


@pytest.fixture
def hook(emu: Any, monkeypatch: pytest.MonkeyPatch) -> EnosHook:
    return EnosHook(emulator_conn(emu, monkeypatch))


def running_instance(emu: Any, **kwargs: Any) -> str:
    instance_id: str = emu.control.create_enos_instance(**kwargs)["instanceId"]
    return instance_id


def counts(emu: Any) -> dict[str, int]:
    return {route: n for route, n in emu.control.counts().items() if n}


# -- signing (pure) ---------------------------------------------------------------------------------------


def test_signature_matches_the_published_vector() -> None:
    body = '{\n  "count": 20,\n  "page": 1,\n  "desc": "描述"\n}'.encode()
    params = {"k3": "v3", "k1": "v1", "k2": "v2"}
    signature = sign_request("xxxxaaaxxxx", params, body, 1572574909697, "xxxappSecretxxx")
    assert signature == "59828328f6c1f9771015dc74e4929ae30f518a35a3d2353972c2ea46556fc981"
    assert sign_request("xxxxaaaxxxx", params, body, "1572574909697", "xxxappSecretxxx") == signature


def test_signature_of_the_cancel_example_and_the_bytes_the_hook_sends() -> None:
    params = {"action": "cancel", "userId": "u15426865866571", "orgId": "o1578468179"}
    request = ApiRequest.with_json("POST", MOCK_INSTANCES_URL, {"flowInstId": INSTANCE}, params=params)
    assert request.body == b'{"flowInstId":"2438-201908081020"}'
    expected = "e75bd2e9d1dcaf197c0e3fed20666e81ab5cdbab497d6263c77cd6bd7694b1dc"
    assert sign_request("test-token", params, request.body, 1572574909697, "test-secret") == expected
    # an independent implementation (the emulator's) agrees, with the params in any order
    assert enos_signature(
        "test-token", list(reversed(params.items())), request.body, 1572574909697, "test-secret"
    ) == (expected)


def test_signature_without_a_body_and_token_encryption() -> None:
    params = {"action": "get", "flowInstId": INSTANCE, "userId": "u1", "orgId": "o1"}
    assert sign_request("t", params, None, 5, "s") == enos_signature("t", params, b"", 5, "s")
    assert sign_request("t", params, b"", 5, "s") == sign_request("t", params, None, 5, "s")
    assert token_encryption("key", 1572574909697, "secret") == enos_encryption("key", 1572574909697, "secret")
    assert len(token_encryption("key", 1, "secret")) == 64


def test_gateway_auth_signs_each_attempt_with_a_fresh_timestamp() -> None:
    auth = EnosGatewayAuth(CachedToken.issued("the-token", 7200), "the-secret")
    request = ApiRequest("GET", MOCK_INSTANCES_URL, params={"action": "get", "userId": "u", "orgId": "o"})
    first, second = auth.headers(request), auth.headers(request)
    assert first["apim-accesstoken"] == "the-token"
    assert int(second["apim-timestamp"]) > int(first["apim-timestamp"])
    for headers in (first, second):
        assert headers["apim-signature"] == sign_request(
            "the-token", request.params, None, headers["apim-timestamp"], "the-secret"
        )
    assert abs(int(first["apim-timestamp"]) - time.time() * 1000) < 5000
    assert "the-token" not in repr(auth)
    assert "the-secret" not in repr(auth)


def test_gateway_auth_refuses_to_send_a_token_that_expired_while_waiting() -> None:
    expired = CachedToken("the-token", expires_at=time.monotonic() - 1, renew_at=time.monotonic() - 2)
    request = ApiRequest("GET", MOCK_INSTANCES_URL, params={"action": "get", "userId": "u1", "orgId": "o1"})
    with pytest.raises(StaleTokenError):
        EnosGatewayAuth(expired, "the-secret").headers(request)


def test_the_steps_and_the_cached_token_keep_secrets_out_of_repr() -> None:
    settings = EnosHook.parse_connection(
        Connection(
            conn_id="c",
            conn_type="enos",
            host="gw.example.com",
            login="k",
            password="the-secret",
            extra=json.dumps({"org_id": "o1"}),
        )
    )
    refresh = enos_module._Send(
        EnosHook._token_request(settings, "the-old-token"), None, classify_token_response
    )
    signed = enos_module._Send(
        ApiRequest("GET", MOCK_INSTANCES_URL),
        EnosGatewayAuth("the-token", "the-secret"),
        classify_batch_response,
    )
    cached = enos_module.CachedToken.issued("the-token", 7200)
    shown = " ".join(repr(x) for x in (settings, refresh, signed, cached, enos_module._Mask("the-token")))
    for secret in ("the-secret", "the-old-token", "the-token"):
        assert secret not in shown


def test_timestamps_never_repeat() -> None:
    stamps = [fresh_timestamp_ms() for _ in range(2000)]
    assert stamps == sorted(set(stamps))


# -- statuses and response classification (pure) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "terminal", "cancelled"),
    [
        (-1, "FAIL", True, False),
        (0, "INIT", False, False),
        (1, "SUCCESS", True, False),
        (2, "RUNNING", False, False),
        (3, "SUSPEND", False, False),
        (4, "INTERNAL_ERROR", True, False),
        (5, "WAIT", False, False),
        (6, "READY", False, False),
        (7, "TIMEOUT", True, False),
        (8, "CANCEL", True, True),
        (9, "RERUN", False, False),
        (10, "SKIP", True, False),
        (42, "UNKNOWN(42)", False, False),
        ("8", "CANCEL", True, True),
    ],
)
def test_status_semantics(code: Any, name: str, terminal: bool, cancelled: bool) -> None:
    state = state_from_instance(INSTANCE, {"instanceId": INSTANCE, "status": code, "statusDesc": "ignored"})
    assert (state.status, state.is_terminal, state.is_cancelled, state.is_success) == (
        name,
        terminal,
        cancelled,
        name == "SUCCESS",
    )
    assert state.url is None
    assert state.service == "EnOS"


def test_status_name_falls_back_to_status_desc_only_without_a_code() -> None:
    assert status_name(None, "CANCEL") == "CANCEL"
    assert status_name(None, "WHATEVER") == "UNKNOWN(None)"
    assert status_name(True) == "UNKNOWN(True)"


def response(body: Any, status: int = 200, params: dict[str, str] | None = None) -> ApiResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = ApiRequest("POST", MOCK_INSTANCES_URL, params=params or {"userId": "u1", "orgId": "o1"})
    return ApiResponse(status, {}, content, request, service="EnOS")


@pytest.mark.parametrize(
    ("code", "cls", "words"),
    [
        (62101, PermissionDeniedError, "does not exist or does not belong to that orgId"),
        (62103, PermissionDeniedError, "has no privilege"),
        (62102, ApiError, "rejected a parameter"),
        (62109, TransientError, "internal server exception"),
        (62104, ApiError, "refused the request"),
        (1203, AuthenticationError, "rejected the access token"),
    ],
)
def test_batch_business_codes(code: int, cls: type[WfCancelError], words: str) -> None:
    error = classify_batch_response(
        response({"code": code, "msg": "the msg", "requestId": "req-1", "data": None})
    )
    assert type(error) is cls
    assert (error.service_code, error.service_message, error.request_id) == (code, "the msg", "req-1")
    assert words in error.message
    assert f"EnOS code {code}: the msg" in str(error)
    assert "request id req-1" in str(error)


def test_batch_success_and_odd_bodies_are_not_errors() -> None:
    assert classify_batch_response(response({"code": 0, "msg": "OK", "data": ""})) is None
    assert classify_batch_response(response({"code": "0", "msg": "OK"})) is None
    assert classify_batch_response(response(b"<html>")) is None  # the parser reports it
    assert classify_batch_response(response([1, 2])) is None
    v20 = classify_batch_response(response({"status": 62102, "msg": "bad"}))
    assert isinstance(v20, ApiError)
    assert v20.service_code == 62102
    poseidon = classify_batch_response(response({"apim_status": 4011, "code": 0}))
    assert isinstance(poseidon, AuthenticationError)
    assert is_gateway_rejection(poseidon)


def test_62101_message_names_the_user_and_org() -> None:
    error = classify_batch_response(
        response({"code": 62101, "msg": "m"}, params={"userId": "uX", "orgId": "oY"})
    )
    assert error is not None
    assert "user 'uX' in organization 'oY'" in error.message


@pytest.mark.parametrize(
    ("body", "cls", "words"),
    [
        ({"status": 1002, "msg": "appKey does not exist"}, AuthenticationError, "Access Key"),
        ({"stauts": 1003, "msg": "Invalid encryption"}, AuthenticationError, "Secret Key"),
        ({"status": 1005, "msg": "Internal error"}, TransientError, "internal error"),
        ({"status": 1004, "msg": "Invalid parameter"}, ApiError, "clock"),
        ({"status": 1001, "msg": "Repeated"}, ApiError, "repeated"),
        ({"status": 9999, "msg": "?"}, ApiError, "refused"),
    ],
)
def test_token_service_codes(body: dict[str, Any], cls: type[WfCancelError], words: str) -> None:
    error = classify_token_response(response(body))
    assert type(error) is cls
    assert words in error.message


def test_token_service_success_with_either_spelling() -> None:
    assert classify_token_response(response({"status": 0, "data": {"accessToken": "t"}})) is None
    assert classify_token_response(response({"stauts": 0, "data": {"accessToken": "t"}})) is None


def test_gateway_rejection_detection() -> None:
    assert is_gateway_rejection(AuthenticationError("x", status_code=401))
    assert is_gateway_rejection(ApiError("x", status_code=401))
    assert is_gateway_rejection(
        PermissionDeniedError("x", status_code=403, body='{"code":1203,"msg":"expired"}')
    )
    assert not is_gateway_rejection(PermissionDeniedError("x", status_code=403, body='{"code":62103}'))
    assert not is_gateway_rejection(PermissionDeniedError("x", status_code=200, service_code=62103))
    assert not is_gateway_rejection(TransientError("x", status_code=503))


# -- connection parsing ---------------------------------------------------------------------------------------


def test_connection_parsing_from_json() -> None:
    conn = Connection(
        conn_id="enos_json",
        conn_type="enos",
        host="apim-ppe1.envisioniot.com/",
        login=" key-1 ",
        password="secret-1",
        extra=json.dumps(
            {"org_id": "o1578468179", "user_id": "u15426865866571", "timeout": 12, "max_retries": 0}
        ),
    )
    settings = EnosHook.parse_connection(conn)
    assert settings.base_url == "https://apim-ppe1.envisioniot.com"
    assert (settings.app_key, settings.app_secret) == ("key-1", "secret-1")
    assert (settings.org_id, settings.user_id) == ("o1578468179", "u15426865866571")
    assert (settings.http.read_timeout, settings.http.retry.max_attempts) == (12.0, 1)
    assert "secret-1" not in repr(settings)


def test_connection_parsing_from_a_uri_with_string_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENOS_URI",
        "enos://the-key:the%2Fsecret@apim.example.com:8443?org_id=o1&user_id=u1&verify_ssl=false&max_retries=1",
    )
    settings = EnosHook("enos_uri").settings
    assert settings.base_url == "https://apim.example.com:8443"
    assert (settings.app_key, settings.app_secret, settings.org_id, settings.user_id) == (
        "the-key",
        "the/secret",
        "o1",
        "u1",
    )
    assert (settings.http.verify, settings.http.retry.max_attempts) == (False, 2)


def test_the_port_field_is_added_to_a_host_with_a_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(
        monkeypatch,
        "enos_port",
        host="http://apim.example.com/",
        port=8080,
        login="k",
        password="s",
        extra={"org_id": "o1"},
    )
    assert EnosHook("enos_port").settings.base_url == "http://apim.example.com:8080"


def test_user_id_is_optional_in_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(
        monkeypatch, "enos_nouser", host="h.example.com", login="k", password="s", extra={"org_id": "o1"}
    )
    assert EnosHook("enos_nouser").settings.user_id is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"login": "k", "password": "s", "extra": {"org_id": "o1"}}, "has no host"),
        ({"host": "h.example.com", "password": "s", "extra": {"org_id": "o1"}}, "has no login"),
        ({"host": "h.example.com", "login": "k", "extra": {"org_id": "o1"}}, "has no password"),
        ({"host": "h.example.com", "login": "k", "password": "s"}, "has no extra 'org_id'"),
        (
            {"host": "h.example.com", "login": "k", "password": "s", "extra": {"org_id": " "}},
            "has no extra 'org_id'",
        ),
        (
            {"host": "ftp://h", "login": "k", "password": "s", "extra": {"org_id": "o1"}},
            "not a valid base URL",
        ),
        (
            {
                "host": "h.example.com",
                "login": "k",
                "password": "s",
                "extra": {"org_id": "o1", "max_retries": "x"},
            },
            "'max_retries' must be a whole number",
        ),
        (
            {
                "host": "h.example.com",
                "login": "k",
                "password": "s",
                "extra": {"org_id": "o1", "user_id": "u\x01"},
            },
            "extra 'user_id' contains control characters",
        ),
        (
            {"host": "h.example.com", "login": "k", "password": "s", "extra": {"org_id": ["o1"]}},
            "'org_id' must be a string",
        ),
    ],
)
def test_bad_connections_fail_before_any_request(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], message: str
) -> None:
    set_conn(monkeypatch, "enos_bad", **fields)
    with pytest.raises(InvalidInputError, match=message) as caught:
        EnosHook("enos_bad").request_cancel(INSTANCE)
    assert "'enos_bad'" in str(caught.value)
    assert requests_mock.call_count == 0


def test_missing_connection_is_a_clear_error(requests_mock: rm.Mocker) -> None:
    with pytest.raises(InvalidInputError, match="connection 'nowhere' is not defined"):
        EnosHook("nowhere").get_state(INSTANCE)


# -- the API against the emulator ------------------------------------------------------------------------------


def test_cancel_and_get_send_the_documented_requests(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    ack = hook.request_cancel(instance_id)
    assert (ack.instance_id, ack.state_at_request, ack.already_finished) == (instance_id, None, False)
    assert ack.response["code"] == 0
    assert ack.response["data"] == ""
    final = hook.wait_for_terminal(instance_id, timeout=5, poll_interval=0.05)
    assert (final.status, final.is_cancelled, final.raw["instanceId"]) == ("CANCEL", True, instance_id)

    (token_call,) = emu.control.requests("enos.token.get")
    assert token_call["method"] == "POST"
    assert token_call["path"] == "/apim-token-service/v2.0/token/get"
    sent = json.loads(token_call["body"])
    assert sent["appKey"] == DEFAULT_ENOS_APP_KEY
    assert isinstance(sent["timestamp"], int)

    (cancel,) = emu.control.requests("enos.flowinstance.cancel")
    assert cancel["method"] == "POST"
    assert cancel["path"] == "/batch-processing-service/v2.1/flowInstances"
    assert list(cancel["query"].items()) == [
        ("action", "cancel"),
        ("userId", DEFAULT_ENOS_USER_ID),
        ("orgId", DEFAULT_ENOS_ORG_ID),
    ]
    assert json.loads(cancel["body"]) == {"flowInstId": instance_id}
    assert cancel["headers"]["content-type"] == "application/json;charset=UTF-8"
    assert {"apim-accesstoken", "apim-timestamp", "apim-signature"} <= cancel["headers"].keys()

    get = emu.control.requests("enos.flowinstance.get")[0]
    assert get["method"] == "GET"
    assert get["body"] == ""
    assert get["query"] == {
        "action": "get",
        "flowInstId": instance_id,
        "userId": DEFAULT_ENOS_USER_ID,
        "orgId": DEFAULT_ENOS_ORG_ID,
    }
    assert all(entry["status"] == 200 for entry in emu.control.requests())


def test_one_token_for_one_and_for_ten_cancels(emu: Any, hook: EnosHook) -> None:
    hook.request_cancel(running_instance(emu))
    assert counts(emu) == {"enos.token.get": 1, "enos.flowinstance.cancel": 1}
    ids = [running_instance(emu) for _ in range(10)]
    other_hook = EnosHook(hook.conn_id)  # the cache is process-wide, not per hook
    for instance_id in ids:
        assert not other_hook.request_cancel(instance_id).already_finished
    assert counts(emu) == {"enos.token.get": 1, "enos.flowinstance.cancel": 11}


def test_bulk_cancel_with_16_threads_gets_one_token(emu: Any, hook: EnosHook) -> None:
    ids = [running_instance(emu) for _ in range(40)]
    items = hook.cancel_flow_instances([*ids, "2438-00000000000000"], max_workers=16)
    assert [item.instance_id for item in items] == [*ids, "2438-00000000000000"]
    assert all(item.ok for item in items[:-1])
    assert isinstance(items[-1].error, ApiError)
    assert items[-1].error.service_code == 62102
    assert counts(emu)["enos.token.get"] == 1
    assert "enos.token.refresh" not in counts(emu)


def test_bulk_cancel_builds_one_session_before_its_threads_start(
    emu: Any, hook: EnosHook, transport_threads: list[str]
) -> None:
    items = hook.cancel_flow_instances([running_instance(emu) for _ in range(4)], max_workers=4)
    assert all(item.ok for item in items)
    assert transport_threads == [threading.current_thread().name]


def test_token_is_refreshed_before_it_expires_during_a_long_wait(emu: Any, hook: EnosHook) -> None:
    emu.control.configure(enos_token_lifetime=1, enos_cancel_delay=1.4, enos_start_delay=0)
    instance_id = running_instance(emu)
    hook.request_cancel(instance_id)
    final = hook.wait_for_terminal(instance_id, timeout=5, poll_interval=0.05)
    assert final.status == "CANCEL"
    seen = counts(emu)
    # The wait outlived the 1 s token: it was renewed (refreshed, or re-got if a poll missed the
    # renewal window) without a single rejected call.
    assert seen["enos.token.get"] + seen.get("enos.token.refresh", 0) >= 2
    assert [e for e in emu.control.requests() if e["status"] != 200] == []


def enter_renewal_window(hook: EnosHook) -> None:
    """Age the cached token into its renewal window (still valid), without sleeping."""
    key = hook.settings.token_key
    entry = TOKEN_CACHE.get(key)
    assert entry is not None
    TOKEN_CACHE.store(key, dataclasses.replace(entry, renew_at=time.monotonic() - 1))


def test_refresh_refused_falls_back_to_a_new_token(emu: Any, hook: EnosHook) -> None:
    emu.control.configure(enos_start_delay=0)
    instance_id = running_instance(emu)
    hook.get_state(instance_id)
    emu.control.inject_fault("enos.token.refresh", mode="enos_code", body=1204)
    enter_renewal_window(hook)
    assert hook.get_state(instance_id).status == "RUNNING"
    seen = counts(emu)
    assert (seen["enos.token.refresh"], seen["enos.token.get"]) == (1, 2)


def test_expired_token_is_replaced_and_the_call_repeated_once(emu: Any, hook: EnosHook) -> None:
    hook.get_state(running_instance(emu))
    emu.control.reset()  # the gateway forgets every token: the cached one is now invalid
    instance_id = running_instance(emu)
    assert not hook.request_cancel(instance_id).already_finished
    statuses = [(e["route"], e["status"]) for e in emu.control.requests()]
    assert statuses == [
        ("enos.flowinstance.cancel", 401),
        ("enos.token.get", 200),
        ("enos.flowinstance.cancel", 200),
    ]


def test_token_rejected_in_an_http_200_body_is_also_replaced(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.get", mode="enos_code", body={"code": 1203, "msg": "expired"})
    assert hook.get_state(instance_id).status in ("INIT", "RUNNING")
    assert counts(emu) == {"enos.token.get": 2, "enos.flowinstance.get": 2}


def test_persistent_token_rejection_gives_up_after_one_retry(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.cancel", status=401, count=5)
    with pytest.raises(AuthenticationError, match="even after getting a new one") as caught:
        hook.request_cancel(instance_id)
    assert caught.value.http_status == 401
    assert counts(emu) == {"enos.token.get": 2, "enos.flowinstance.cancel": 2}


@pytest.mark.parametrize(
    ("status", "cls"), [(403, PermissionDeniedError), (404, NotFoundError), (400, ApiError)]
)
def test_client_errors_are_not_retried(
    emu: Any, hook: EnosHook, status: int, cls: type[WfCancelError]
) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.get", status=status, count=5)
    with pytest.raises(cls) as caught:
        hook.get_state(instance_id)
    assert caught.value.http_status == status
    assert counts(emu) == {"enos.token.get": 1, "enos.flowinstance.get": 1}


def test_429_with_retry_after_and_5xx_are_retried(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.get", status=429, retry_after=0.05)
    emu.control.inject_fault("enos.flowinstance.get", status=503)
    started = time.monotonic()
    assert hook.get_state(instance_id).instance_id == instance_id
    assert time.monotonic() - started >= 0.05
    assert [e["status"] for e in emu.control.requests("enos.flowinstance.get")] == [429, 503, 200]


def test_rate_limit_outlasting_the_retries(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.get", status=429, retry_after=0, count=10)
    with pytest.raises(RateLimitedError):
        hook.get_state(instance_id)
    assert counts(emu)["enos.flowinstance.get"] == 3  # max_retries=2


def test_62101_user_org_mismatch(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    with pytest.raises(PermissionDeniedError) as caught:
        hook.request_cancel(instance_id, org_id=OTHER_ORG)
    error = caught.value
    assert error.service_code == 62101
    assert error.request_id
    assert f"user {DEFAULT_ENOS_USER_ID!r} in organization {OTHER_ORG!r}" in str(error)
    assert "userId does not exist, or it does not match to orgId" in str(error)
    assert counts(emu)["enos.flowinstance.cancel"] == 1


def test_62102_unknown_instance(emu: Any, hook: EnosHook) -> None:
    with pytest.raises(ApiError) as caught:
        hook.request_cancel("2438-20190808102000")
    assert caught.value.service_code == 62102
    assert "not found" in str(caught.value)
    # the hook looked the instance up once to tell "finished" from "unknown", then raised the cancel's error
    assert counts(emu) == {"enos.token.get": 1, "enos.flowinstance.cancel": 1, "enos.flowinstance.get": 1}
    with pytest.raises(ApiError, match="62102"):
        hook.get_state("2438-20190808102000")


def test_62103_not_the_owner(emu: Any, hook: EnosHook) -> None:
    emu.control.add_enos_user(OTHER_USER, DEFAULT_ENOS_ORG_ID)
    instance_id = running_instance(emu, owner_user_id=OTHER_USER)
    with pytest.raises(PermissionDeniedError) as caught:
        hook.request_cancel(instance_id)
    assert caught.value.service_code == 62103
    assert "owner" in str(caught.value)
    assert hook.request_cancel(instance_id, user_id=OTHER_USER).already_finished is False


def test_62109_is_retried_then_succeeds(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.cancel", mode="enos_code", body=62109)
    assert hook.request_cancel(instance_id).response["code"] == 0
    assert counts(emu)["enos.flowinstance.cancel"] == 2


def test_persistent_62109_is_a_transient_error(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.cancel", mode="enos_code", body=62109, count=10)
    with pytest.raises(TransientError) as caught:
        hook.request_cancel(instance_id)
    assert caught.value.service_code == 62109
    assert "after 3 attempts" in str(caught.value)
    assert counts(emu)["enos.flowinstance.cancel"] == 3
    assert "enos.flowinstance.get" not in counts(emu)


def test_cancel_of_a_finished_instance_reports_already_finished(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu, status=1)
    ack = hook.request_cancel(instance_id)
    assert ack.already_finished is True
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "SUCCESS"
    assert ack.response["code"] == 62102
    assert ack.response["requestId"]


def test_cancel_of_a_finished_instance_when_enos_accepts_it(emu: Any, hook: EnosHook) -> None:
    emu.control.configure(enos_cancel_terminal_code=0)
    instance_id = running_instance(emu, status=-1)
    ack = hook.request_cancel(instance_id)
    assert (ack.already_finished, ack.state_at_request) == (False, None)
    assert hook.get_state(instance_id).status == "FAIL"


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "  ",
        2438,
        "2438",
        "2438-1234",
        "abc-201908081020",
        "2438-201908081020/..",
        "None",
        "2438-2019\n0808",
    ],
)
def test_ids_are_validated_before_any_request(emu: Any, hook: EnosHook, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="flow_instance_id"):
        hook.request_cancel(bad)
    with pytest.raises(InvalidInputError):
        hook.get_state(bad)
    assert counts(emu) == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user_id": ""}, "user_id is empty"),
        ({"user_id": "u\x00"}, "user_id contains control characters"),
        ({"org_id": 15}, "org_id must be a string"),
        ({"org_id": "o/1"}, "org_id"),
    ],
)
def test_user_and_org_overrides_are_validated_before_any_request(
    emu: Any, hook: EnosHook, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        hook.request_cancel(INSTANCE, **overrides)
    with pytest.raises(InvalidInputError, match=message):
        EnosHook(hook.conn_id, **overrides).get_state(INSTANCE)
    assert counts(emu) == {}


def test_a_user_id_is_required_for_batch_calls(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = emulator_conn(emu, monkeypatch, "enos_nouser", extra={"user_id": None})
    with pytest.raises(InvalidInputError, match="no EnOS user id: pass user_id or set the extra 'user_id'"):
        EnosHook(conn_id).request_cancel(INSTANCE)
    assert counts(emu) == {}


def test_user_and_org_overrides_per_call_and_per_hook(emu: Any, hook: EnosHook) -> None:
    emu.control.add_enos_user(OTHER_USER, OTHER_ORG)
    instance_id = running_instance(emu, owner_user_id=OTHER_USER, org_id=OTHER_ORG)
    with pytest.raises(PermissionDeniedError):  # the connection's org cannot see it
        hook.get_state(instance_id)
    assert hook.get_state(instance_id, user_id=OTHER_USER, org_id=OTHER_ORG).status in ("INIT", "RUNNING")
    scoped = EnosHook(hook.conn_id, user_id=OTHER_USER, org_id=OTHER_ORG)
    assert not scoped.request_cancel(instance_id).already_finished
    assert scoped.wait_for_terminal(instance_id, timeout=5, poll_interval=0.05).is_cancelled
    cancel = emu.control.requests("enos.flowinstance.cancel")[-1]
    assert (cancel["query"]["userId"], cancel["query"]["orgId"]) == (OTHER_USER, OTHER_ORG)
    last_get = emu.control.requests("enos.flowinstance.get")[-1]
    assert (last_get["query"]["userId"], last_get["query"]["orgId"]) == (OTHER_USER, OTHER_ORG)


def test_trigger_flow_is_not_resent_after_a_500(emu: Any, hook: EnosHook) -> None:
    new_id = hook.trigger_flow(3377, 1574385824000)
    assert new_id.startswith("3377-")
    assert EnosHook.validate_instance_id(new_id) == new_id
    (call,) = emu.control.requests("enos.flow.trigger")
    assert call["path"] == "/batch-processing-service/v2.1/flows"
    assert call["query"] == {
        "action": "trigger",
        "userId": DEFAULT_ENOS_USER_ID,
        "orgId": DEFAULT_ENOS_ORG_ID,
    }
    assert json.loads(call["body"]) == {"flowId": 3377, "triggerTime": 1574385824000}

    emu.control.inject_fault("enos.flow.trigger", status=500)
    with pytest.raises(TransientError):
        hook.trigger_flow(3377)
    assert counts(emu)["enos.flow.trigger"] == 2
    emu.control.inject_fault("enos.flow.trigger", status=503)  # 503: the gateway did not run it
    assert hook.trigger_flow(3377) != new_id
    assert counts(emu)["enos.flow.trigger"] == 4


@pytest.mark.parametrize(
    ("flow_id", "when"), [(0, None), (True, None), ("3377", None), (3377, -1), (3377, 1.5)]
)
def test_trigger_flow_validates_arguments(emu: Any, hook: EnosHook, flow_id: Any, when: Any) -> None:
    with pytest.raises(InvalidInputError):
        hook.trigger_flow(flow_id, when)
    assert counts(emu) == {}


def test_search_flow_instances(emu: Any, hook: EnosHook) -> None:
    emu.control.configure(enos_start_delay=0)
    running = [running_instance(emu) for _ in range(3)]
    finished = running_instance(emu, status=1)
    page = hook.search_flow_instances(statuses=[2], page_size=2, sorters=[("triggerTime", "asc")])
    assert page.count == 3
    assert len(page.instances) == 2
    assert {s.instance_id for s in page.instances} <= set(running)
    assert all(s.status == "RUNNING" for s in page.instances)
    everything = hook.search_flow_instances()
    assert everything.count == 4
    assert finished in {s.instance_id for s in everything.instances}
    body = json.loads(emu.control.requests("enos.flowinstance.search")[0]["body"])
    assert body["type"] == 1
    assert body["status"] == "2"
    assert body["owner"] == ""
    assert body["expression"] == ""
    assert body["pagination"] == {
        "pageNo": 1,
        "pageSize": 2,
        "sorters": [{"field": "triggerTime", "order": "ASC"}],
    }
    assert body["toTriggerTime"] - body["fromTriggerTime"] == 7 * 24 * 3600 * 1000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flow_type": 3},
        {"statuses": [99]},
        {"statuses": []},
        {"page_size": 0},
        {"from_trigger_time_ms": 10, "to_trigger_time_ms": 5},
        {"sorters": [("triggerTime", "UP")]},
        {"expression": "a\nb"},
    ],
)
def test_search_validates_arguments(emu: Any, hook: EnosHook, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        hook.search_flow_instances(**kwargs)
    assert counts(emu) == {}


def test_token_service_failures(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.token.get", mode="enos_code", body=1005)  # internal: retried
    emu.control.inject_fault(
        "enos.token.get", mode="enos_code", body=1001
    )  # reused encryption: fresh timestamp
    assert hook.get_state(instance_id).instance_id == instance_id
    assert counts(emu)["enos.token.get"] == 3
    bodies = [json.loads(e["body"])["timestamp"] for e in emu.control.requests("enos.token.get")]
    assert (
        bodies[0] == bodies[1] < bodies[2]
    )  # a transport retry resends the same bytes; 1001 gets a new stamp


def test_token_answer_without_an_access_token_is_an_api_error(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    mocked_hook = mock_hook(monkeypatch)
    requests_mock.post(MOCK_TOKEN_URL, json={"status": 0, "msg": "SUCCESS", "data": {}})
    with pytest.raises(ApiError, match=r"without data\.accessToken"):
        mocked_hook.get_state(INSTANCE)


def test_a_changed_secret_gets_its_own_token(
    emu: Any, hook: EnosHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = running_instance(emu)
    hook.get_state(instance_id)
    bad = EnosHook(emulator_conn(emu, monkeypatch, "enos_badsecret", password="not-the-secret"))
    with pytest.raises(AuthenticationError, match="Secret Key"):
        bad.get_state(instance_id)
    assert counts(emu) == {"enos.token.get": 2, "enos.flowinstance.get": 1}


# -- async --------------------------------------------------------------------------------------------------------


async def test_async_get_and_cancel(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    assert (await hook.aget_state(instance_id)).status in ("INIT", "RUNNING")
    ack = await hook.arequest_cancel(instance_id)
    assert (ack.already_finished, ack.response["code"]) == (False, 0)
    finished = running_instance(emu, status=7)
    ack = await hook.arequest_cancel(finished)
    assert ack.already_finished
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "TIMEOUT"
    with pytest.raises(PermissionDeniedError, match="62101"):
        await hook.aget_state(instance_id, org_id=OTHER_ORG)
    with pytest.raises(InvalidInputError):
        await hook.aget_state("nope")
    assert counts(emu)["enos.token.get"] == 1


async def test_many_concurrent_triggers_share_one_token_request(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.token.get", latency=0.2)  # keep the first fetch in flight
    states = await asyncio.gather(*(EnosHook(hook.conn_id).aget_state(instance_id) for _ in range(100)))
    assert {s.instance_id for s in states} == {instance_id}
    assert counts(emu) == {"enos.token.get": 1, "enos.flowinstance.get": 100}


async def test_async_expired_token_and_transient_retry(emu: Any, hook: EnosHook) -> None:
    await hook.aget_state(running_instance(emu))
    emu.control.reset()
    instance_id = running_instance(emu)
    emu.control.inject_fault("enos.flowinstance.get", mode="enos_code", body=62109)
    assert (await hook.aget_state(instance_id)).instance_id == instance_id
    assert [(e["route"], e["status"], e["fault"]) for e in emu.control.requests()] == [
        ("enos.flowinstance.get", 200, "enos_code"),  # 62109, retried by the transport
        ("enos.flowinstance.get", 401, None),  # the token the emulator forgot
        ("enos.token.get", 200, None),
        ("enos.flowinstance.get", 200, None),
    ]


async def test_async_token_renewal_uses_refresh(emu: Any, hook: EnosHook) -> None:
    instance_id = running_instance(emu)
    await hook.aget_state(instance_id)
    enter_renewal_window(hook)
    await asyncio.gather(*(hook.aget_state(instance_id) for _ in range(10)))
    seen = counts(emu)
    assert (seen["enos.token.get"], seen["enos.token.refresh"]) == (1, 1)


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
        [{"json": token_answer("t1", key="stauts")}, {"json": token_answer("t2", expire="300")}],
    )
    get = requests_mock.get(
        MOCK_INSTANCES_URL,
        [{"json": {"apim_status": 4011, "msg": "token expired"}}, {"json": flow_answer(8)}],
    )
    assert mocked.get_state(INSTANCE).status == "CANCEL"
    assert tokens.call_count == 2
    assert get.call_count == 2
    assert [r.headers["apim-accesstoken"] for r in get.request_history] == ["t1", "t2"]
    second = get.request_history[1]
    query = dict(parse_qsl(urlsplit(second.url).query))
    assert query == {"action": "get", "flowInstId": INSTANCE, "userId": "u1", "orgId": "o1"}
    assert second.headers["apim-signature"] == sign_request(
        "t2", query, None, second.headers["apim-timestamp"], MOCK_SECRET
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
            httpx.Response(200, json=token_answer("a1")),
            httpx.Response(200, json=token_answer("a2")),
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
        "a2", dict(last.url.params), None, last.headers["apim-timestamp"], MOCK_SECRET
    )


# -- test_connection -----------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_test_connection_tells_failures_apart(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ok = EnosHook(emulator_conn(emu, monkeypatch, "enos_ok")).test_connection()
    bad_key = EnosHook(emulator_conn(emu, monkeypatch, "enos_k", login="who-is-this")).test_connection()
    bad_secret = EnosHook(
        emulator_conn(emu, monkeypatch, "enos_s", password="wrong-secret")
    ).test_connection()
    wrong_org = EnosHook(
        emulator_conn(emu, monkeypatch, "enos_o", extra={"org_id": OTHER_ORG})
    ).test_connection()
    no_user = EnosHook(emulator_conn(emu, monkeypatch, "enos_u", extra={"user_id": None})).test_connection()
    down = EnosHook(
        emulator_conn(
            emu, monkeypatch, "enos_d", host=f"http://127.0.0.1:{closed_port()}", extra={"max_retries": 0}
        )
    ).test_connection()
    assert ok == (
        True,
        f"Connected to EnOS at {emu.base_url}: the keys are valid and user {DEFAULT_ENOS_USER_ID} "
        f"in organization {DEFAULT_ENOS_ORG_ID} can use the Batch Processing Service",
    )
    assert no_user[0] is True
    assert "set the extra 'user_id'" in no_user[1]
    assert bad_key[0] is False
    assert bad_key[1].startswith("Credentials rejected by EnOS: EnOS does not know this Access Key")
    assert "1002" in bad_key[1]
    assert bad_secret[0] is False
    assert bad_secret[1].startswith("Credentials rejected by EnOS: EnOS rejected the Secret Key")
    assert wrong_org[0] is False
    assert wrong_org[1].startswith("Credentials accepted but not allowed: EnOS does not know user")
    assert f"organization {OTHER_ORG!r}" in wrong_org[1]
    assert "62101" in wrong_org[1]
    assert down[0] is False
    assert down[1].startswith("Could not reach EnOS: EnOS could not be reached (ConnectionError)")
    assert len({bad_key[1], bad_secret[1], wrong_org[1], down[1]}) == 4


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


def test_secret_and_access_token_never_leak(
    emu: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "SENTINEL-app-secret-7f3a9c"
    emu.control.add_enos_app("sentinel-key", secret)
    conn_id = emulator_conn(emu, monkeypatch, "enos_sentinel", login="sentinel-key", password=secret)
    hook = EnosHook(conn_id)
    instance_id = running_instance(emu)
    errors: list[BaseException] = []
    ack = hook.request_cancel(instance_id)
    hook.wait_for_terminal(instance_id, timeout=5, poll_interval=0.05)
    emu.control.inject_fault("enos.flowinstance.get", status=401, count=2)
    for call in (
        lambda: hook.get_state(instance_id),
        lambda: hook.get_state(instance_id, org_id=OTHER_ORG),
        lambda: EnosHook(emulator_conn(emu, monkeypatch, "enos_sentinel2", password="x" + secret)).probe(),
    ):
        with pytest.raises(WfCancelError) as caught:
            call()
        errors.append(caught.value)
    entry = TOKEN_CACHE.get(hook.settings.token_key)
    assert entry is not None
    token = entry.token
    outputs = [caplog.text, capsys.readouterr().out, repr(ack), json.dumps(ack.response), repr(hook.settings)]
    outputs += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(entry)]
    outputs += [json.dumps(e) for e in emu.control.requests()]
    for text in outputs:
        assert secret not in text
        assert token not in text
    assert "Obtained an EnOS access token" in caplog.text


def test_wait_and_bulk_helpers_validate(hook: EnosHook) -> None:
    with pytest.raises(InvalidInputError):
        hook.cancel_flow_instances(INSTANCE)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        hook.cancel_flow_instances([INSTANCE], max_workers=0)


def test_module_exports_the_hook_attributes() -> None:
    assert (EnosHook.conn_name_attr, EnosHook.default_conn_name, EnosHook.conn_type, EnosHook.hook_name) == (
        "enos_conn_id",
        "enos_default",
        "enos",
        "EnOS",
    )
    assert EnosHook().enos_conn_id == "enos_default"
    assert enos_module.SERVICE == "EnOS"
