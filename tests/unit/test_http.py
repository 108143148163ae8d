"""The shared HTTP policy, exercised at the transport (requests-mock and respx), sync and async alike."""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import httpx
import pytest
import requests
import requests_mock as rm
import respx

from airflow_provider_wfcancel import _http
from airflow_provider_wfcancel._http import (
    USER_AGENT,
    ApiRequest,
    ApiResponse,
    AsyncTransport,
    HttpSettings,
    RetryPolicy,
    SyncTransport,
    is_retryable,
    parse_retry_after,
)
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    CertificateVerificationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    WfCancelError,
)
from tests.conftest import TlsServer

URL = "https://svc.example.com/api/thing"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff delays instead of sleeping them."""
    recorded: list[float] = []

    async def fake_async_sleep(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr(_http.transport, "_sleep", recorded.append)
    monkeypatch.setattr(_http.transport, "_asleep", fake_async_sleep)
    return recorded


def transport(max_attempts: int = 4, **policy: Any) -> SyncTransport:
    return SyncTransport("Svc", HttpSettings(retry=RetryPolicy(max_attempts=max_attempts, **policy)))


def async_transport(max_attempts: int = 4, **policy: Any) -> AsyncTransport:
    return AsyncTransport("Svc", HttpSettings(retry=RetryPolicy(max_attempts=max_attempts, **policy)))


class StaticAuth:
    def headers(self, request: ApiRequest) -> dict[str, str]:
        return {"X-Key": "k"}

    async def aheaders(self, request: ApiRequest) -> dict[str, str]:
        return self.headers(request)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_until_success(
    requests_mock: rm.Mocker, sleeps: list[float], status: int
) -> None:
    requests_mock.post(URL, [{"status_code": status}, {"status_code": status}, {"json": {"ok": True}}])
    response = transport().send(ApiRequest("POST", URL))
    assert response.json() == {"ok": True}
    assert requests_mock.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("first_attempt", "may_have_applied"),
    [
        ({"exc": requests.exceptions.ReadTimeout}, True),  # sent, answer lost
        ({"exc": requests.exceptions.ChunkedEncodingError}, True),
        ({"status_code": 502}, True),
        ({"status_code": 500}, True),
        ({"exc": requests.exceptions.ConnectTimeout}, False),  # never reached the server
        ({"status_code": 503}, False),  # refused unprocessed
        ({"status_code": 429}, False),
    ],
)
def test_a_retried_response_says_whether_an_earlier_attempt_may_have_applied(
    requests_mock: rm.Mocker, sleeps: list[float], first_attempt: dict[str, Any], may_have_applied: bool
) -> None:
    requests_mock.get(URL, [first_attempt, {"json": {"ok": True}}])
    response = transport().send(ApiRequest("GET", URL))
    assert response.earlier_attempt_may_have_applied is may_have_applied


def test_a_first_time_answer_and_its_error_say_no_earlier_attempt(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, json={"ok": True})
    assert transport().send(ApiRequest("GET", URL)).earlier_attempt_may_have_applied is False
    requests_mock.get(URL, status_code=404)
    with pytest.raises(NotFoundError) as error:
        transport().send(ApiRequest("GET", URL))
    assert error.value.earlier_attempt_may_have_applied is False


def test_an_error_after_a_lost_answer_says_an_earlier_attempt_may_have_applied(
    requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(URL, [{"exc": requests.exceptions.ReadTimeout}, {"status_code": 409}])
    with pytest.raises(ApiError) as error:
        transport().send(ApiRequest("GET", URL))
    assert error.value.earlier_attempt_may_have_applied is True


@respx.mock
async def test_async_responses_carry_the_same_flag(sleeps: list[float]) -> None:
    respx.get(URL).mock(side_effect=[httpx.ReadTimeout("lost"), httpx.Response(200, json={})])
    response = await async_transport().send(ApiRequest("GET", URL))
    assert response.earlier_attempt_may_have_applied is True


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ApiError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ApiError),
    ],
)
def test_other_client_errors_are_final_after_one_request(
    requests_mock: rm.Mocker, sleeps: list[float], status: int, error: type[WfCancelError]
) -> None:
    requests_mock.post(URL, status_code=status, text='{"message": "nope"}')
    with pytest.raises(error) as caught:
        transport().send(ApiRequest("POST", URL))
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert caught.value.http_status == status
    assert f"POST {URL}" in str(caught.value)


def test_persistent_5xx_stops_at_max_attempts_with_transient_error(
    requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(URL, status_code=503, headers={"X-Request-Id": "req-42"})
    with pytest.raises(TransientError) as caught:
        transport(max_attempts=3).send(ApiRequest("GET", URL))
    assert requests_mock.call_count == 3
    assert "after 3 attempts" in str(caught.value)
    assert "request id req-42" in str(caught.value)


def test_persistent_429_becomes_rate_limited_error(requests_mock: rm.Mocker, sleeps: list[float]) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitedError):
        transport(max_attempts=2).send(ApiRequest("GET", URL))
    assert sleeps == [1.0]


def test_retry_after_seconds_is_honoured(requests_mock: rm.Mocker, sleeps: list[float]) -> None:
    requests_mock.get(URL, [{"status_code": 429, "headers": {"Retry-After": "3"}}, {"json": {}}])
    transport().send(ApiRequest("GET", URL))
    assert sleeps == [3.0]


def test_retry_after_http_date_is_honoured(requests_mock: rm.Mocker, sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    requests_mock.get(URL, [{"status_code": 503, "headers": {"Retry-After": when}}, {"json": {}}])
    transport().send(ApiRequest("GET", URL))
    assert len(sleeps) == 1
    assert 3.5 <= sleeps[0] <= 5.0


def test_retry_after_is_capped(requests_mock: rm.Mocker, sleeps: list[float]) -> None:
    requests_mock.get(URL, [{"status_code": 429, "headers": {"Retry-After": "3600"}}, {"json": {}}])
    transport(retry_after_cap=7, max_elapsed=100).send(ApiRequest("GET", URL))
    assert sleeps == [7.0]


def test_wait_that_would_exceed_total_budget_is_not_taken(
    requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(URL, status_code=429, headers={"Retry-After": "20"})
    with pytest.raises(RateLimitedError):
        transport(max_elapsed=10).send(ApiRequest("GET", URL))
    assert requests_mock.call_count == 1
    assert sleeps == []


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=4.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0), (6, 4.0)]:
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)


def test_connection_errors_and_timeouts_are_retried(requests_mock: rm.Mocker, sleeps: list[float]) -> None:
    requests_mock.get(
        URL,
        [
            {"exc": requests.exceptions.ConnectionError("refused")},
            {"exc": requests.exceptions.ReadTimeout("slow")},
            {"exc": requests.exceptions.ChunkedEncodingError("cut")},
            {"json": {"ok": 1}},
        ],
    )
    assert transport().send(ApiRequest("GET", URL)).json() == {"ok": 1}
    assert requests_mock.call_count == 4


def test_exhausted_connection_errors_raise_transient_error(
    requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.get(URL, exc=requests.exceptions.ConnectTimeout("no route"))
    with pytest.raises(TransientError, match=r"could not be reached \(ConnectTimeout\) after 2 attempt"):
        transport(max_attempts=2).send(ApiRequest("GET", URL))


@pytest.mark.parametrize(
    ("outcome", "retried"),
    [
        ({"status_code": 500}, False),
        ({"status_code": 502}, False),
        ({"status_code": 503}, True),
        ({"status_code": 429}, True),
        ({"exc": requests.exceptions.ReadTimeout("maybe applied")}, False),
        ({"exc": requests.exceptions.ConnectTimeout("never sent")}, True),
    ],
)
def test_non_idempotent_requests_are_resent_only_when_surely_unprocessed(
    requests_mock: rm.Mocker, sleeps: list[float], outcome: dict[str, Any], retried: bool
) -> None:
    requests_mock.post(URL, [outcome, {"json": {"id": "new"}}])
    request = ApiRequest.with_json("POST", URL, {"a": 1}, idempotent=False)
    if retried:
        transport().send(request)
    else:
        with pytest.raises(WfCancelError):
            transport().send(request)
    assert requests_mock.call_count == (2 if retried else 1)


def test_request_carries_user_agent_auth_and_exact_body(requests_mock: rm.Mocker) -> None:
    requests_mock.post(URL, json={})
    request = ApiRequest.with_json("POST", URL, {"flowInstId": "1-2", "名": "é"}, params={"b": "2", "a": "1"})
    transport().send(request, StaticAuth())
    sent = requests_mock.last_request
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["X-Key"] == "k"
    assert sent.body == request.body == '{"flowInstId":"1-2","名":"é"}'.encode()
    assert sent.query == "b=2&a=1"
    assert sent.verify not in (False, None)  # on; the environment may name a CA bundle


def test_redirects_are_not_followed(requests_mock: rm.Mocker) -> None:
    requests_mock.get(URL, status_code=302, headers={"Location": "https://elsewhere.example.com/"})
    with pytest.raises(ApiError):
        transport().send(ApiRequest("GET", URL))


def test_invalid_json_names_the_request() -> None:
    response = ApiResponse(200, {}, b'{"status": "IN_PR', ApiRequest("GET", URL))
    with pytest.raises(ApiError, match="not valid JSON.*GET https://svc.example.com/api/thing"):
        response.json()


def test_classifier_turns_a_2xx_into_an_error_and_transient_ones_are_retried(
    requests_mock: rm.Mocker, sleeps: list[float]
) -> None:
    requests_mock.post(URL, [{"json": {"code": 1}}, {"json": {"code": 2}}, {"json": {"code": 0}}])

    def classify(response: ApiResponse) -> WfCancelError | None:
        code = response.json()["code"]
        return {1: TransientError("busy"), 2: TransientError("busy")}.get(code)

    assert transport().send(ApiRequest("POST", URL), classify=classify).json() == {"code": 0}
    assert requests_mock.call_count == 3

    requests_mock.post(URL, json={"code": 9})
    with pytest.raises(ApiError, match="refused"):
        transport().send(ApiRequest("POST", URL), classify=lambda r: ApiError("refused"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("0", 0.0), (" 12 ", 12.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_the_retry_predicate() -> None:
    assert is_retryable(status_code=503)
    assert not is_retryable(status_code=501)
    assert not is_retryable(status_code=404)
    assert is_retryable(transient_error=True)
    assert not is_retryable(transient_error=True, idempotent=False)
    assert is_retryable(transport_error=httpx.ReadTimeout("x"))
    assert not is_retryable(transport_error=httpx.ReadTimeout("x"), idempotent=False)
    assert is_retryable(transport_error=httpx.ConnectError("x"), idempotent=False)


# -- async: the same policy through httpx ------------------------------------------------------------


@respx.mock
async def test_async_retries_the_same_way(sleeps: list[float]) -> None:
    route = respx.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.ConnectError("refused"),
            httpx.Response(500),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    response = await async_transport().send(ApiRequest("GET", URL), StaticAuth())
    assert response.json() == {"ok": True}
    assert route.call_count == 4
    assert sleeps[0] == 2.0
    assert route.calls.last.request.headers["X-Key"] == "k"
    assert route.calls.last.request.headers["User-Agent"] == USER_AGENT


@respx.mock
@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (404, NotFoundError), (400, ApiError)]
)
async def test_async_client_errors_are_final(
    sleeps: list[float], status: int, error: type[WfCancelError]
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(status))
    with pytest.raises(error):
        await async_transport().send(ApiRequest("POST", URL))
    assert route.call_count == 1


@respx.mock
async def test_async_persistent_timeouts_raise_transient_error(sleeps: list[float]) -> None:
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="ReadTimeout"):
        await async_transport(max_attempts=3).send(ApiRequest("GET", URL))
    assert len(sleeps) == 2


@respx.mock
async def test_async_requests_in_flight_are_bounded_per_event_loop() -> None:
    in_flight = peak = 0

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={})

    respx.get(URL).mock(side_effect=slow_answer)
    requests_sent = 3 * _http.transport.MAX_CONCURRENT_ASYNC_REQUESTS
    # Separate transports, as separate triggers have: the bound is the event loop's, not a transport's.
    responses = await asyncio.gather(
        *(async_transport().send(ApiRequest("GET", URL)) for _ in range(requests_sent))
    )
    assert [r.status_code for r in responses] == [200] * requests_sent
    assert peak == _http.transport.MAX_CONCURRENT_ASYNC_REQUESTS


async def test_async_client_is_shared_per_event_loop() -> None:
    settings = HttpSettings()
    assert _http.transport._shared_async_client(settings) is _http.transport._shared_async_client(settings)


# -- TLS ------------------------------------------------------------------------------------------------------


def test_an_untrusted_certificate_fails_at_once_and_says_how_to_trust_it(
    tls_server: TlsServer, sleeps: list[float]
) -> None:
    with pytest.raises(CertificateVerificationError, match="ca_bundle") as caught:
        transport().send(ApiRequest("GET", tls_server.url))
    assert tls_server.handshakes == 1
    assert sleeps == []
    assert "self-signed certificate" in str(caught.value)
    settings = HttpSettings(verify=str(tls_server.cert_path))
    assert SyncTransport("Svc", settings).send(ApiRequest("GET", tls_server.url)).json() == {"ok": True}


async def test_async_untrusted_certificate_fails_at_once_too(
    tls_server: TlsServer, sleeps: list[float]
) -> None:
    with pytest.raises(CertificateVerificationError, match="ca_bundle"):
        await async_transport().send(ApiRequest("GET", tls_server.url))
    assert tls_server.handshakes == 1
    assert sleeps == []
    settings = HttpSettings(verify=str(tls_server.cert_path))
    response = await AsyncTransport("Svc", settings).send(ApiRequest("GET", tls_server.url))
    assert response.json() == {"ok": True}


def test_requests_and_responses_keep_secrets_out_of_repr() -> None:
    request = ApiRequest.with_json(
        "POST", URL, {"secret": "body-SENTINEL"}, headers={"X-Token": "hdr-SENTINEL"}
    )
    response = ApiResponse(200, {"x-token": "hdr-SENTINEL"}, b'{"accessToken": "tok-SENTINEL"}', request)
    assert "SENTINEL" not in repr(request)
    assert "SENTINEL" not in repr(response)
