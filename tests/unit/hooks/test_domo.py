"""DomoHook against transport mocks (requests-mock / respx) and against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import requests_mock as rm
import respx

from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
    WaitTimeoutError,
)
from airflow_provider_wfcancel.hooks.domo import DomoHook, DomoTokenAuth, normalize_status
from tests.airflow_compat import needs_airflow
from tests.conftest import connection_json

TOKEN = "domo-token-SENTINEL"
BASE = "https://acme.domo.com"
INSTANCE = "613b7df4-7a2c-4c64-9e0b-2b8f0f3c9a11"
CANCEL_URL = f"{BASE}/api/workflow/v1/instances/{INSTANCE}/cancel"
GET_URL = f"{BASE}/api/workflow/v1/instances/{INSTANCE}"


def instance(status: Any = "IN_PROGRESS", **fields: Any) -> dict[str, Any]:
    return {
        "id": INSTANCE,
        "modelId": "f5d7bbff-0000-4000-8000-000000000001",
        "modelVersion": "1.3.10",
        "modelName": "AddTwoNumbers",
        "status": status,
        "isTestRun": False,
        **fields,
    }


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> DomoHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_ACME",
        connection_json("domo", host="acme", password=TOKEN, extra={"max_retries": 2}),
    )
    return DomoHook("domo_acme")


# -- connection parsing -----------------------------------------------------------------------------


def test_connection_parsing_from_a_uri_with_string_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_URI", f"domo://:{TOKEN}@acme.domo.com?timeout=12&verify_ssl=false&max_retries=1"
    )
    settings = DomoHook("domo_uri").settings
    assert settings.base_url == "https://acme.domo.com"
    assert settings.token == TOKEN
    assert (settings.http.read_timeout, settings.http.verify, settings.http.retry.max_attempts) == (
        12.0,
        False,
        2,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": "acme"}, "has no developer access token"),
        ({"password": TOKEN}, "has no host"),
        ({"host": "ftp://acme", "password": TOKEN}, "is not a valid base URL"),
        ({"host": "acme", "password": TOKEN, "extra": {"timeout": "x"}}, "'timeout' must be a number"),
    ],
)
def test_bad_connections_fail_before_any_request(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], message: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_BAD", connection_json("domo", **fields))
    with pytest.raises(InvalidInputError, match=message):
        DomoHook("domo_bad").request_cancel(INSTANCE)
    assert requests_mock.call_count == 0


def test_missing_connection_is_a_clear_error(requests_mock: rm.Mocker) -> None:
    with pytest.raises(InvalidInputError) as caught:
        DomoHook("nowhere").request_cancel(INSTANCE)
    assert str(caught.value) == (
        "connection 'nowhere' is not defined; add it in the Airflow UI (Admin > Connections) "
        "or as the environment variable AIRFLOW_CONN_NOWHERE"
    )
    assert requests_mock.call_count == 0


async def test_missing_connection_is_a_clear_error_in_async_code() -> None:
    with pytest.raises(InvalidInputError) as caught:
        await DomoHook("nowhere_async").aget_state(INSTANCE)
    message = str(caught.value)
    assert message.count("not defined") == 1
    assert "isn't defined" not in message
    assert "AIRFLOW_CONN_NOWHERE_ASYNC" in message


@needs_airflow((3, 2), "telling a connection a secrets backend refuses from an undefined one")
def test_a_connection_that_cannot_be_read_is_not_called_undefined(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
    from airflow.sdk.execution_time import supervisor

    class DenyingBackend:
        def get_connection(self, conn_id: str) -> None:
            raise AirflowSecretsBackendAccessDenied(f"no access to {conn_id}")

    monkeypatch.setattr(supervisor, "ensure_secrets_backend_loaded", lambda: [DenyingBackend()])
    with pytest.raises(InvalidInputError) as caught:
        DomoHook("denied").request_cancel(INSTANCE)
    assert str(caught.value) == "connection 'denied' could not be read: no access to denied"


@pytest.mark.parametrize(
    ("uri", "base_url"),
    [
        (f"domo://:{TOKEN}@127.0.0.1:8089", "https://127.0.0.1:8089"),
        (f"domo://http://:{TOKEN}@127.0.0.1:8089", "http://127.0.0.1:8089"),
        (f"domo://:{TOKEN}@acme:8443", "https://acme.domo.com:8443"),
        (f"domo://:{TOKEN}@acme.domo.com", "https://acme.domo.com"),
    ],
)
def test_the_port_of_a_uri_connection_is_used(
    monkeypatch: pytest.MonkeyPatch, uri: str, base_url: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_PORT", uri)
    assert DomoHook("domo_port").settings.base_url == base_url


def test_the_port_field_is_added_to_a_host_with_a_scheme(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_PORT", connection_json("domo", host="http://10.0.0.5/", port=8089, password=TOKEN)
    )
    url = f"http://10.0.0.5:8089/api/workflow/v1/instances/{INSTANCE}"
    requests_mock.get(url, json=instance("IN_PROGRESS"))
    assert DomoHook("domo_port").get_state(INSTANCE).status == "IN_PROGRESS"
    assert requests_mock.last_request.url == url


def test_a_port_in_the_host_and_another_in_the_port_field_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_PORT",
        connection_json("domo", host="http://10.0.0.5:8080", port=8089, password=TOKEN),
    )
    with pytest.raises(InvalidInputError, match="port 8080 but the port field says 8089"):
        _ = DomoHook("domo_port").settings


def test_settings_repr_hides_the_token(acme: DomoHook) -> None:
    assert TOKEN not in repr(acme.settings)
    assert "token" not in repr(acme.settings)


# -- statuses -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "terminal", "cancelled"),
    [
        (None, False, False),
        ("null", False, False),
        ("IN_PROGRESS", False, False),
        ("CANCELED", True, True),
        ("COMPLETED", True, False),
        ("FAILED", True, False),
        ("SOMETHING_NEW", True, False),
    ],
)
def test_status_semantics(
    requests_mock: rm.Mocker, acme: DomoHook, status: Any, terminal: bool, cancelled: bool
) -> None:
    requests_mock.get(GET_URL, json=instance(status))
    state = acme.get_instance(INSTANCE)
    assert (state.status, state.is_terminal, state.is_cancelled) == (
        normalize_status(status),
        terminal,
        cancelled,
    )
    assert state.status_label == (normalize_status(status) or "null")


# -- cancel -------------------------------------------------------------------------------------------


def test_cancel_sends_the_documented_request(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    ack = acme.cancel_instance(INSTANCE)
    sent = requests_mock.last_request
    assert sent.method == "POST"
    assert sent.url == CANCEL_URL
    assert sent.headers["X-DOMO-Developer-Token"] == TOKEN
    assert sent.body is None
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "IN_PROGRESS"
    assert not ack.already_finished
    assert ack.response["modelName"] == "AddTwoNumbers"
    assert (
        ack.state_at_request.url
        == f"{BASE}/workflows/instances/f5d7bbff-0000-4000-8000-000000000001/1.3.10/{INSTANCE}"
    )


def test_cancel_of_a_finished_instance_is_reported_not_raised(
    requests_mock: rm.Mocker, acme: DomoHook
) -> None:
    requests_mock.post(CANCEL_URL, json=instance("COMPLETED"))
    ack = acme.cancel_instance(INSTANCE)
    assert ack.already_finished
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "COMPLETED"


def test_cancel_refused_because_the_instance_finished_is_reported_not_raised(
    requests_mock: rm.Mocker, acme: DomoHook
) -> None:
    cancel = requests_mock.post(
        CANCEL_URL,
        status_code=409,
        json={"status": 409, "message": "already COMPLETED"},
        headers={"X-Request-Id": "req-409"},
    )
    get = requests_mock.get(GET_URL, json=instance("COMPLETED"))
    ack = acme.cancel_instance(INSTANCE)
    assert (cancel.call_count, get.call_count) == (1, 1)
    assert ack.already_finished
    assert not ack.earlier_attempt_may_have_applied
    assert ack.state_at_request is not None
    assert (ack.state_at_request.status, ack.state_at_request.is_success) == ("COMPLETED", True)
    assert ack.response["status"] == 409
    assert ack.response["requestId"] == "req-409"
    assert "already COMPLETED" in ack.response["body"]


@pytest.mark.parametrize("status", [400, 409])
def test_cancel_refusal_of_a_running_instance_is_raised(
    requests_mock: rm.Mocker, acme: DomoHook, status: int
) -> None:
    requests_mock.post(CANCEL_URL, status_code=status, json={"status": status, "message": "no"})
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    with pytest.raises(ApiError) as caught:
        acme.cancel_instance(INSTANCE)
    assert caught.value.http_status == status
    assert caught.value.method == "POST"


def test_cancel_refusal_is_raised_when_the_lookup_fails(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.post(CANCEL_URL, status_code=409, json={"status": 409, "message": "no"})
    requests_mock.get(GET_URL, status_code=404, json={"status": 404})
    with pytest.raises(ApiError) as caught:
        acme.cancel_instance(INSTANCE)
    assert (caught.value.http_status, caught.value.method) == (409, "POST")


def test_other_client_errors_on_cancel_are_not_looked_up(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.post(CANCEL_URL, status_code=422, json={"status": 422})
    get = requests_mock.get(GET_URL, json=instance("COMPLETED"))
    with pytest.raises(ApiError, match="HTTP 422"):
        acme.cancel_instance(INSTANCE)
    assert get.call_count == 0


@respx.mock
async def test_async_cancel_refused_because_the_instance_finished(acme: DomoHook) -> None:
    respx.post(CANCEL_URL).mock(return_value=httpx.Response(409, json={"status": 409}))
    get = respx.get(GET_URL).mock(return_value=httpx.Response(200, json=instance("CANCELED")))
    ack = await acme.arequest_cancel(INSTANCE)
    assert ack.already_finished
    assert ack.state_at_request is not None
    assert ack.state_at_request.is_cancelled
    assert get.call_count == 1


@respx.mock
async def test_async_cancel_refusal_of_a_running_instance_is_raised(acme: DomoHook) -> None:
    respx.post(CANCEL_URL).mock(return_value=httpx.Response(400, json={"status": 400}))
    respx.get(GET_URL).mock(return_value=httpx.Response(200, json=instance(None)))
    with pytest.raises(ApiError, match="HTTP 400"):
        await acme.arequest_cancel(INSTANCE)


def test_ip_allowlist_page_is_a_permission_error(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.post(CANCEL_URL, text="<html><title>Domo - Blocked</title></html>", status_code=200)
    with pytest.raises(PermissionDeniedError, match="IP allowlist"):
        acme.cancel_instance(INSTANCE)


def test_non_object_json_is_an_api_error(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.post(CANCEL_URL, json=["unexpected"])
    with pytest.raises(ApiError, match="expected a JSON object"):
        acme.cancel_instance(INSTANCE)


def test_url_is_none_when_model_fields_are_missing(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.get(GET_URL, json={"id": INSTANCE, "status": "IN_PROGRESS"})
    assert acme.get_instance(INSTANCE).url is None


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (403, PermissionDeniedError), (404, NotFoundError)]
)
def test_client_errors_are_not_retried(
    requests_mock: rm.Mocker, acme: DomoHook, status: int, error: type[Exception]
) -> None:
    requests_mock.post(CANCEL_URL, status_code=status, json={"status": status, "message": "x"})
    with pytest.raises(error):
        acme.cancel_instance(INSTANCE)
    assert requests_mock.call_count == 1


def test_token_never_appears_in_errors_or_logs(
    requests_mock: rm.Mocker, acme: DomoHook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    requests_mock.post(CANCEL_URL, [{"status_code": 503}, {"status_code": 401, "text": f"bad token {TOKEN}"}])
    with pytest.raises(AuthenticationError) as caught:
        acme.cancel_instance(INSTANCE)
    assert requests_mock.call_count == 2
    assert TOKEN not in caplog.text
    assert "retrying" in caplog.text
    assert TOKEN not in repr(DomoTokenAuth(acme.settings.token))
    # The server echoed the token in its body; the error's excerpt still must not carry it.
    assert "bad token ***" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)


def test_ids_are_validated_before_any_request(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    for bad in [None, "", "None", "../x", "a/b", "a?b", 12]:
        with pytest.raises(InvalidInputError):
            acme.cancel_instance(bad)  # type: ignore[arg-type]
    assert requests_mock.call_count == 0


# -- start and list -----------------------------------------------------------------------------------


def test_start_workflow_sends_the_documented_body_and_is_not_retried(
    requests_mock: rm.Mocker, acme: DomoHook
) -> None:
    url = f"{BASE}/api/workflow/v1/instances/message"
    requests_mock.post(url, [{"status_code": 500}, {"json": instance(None)}])
    with pytest.raises(TransientError):
        acme.start_workflow("f5d7bbff-0000-4000-8000-000000000001", "1.3.10", "Start AddTwoNumbers", {"a": 1})
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.json() == {
        "messageName": "Start AddTwoNumbers",
        "version": "1.3.10",
        "modelId": "f5d7bbff-0000-4000-8000-000000000001",
        "data": {"a": 1},
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "1.0.0", "Start"), "model_id is empty"),
        (("m-1", " ", "Start"), "version must be a non-empty string"),
        (("m-1", "1.0.0", None), "message_name must be a non-empty string"),
    ],
)
def test_start_workflow_validates_arguments(
    requests_mock: rm.Mocker, acme: DomoHook, args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        acme.start_workflow(*args)
    with pytest.raises(InvalidInputError, match="data must be a dict"):
        acme.start_workflow("m-1", "1.0.0", "Start", data=["x"])  # type: ignore[arg-type]
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("reply", [instance(None, id=None), instance(None, id=""), instance(None, id=42), {}])
def test_start_reply_without_an_instance_id_is_an_error(
    requests_mock: rm.Mocker, acme: DomoHook, reply: dict[str, Any]
) -> None:
    requests_mock.post(
        f"{BASE}/api/workflow/v1/instances/message", json=reply, headers={"X-Request-Id": "req-start"}
    )
    with pytest.raises(ApiError, match="without an instance id") as caught:
        acme.start_workflow("m-1", "1.0.0", "Start")
    assert caught.value.request_id == "req-start"
    assert caught.value.http_status == 200
    assert caught.value.body_excerpt.startswith("{")
    assert requests_mock.call_count == 1


def test_list_instances_detects_the_ip_allowlist_page(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.get(
        f"{BASE}/api/workflow/v1/instances",
        text="<html><title>Domo - Blocked</title></html>",
        status_code=200,
    )
    with pytest.raises(PermissionDeniedError, match="IP allowlist"):
        acme.list_instances("m-1")


def test_list_instances_rejects_a_non_array_naming_the_response(
    requests_mock: rm.Mocker, acme: DomoHook
) -> None:
    requests_mock.get(
        f"{BASE}/api/workflow/v1/instances", json={"items": []}, headers={"X-Request-Id": "r-1"}
    )
    with pytest.raises(ApiError, match="expected a JSON array of instances") as caught:
        acme.list_instances("m-1")
    assert (caught.value.http_status, caught.value.request_id) == (200, "r-1")


def test_list_instances(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.get(
        f"{BASE}/api/workflow/v1/instances", json=[instance("IN_PROGRESS"), instance("COMPLETED", id="i-2")]
    )
    states = acme.list_instances("m-1", limit=2)
    assert [(s.instance_id, s.status) for s in states] == [(INSTANCE, "IN_PROGRESS"), ("i-2", "COMPLETED")]
    assert requests_mock.last_request.qs == {
        "modelid": ["m-1"],
        "limit": ["2"],
        "offset": ["0"],
        "sort": ["createdon:desc"],
    }
    with pytest.raises(InvalidInputError):
        acme.list_instances("m-1", limit=0)


# -- waiting ------------------------------------------------------------------------------------------


def test_wait_for_terminal_reports_each_status_change(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.get(
        GET_URL,
        [
            {"json": instance(None)},
            {"json": instance("IN_PROGRESS")},
            {"json": instance("IN_PROGRESS")},
            {"json": instance("CANCELED")},
        ],
    )
    seen: list[str | None] = []
    final = acme.wait_for_terminal(
        INSTANCE, timeout=5, poll_interval=0.001, on_status_change=lambda s: seen.append(s.status)
    )
    assert final.is_cancelled
    assert seen == [None, "IN_PROGRESS", "CANCELED"]


def test_wait_times_out_with_the_last_status(requests_mock: rm.Mocker, acme: DomoHook) -> None:
    requests_mock.get(GET_URL, json=instance("IN_PROGRESS"))
    with pytest.raises(WaitTimeoutError, match="within 0.05 s; last status IN_PROGRESS"):
        acme.wait_for_terminal(INSTANCE, timeout=0.05, poll_interval=0.01)


# -- async --------------------------------------------------------------------------------------------


@respx.mock
async def test_async_get_and_cancel(acme: DomoHook) -> None:
    get = respx.get(GET_URL).mock(return_value=httpx.Response(200, json=instance("CANCELED")))
    cancel = respx.post(CANCEL_URL).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=instance("IN_PROGRESS"))]
    )
    state = await acme.aget_state(INSTANCE)
    ack = await acme.arequest_cancel(INSTANCE)
    assert state.is_cancelled
    assert ack.state_at_request is not None
    assert ack.state_at_request.status == "IN_PROGRESS"
    assert get.calls.last.request.headers["X-DOMO-Developer-Token"] == TOKEN
    assert cancel.call_count == 2


# -- test_connection ----------------------------------------------------------------------------------

ME_URL = f"{BASE}/api/content/v2/users/me"


@pytest.mark.parametrize(
    ("response", "ok", "message"),
    [
        (
            {"json": {"id": 8811501, "displayName": "Service Account"}},
            True,
            "Connected to Domo at https://acme.domo.com as Service Account",
        ),
        ({"status_code": 401}, False, "Credentials rejected by Domo"),
        ({"status_code": 403}, False, "Credentials accepted but not allowed"),
        ({"status_code": 404}, False, "is the instance name right?"),
        ({"status_code": 503}, False, "Could not reach Domo"),
        ({"text": "<html>hello</html>"}, False, "Domo answered unexpectedly"),
    ],
)
def test_test_connection_tells_failures_apart(
    requests_mock: rm.Mocker, acme: DomoHook, response: dict[str, Any], ok: bool, message: str
) -> None:
    requests_mock.get(ME_URL, **response)
    result = acme.test_connection()
    assert result[0] is ok
    assert message in result[1]
    assert TOKEN not in result[1]


def test_test_connection_reports_a_bad_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_EMPTY", connection_json("domo", host="acme"))
    ok, message = DomoHook("domo_empty").test_connection()
    assert not ok
    assert message.startswith("Invalid connection settings")
