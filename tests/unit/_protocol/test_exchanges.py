"""The protocol's exchanges driven directly, step by step, with canned answers: no HTTP, no hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_wfcancel._http import ApiResponse, HttpSettings
from airflow_provider_wfcancel._protocol import domo
from airflow_provider_wfcancel._protocol.enos import exchanges as enos
from airflow_provider_wfcancel._protocol.enos.responses import GATEWAY_REJECTION_CODES
from airflow_provider_wfcancel._protocol.enos.signing import StaleTokenError
from airflow_provider_wfcancel._protocol.enos.tokens import CachedToken
from airflow_provider_wfcancel._protocol.exchange import Mask, Send, run_exchange
from airflow_provider_wfcancel.exceptions import ApiError, AuthenticationError, UnexpectedError, WfCancelError

DOMO = domo.DomoSettings(conn_id="d", base_url="https://acme.domo.com", http=HttpSettings(), token="t0ken")
ENOS = enos.EnosSettings(
    conn_id="e",
    base_url="https://gw.example.com",
    http=HttpSettings(),
    app_key="k",
    app_secret="s",
    org_id="o1",
)
IDENT = enos.Identity("u1", "o1")
TOKEN = CachedToken.issued("tok", 7200)

#: One step of a script: what the exchange must ask for (a step type, and for a send its method and path
#: suffix), and what it gets back (a value, or an error thrown in).
Expect = tuple[type, str, Any]


def answer(status: int, body: Any, send: Send) -> ApiResponse:
    return ApiResponse(status, {}, json.dumps(body).encode(), send.request, send.request.url and "svc")


def http_error(status: int, code: int | None = None) -> Callable[[Send], WfCancelError]:
    def build(send: Send) -> WfCancelError:
        response = ApiResponse(status, {}, b"{}", send.request, "svc")
        return response.error(
            error_class=AuthenticationError if code in GATEWAY_REJECTION_CODES else None,
            service_code=code,
        )

    return build


def script(exchange: Any, steps: list[Expect]) -> Any:
    """Drive ``exchange`` through ``steps`` in order; it must ask for exactly these, then return."""
    remaining = list(steps)

    def perform(step: Any) -> Any:
        assert remaining, f"unexpected extra step {step!r}"
        kind, where, reply = remaining.pop(0)
        assert isinstance(step, kind), f"expected {kind.__name__}, got {step!r}"
        if isinstance(step, Send):
            assert f"{step.request.method} {step.request.url}".endswith(where), step.request.describe()
        if callable(reply):
            reply = reply(step)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    result = run_exchange(exchange, perform)
    assert not remaining, f"steps never asked for: {remaining}"
    return result


def ok(status: int, body: Any) -> Callable[[Send], ApiResponse]:
    return lambda send: answer(status, body, send)


@pytest.mark.parametrize(
    ("case", "steps", "outcome"),
    [
        (
            "accepted",
            [
                (
                    Send,
                    "POST https://acme.domo.com/api/workflow/v1/instances/i-1/cancel",
                    ok(200, {"id": "i-1", "status": "IN_PROGRESS"}),
                )
            ],
            ("IN_PROGRESS", False),
        ),
        (
            "finished before the cancel",
            [(Send, "/instances/i-1/cancel", ok(200, {"id": "i-1", "status": "COMPLETED"}))],
            ("COMPLETED", True),
        ),
        (
            "refused, and the lookup finds it finished",
            [
                (Send, "POST https://acme.domo.com/api/workflow/v1/instances/i-1/cancel", http_error(409)),
                (
                    Send,
                    "GET https://acme.domo.com/api/workflow/v1/instances/i-1",
                    ok(200, {"id": "i-1", "status": "CANCELED"}),
                ),
            ],
            ("CANCELED", True),
        ),
        (
            "refused, and the lookup finds it running",
            [
                (Send, "/instances/i-1/cancel", http_error(400)),
                (Send, "/instances/i-1", ok(200, {"id": "i-1", "status": "IN_PROGRESS"})),
            ],
            ApiError,
        ),
        (
            "refused, and the lookup fails",
            [(Send, "/instances/i-1/cancel", http_error(409)), (Send, "/instances/i-1", http_error(503))],
            ApiError,
        ),
        ("not found is not looked up", [(Send, "/instances/i-1/cancel", http_error(404))], WfCancelError),
    ],
)
def test_domo_cancel(case: str, steps: list[Expect], outcome: Any) -> None:
    exchange = domo.cancel(DOMO, "i-1")
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            script(exchange, steps)
        return
    ack = script(exchange, steps)
    assert (ack.state_at_request.status, ack.already_finished) == outcome


CALL = enos.batch_request(ENOS, "flowInstances", "get", IDENT, extra_params={"flowInstId": "1-12345678"})
GOOD = {"code": 0, "msg": "OK", "data": {"instanceId": "1-12345678", "status": 2}}


@pytest.mark.parametrize(
    ("case", "steps", "outcome"),
    [
        ("signed once", [(enos.AccessToken, "", TOKEN), (Send, "flowInstances", ok(200, GOOD))], GOOD),
        (
            "token rejected once: dropped, renewed, repeated",
            [
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", http_error(200, 1203)),
                (enos.DropToken, "", None),
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", ok(200, GOOD)),
            ],
            GOOD,
        ),
        (
            "token rejected twice",
            [
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", http_error(401)),
                (enos.DropToken, "", None),
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", http_error(401)),
            ],
            "rejected the access token even after getting a new one",
        ),
        (
            "token expired while waiting to be sent: renewed without counting as a rejection",
            [
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", StaleTokenError("expired")),
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", http_error(401)),
                (enos.DropToken, "", None),
                (enos.AccessToken, "", TOKEN),
                (Send, "flowInstances", ok(200, GOOD)),
            ],
            GOOD,
        ),
        (
            "any other error is not a token problem",
            [(enos.AccessToken, "", TOKEN), (Send, "flowInstances", http_error(500))],
            "kept failing",
        ),
    ],
)
def test_enos_signed_call(case: str, steps: list[Expect], outcome: Any) -> None:
    exchange = enos.call(ENOS, CALL)
    if isinstance(outcome, str):
        with pytest.raises(WfCancelError, match=outcome):
            script(exchange, steps)
        return
    assert script(exchange, steps) == outcome


def test_enos_token_fetch_masks_the_new_token_before_returning_it() -> None:
    token_answer = {"status": 0, "data": {"accessToken": "fresh-token", "expire": 600}}
    fetched = script(
        enos.fetch_token(ENOS, None),
        [
            (Send, "POST https://gw.example.com/apim-token-service/v2.0/token/get", ok(200, token_answer)),
            (Mask, "", None),
        ],
    )
    assert (fetched.token, fetched.expires_at - fetched.renew_at) == ("fresh-token", pytest.approx(60, abs=1))


def test_a_reused_encryption_is_answered_once_more_with_a_fresh_timestamp() -> None:
    def reused(send: Send) -> WfCancelError:
        return ApiResponse(200, {}, b"{}", send.request, "EnOS").error(service_code=1001)

    first_and_second: list[bytes] = []

    def fresh(send: Send) -> ApiResponse:
        first_and_second.append(send.request.body or b"")
        return answer(200, {"status": 0, "data": {"accessToken": "t2"}}, send)

    fetched = script(
        enos.fetch_token(ENOS, None),
        [
            (Send, "/token/get", lambda s: first_and_second.append(s.request.body or b"") or reused(s)),
            (Send, "/token/get", fresh),
            (Mask, "", None),
        ],
    )
    assert fetched.token == "t2"
    assert json.loads(first_and_second[0])["timestamp"] < json.loads(first_and_second[1])["timestamp"]


def test_failures_outside_the_hierarchy_become_unexpected_errors() -> None:
    def broken(settings: Any) -> Any:
        yield Send(enos.token_request(settings, None))
        raise KeyError("parser bug")

    with pytest.raises(UnexpectedError, match="KeyError") as caught:
        script(broken(ENOS), [(Send, "/token/get", None)])
    assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(
        UnexpectedError, match="unexpected RuntimeError while talking to the service: client bug"
    ):
        script(domo.get(DOMO, "i-1"), [(Send, "/instances/i-1", RuntimeError("client bug"))])
