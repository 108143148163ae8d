"""What EnOS answers mean: statuses, business and gateway codes, token answers; pure, no HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wfcancel._http import ApiRequest, ApiResponse
from airflow_provider_wfcancel._protocol.enos.responses import (
    classify_batch_response,
    classify_token_response,
    is_gateway_rejection,
    state_from_instance,
    status_name,
)
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
    TransientError,
    WfCancelError,
)

OTHER_USER = "u15000000000002"
OTHER_ORG = "o15000000000002"
MOCK_BASE = "https://apim.example.com"
MOCK_TOKEN_URL = f"{MOCK_BASE}/apim-token-service/v2.0/token/get"
MOCK_INSTANCES_URL = f"{MOCK_BASE}/batch-processing-service/v2.1/flowInstances"
MOCK_SECRET = "mock-app-secret-SENTINEL"
MOCK_ACCESS_TOKEN = "mock-access-token-SENTINEL"
INSTANCE = "2438-201908081020"


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
