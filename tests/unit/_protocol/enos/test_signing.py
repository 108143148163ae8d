"""EnOS signing (spec 4.1, 4.3): encryption, signatures, per-attempt headers; pure, no HTTP."""

from __future__ import annotations

import json
import time

import pytest
from airflow.providers.common.compat.sdk import Connection

from airflow_provider_wfcancel._http import ApiRequest
from airflow_provider_wfcancel._protocol.enos.exchanges import token_request
from airflow_provider_wfcancel._protocol.enos.responses import (
    classify_batch_response,
    classify_token_response,
)
from airflow_provider_wfcancel._protocol.enos.signing import (
    EnosGatewayAuth,
    StaleTokenError,
    fresh_timestamp_ms,
    sign_request,
    token_encryption,
)
from airflow_provider_wfcancel._protocol.enos.tokens import CachedToken
from airflow_provider_wfcancel._protocol.exchange import Mask, Send
from airflow_provider_wfcancel.emulator import (
    enos_encryption,
    enos_signature,
)
from airflow_provider_wfcancel.hooks.enos import EnosHook

OTHER_USER = "u15000000000002"
OTHER_ORG = "o15000000000002"
MOCK_BASE = "https://apim.example.com"
MOCK_TOKEN_URL = f"{MOCK_BASE}/apim-token-service/v2.0/token/get"
MOCK_INSTANCES_URL = f"{MOCK_BASE}/batch-processing-service/v2.1/flowInstances"
MOCK_SECRET = "mock-app-secret-SENTINEL"
MOCK_ACCESS_TOKEN = "mock-access-token-SENTINEL"
INSTANCE = "2438-201908081020"


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
    refresh = Send(token_request(settings, "the-old-token"), None, classify_token_response)
    cached = CachedToken.issued("the-token", 7200)
    signed = Send(
        ApiRequest("GET", MOCK_INSTANCES_URL), EnosGatewayAuth(cached, "the-secret"), classify_batch_response
    )
    shown = " ".join(repr(x) for x in (settings, refresh, signed, cached, Mask("the-token")))
    for secret in ("the-secret", "the-old-token", "the-token"):
        assert secret not in shown


def test_timestamps_never_repeat() -> None:
    stamps = [fresh_timestamp_ms() for _ in range(2000)]
    assert stamps == sorted(set(stamps))
