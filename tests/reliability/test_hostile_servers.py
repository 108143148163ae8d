"""Hostile servers (``cases.HOSTILE_CASES``): every answer ends in a provider error, in bounded time and
bytes, through both hooks and both transports, and no credential (nor anything derived from one) shows in
what the error says, its repr or its traceback."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel import exceptions
from airflow_provider_wfcancel._protocol.enos import exchanges as enos_exchanges
from airflow_provider_wfcancel._protocol.enos import signing
from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.reliability import hostile
from tests.reliability.cases import (
    HOSTILE_ATTEMPT_SECONDS,
    HOSTILE_CASES,
    HOSTILE_MAX_RESPONSE_BYTES,
    HostileCase,
    Service,
)
from tests.reliability.hostile import Behaviour, Connection, Request
from tests.reliability.support import DOMO_TOKEN, ENOS_APP_KEY, ENOS_APP_SECRET, set_connection

ACCESS_TOKEN = "SENTINEL-hostile-access-token-3e1f"
INSTANCE_IDS: dict[Service, str] = {
    "domo": "2052e10a-9b8c-4a6f-8d3e-000000000001",
    "enos": "2438-201908081020",
}
ROWS = [(case, service) for case in HOSTILE_CASES for service in case.services]


def _good_token(request: Request, conn: Connection) -> None:
    conn.json({"status": 0, "msg": "SUCCESS", "data": {"accessToken": ACCESS_TOKEN, "expire": 7200}})


def _unusable_token(request: Request, conn: Connection) -> None:
    conn.json({"status": 0, "msg": "SUCCESS", "data": {"accessToken": "tok\r\nX-Evil: ü", "expire": 7200}})


def _chooser(case: HostileCase, service: Service) -> Callable[[Request], Behaviour]:
    def choose(request: Request) -> Behaviour:
        if service == "enos" and request.path.startswith("/apim-token-service"):
            return {"echo-token-request": hostile.echo_request, "bad-access-token": _unusable_token}.get(
                case.id, _good_token
            )
        return hostile.BEHAVIOURS[case.id]

    return choose


def _hook(service: Service, url: str, monkeypatch: pytest.MonkeyPatch) -> WorkflowServiceHook[Any]:
    extra = {
        "timeout": HOSTILE_ATTEMPT_SECONDS / 2,
        "max_retries": 0,
        "max_response_bytes": HOSTILE_MAX_RESPONSE_BYTES,
    }
    if service == "domo":
        set_connection(
            monkeypatch, "hostile", {"conn_type": "domo", "host": url, "password": DOMO_TOKEN, "extra": extra}
        )
        return DomoHook("hostile")
    conn = {
        "conn_type": "enos",
        "host": url,
        "login": ENOS_APP_KEY,
        "password": ENOS_APP_SECRET,
        "extra": {**extra, "org_id": "o15000000000001", "user_id": "u15000000000001"},
    }
    set_connection(monkeypatch, "hostile", conn)
    return EnosHook("hostile")


@pytest.fixture(autouse=True, scope="module")
def _bomb_ready() -> None:
    hostile.gzip_bomb()  # built once, before any client waits for it


def _derived_secret_spies(mocker: MockerFixture) -> list[Any]:
    """Record every signature and token-request ``encryption`` the EnOS hook computes."""
    return [mocker.spy(signing, "sign_request"), mocker.spy(enos_exchanges, "token_encryption")]


def _check(
    case: HostileCase, service: Service, error: BaseException, server: hostile.HostileServer, spies: list[Any]
) -> None:
    assert isinstance(error, exceptions.WfCancelError), f"{type(error).__name__} escaped the hierarchy"
    assert type(error).__name__ == case.error, str(error)
    assert case.message in str(error)
    shown = "\n".join([str(error), repr(error), *traceback.format_exception(error)])
    secrets = [
        DOMO_TOKEN,
        ENOS_APP_SECRET,
        ACCESS_TOKEN,
        *(spy.spy_return for spy in spies if spy.call_count),
    ]
    for secret in secrets:
        assert secret not in shown, f"a credential leaked into the error: {shown[:2000]}"
    calls = [r for r in server.requests if not r.path.startswith("/apim-token-service")]
    if case.id == "redirect":
        assert len(calls) == 1  # not followed
    if case.id == "giant-body-streamed":
        # The client hung up after about 1 MiB; what else was written sat in the kernel's socket buffers.
        assert max(c.bytes_sent for c in server.connections) < 64 * 1024 * 1024
    if case.id == "echo-request" and service == "enos":
        assert spies[0].call_count == 1  # the echo really carried a signature the error had to hide


@pytest.mark.parametrize(("case", "service"), ROWS, ids=[f"{s}-{c.id}" for c, s in ROWS])
def test_sync_hook_ends_with_a_provider_error(
    case: HostileCase, service: Service, monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    spies = _derived_secret_spies(mocker)
    with hostile.hostile_server(_chooser(case, service)) as server:
        hook = _hook(service, server.url, monkeypatch)
        with pytest.raises(Exception) as info:
            hook.get_state(INSTANCE_IDS[service])
    _check(case, service, info.value, server, spies)


@pytest.mark.parametrize(("case", "service"), ROWS, ids=[f"{s}-{c.id}" for c, s in ROWS])
async def test_async_hook_ends_with_a_provider_error(
    case: HostileCase, service: Service, monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    spies = _derived_secret_spies(mocker)
    with hostile.hostile_server(_chooser(case, service)) as server:
        hook = _hook(service, server.url, monkeypatch)
        with pytest.raises(Exception) as info:
            await hook.aget_state(INSTANCE_IDS[service])
    _check(case, service, info.value, server, spies)


def test_bulk_cancel_accounts_for_every_id_when_one_answer_is_poisoned(
    monkeypatch: pytest.MonkeyPatch, mocker: MockerFixture
) -> None:
    """101 ids: one answer is JSON too deep to parse, and the HTTP client blows up on another; the other
    99 are cancelled and every id gets its own line, in input order, and nothing is raised."""
    ids = [f"bulk-{i:03d}" for i in range(101)]

    def cancel_answer(request: Request, conn: Connection) -> None:
        instance_id = request.path.split("/")[-2]
        conn.json({"id": instance_id, "status": "IN_PROGRESS", "modelId": "m", "modelVersion": "1"})

    def choose(request: Request) -> Behaviour:
        return hostile.deep_json if "/bulk-042/" in request.path else cancel_answer

    import requests

    real_request = requests.Session.request

    def exploding_request(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        if "/bulk-077/" in url:
            raise RuntimeError("client bug")
        return real_request(self, method, url, **kwargs)

    mocker.patch.object(requests.Session, "request", exploding_request)
    with hostile.hostile_server(choose) as server:
        hook = _hook("domo", server.url, monkeypatch)
        results = hook.cancel_many(ids, max_workers=16)
    assert [item.instance_id for item in results] == ids
    failed = {item.instance_id: type(item.error).__name__ for item in results if not item.ok}
    assert failed == {"bulk-042": "ApiError", "bulk-077": "UnexpectedError"}
    assert all(item.ack is not None for item in results if item.ok)
