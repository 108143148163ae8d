"""EnosHook: connection parsing, the token cache's renewal, and the API against the emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import threading
import time
from typing import Any

import pytest
import requests_mock as rm
from airflow.providers.common.compat.sdk import Connection

from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE
from airflow_provider_wfcancel.emulator import (
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
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
        password="app-secret",
        extra={"org_id": "o1"},
    )
    assert EnosHook("enos_port").settings.base_url == "http://apim.example.com:8080"


def test_user_id_is_optional_in_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(
        monkeypatch,
        "enos_nouser",
        host="h.example.com",
        login="k",
        password="app-secret",
        extra={"org_id": "o1"},
    )
    assert EnosHook("enos_nouser").settings.user_id is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"login": "k", "password": "app-secret", "extra": {"org_id": "o1"}}, "has no host"),
        ({"host": "h.example.com", "password": "app-secret", "extra": {"org_id": "o1"}}, "has no login"),
        ({"host": "h.example.com", "login": "k", "extra": {"org_id": "o1"}}, "has no password"),
        ({"host": "h.example.com", "login": "k", "password": "app-secret"}, "has no extra 'org_id'"),
        (
            {"host": "h.example.com", "login": "k", "password": "app-secret", "extra": {"org_id": " "}},
            "has no extra 'org_id'",
        ),
        (
            {"host": "ftp://h", "login": "k", "password": "app-secret", "extra": {"org_id": "o1"}},
            "not a valid base URL",
        ),
        (
            {
                "host": "h.example.com",
                "login": "k",
                "password": "app-secret",
                "extra": {"org_id": "o1", "max_retries": "x"},
            },
            "'max_retries' must be a whole number",
        ),
        (
            {
                "host": "h.example.com",
                "login": "k",
                "password": "app-secret",
                "extra": {"org_id": "o1", "user_id": "u\x01"},
            },
            "extra 'user_id' contains control characters",
        ),
        (
            {"host": "h.example.com", "login": "k", "password": "app-secret", "extra": {"org_id": ["o1"]}},
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
    # reading it: EnOS' "not found" (62102) is the provider's NotFoundError (a record of it is dropped)
    with pytest.raises(NotFoundError, match="62102"):
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
    assert EnosHook.service == "EnOS"
