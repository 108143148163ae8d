"""The Remote instances API with sentinel credentials (``ui_cases.UI_CASES``): bad input is refused with
a status and a message naming the field before any request, a failing service maps to its status, and no
secret appears in what the API answers, what it logs, or what the emulator received."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.airflow_compat import PAGE, needs_airflow
from tests.reliability.support import (
    CONN_IDS,
    LeakScan,
    combined,
    connection,
    emulator_surfaces,
    enable_debug_logs,
    log_surfaces,
    set_connection,
)
from tests.reliability.ui_cases import UI_CASES, UiCase

pytestmark = needs_airflow((3, 1), PAGE)

PREFIX = "/wfcancel/api/connections"


def call(client: Any, headers: dict[str, str], case: UiCase) -> Any:
    conn = case.conn_id or CONN_IDS[case.service]
    if case.call == "version":
        return client.get("/api/v2/version", headers=headers)
    if case.call == "cancel":
        return client.post(f"{PREFIX}/{conn}/cancel", json=dict(case.body), headers=headers)
    if case.call == "get":
        return client.get(f"{PREFIX}/{conn}/instances/{case.instance_id}", headers=headers)
    if case.call == "incident":
        return client.get(
            f"{PREFIX.removesuffix('/connections')}/incident", params=dict(case.params), headers=headers
        )
    return client.get(f"{PREFIX}/{conn}/instances", params=dict(case.params), headers=headers)


@contextlib.contextmanager
def waiting_cancels(client: Any, headers: dict[str, str], case: UiCase, emu: Any) -> Iterator[list[Any]]:
    """``case.waiting`` page cancels, each of one running instance that does not end, all in their wait
    (each sent its cancel and read its instance once); on leaving, the instances end and the cancels
    answer."""
    emu.control.configure(domo_cancel_delay=3600)
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(case.waiting)]
    path = f"{PREFIX}/{CONN_IDS[case.service]}/cancel"
    with ThreadPoolExecutor(case.waiting) as senders:
        pending = [
            senders.submit(client.post, path, json={**case.body, "instance_ids": [i]}, headers=headers)
            for i in ids
        ]
        ends = time.monotonic() + 120
        while (counts := emu.control.counts()).get("domo.get", 0) < case.waiting or counts.get(
            "domo.cancel", 0
        ) < case.waiting:
            assert time.monotonic() < ends, f"the cancels did not all start waiting: {counts}"
            assert not any(f.done() for f in pending), [f.result().text for f in pending if f.done()]
            time.sleep(0.1)
        try:
            yield pending
        finally:
            with emu.app_state.locked() as now:
                for instance in emu.app_state.data.domo_instances.values():
                    instance.life.cancel_at = now


def response_surfaces(response: Any) -> dict[str, str]:
    return {"API response body": response.text, "API response headers": json.dumps(dict(response.headers))}


@pytest.mark.parametrize("case", UI_CASES, ids=lambda c: c.id)
def test_ui_api_case(
    case: UiCase,
    sentinel_emu: Any,
    leak_scan: LeakScan,
    client: Any,
    as_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    set_connection(monkeypatch, CONN_IDS[case.service], connection(case.service, sentinel_emu.base_url))
    if case.fault is not None:
        route, status = case.fault
        sentinel_emu.control.inject_fault(route, status=status, count=100)

    if case.waiting:
        with waiting_cancels(client, as_user("op"), case, sentinel_emu) as pending:
            response = call(client, as_user("op"), case)
            assert not any(future.done() for future in pending)  # answered while all of them wait
        assert [future.result().status_code for future in pending] == [200] * case.waiting
        counts = sentinel_emu.control.counts()
        assert {route: counts.get(route) for route in case.requests} == dict(case.requests)
    else:
        response = call(client, as_user("op"), case)
        assert sentinel_emu.control.counts() == dict(case.requests)

    assert response.status_code == case.status, response.text
    assert case.message in (response.json()["detail"] if case.status >= 400 else response.text)
    leak_scan.assert_clean(
        combined(
            [
                response_surfaces(response),
                log_surfaces(caplog, capsys.readouterr()),
                emulator_surfaces(sentinel_emu.control),
            ]
        )
    )


@pytest.mark.parametrize("service", ["domo", "enos"])
def test_listing_and_cancelling_leak_no_secret(
    service: str,
    sentinel_emu: Any,
    leak_scan: LeakScan,
    client: Any,
    as_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    set_connection(monkeypatch, CONN_IDS[service], connection(service, sentinel_emu.base_url))
    control = sentinel_emu.control
    if service == "domo":
        made = control.create_domo_instance(status="IN_PROGRESS")
        instance_id, params = made["id"], {"model_id": made["modelId"]}
    else:
        made = control.create_enos_instance(status=2)
        instance_id, params = made["instanceId"], {}
    headers = as_user("op")
    conn = CONN_IDS[service]

    listed = client.get(f"{PREFIX}/{conn}/instances", params=params, headers=headers)
    cancelled = client.post(
        f"{PREFIX}/{conn}/cancel", json={"instance_ids": [instance_id], "wait": True}, headers=headers
    )
    read = client.get(f"{PREFIX}/{conn}/instances/{instance_id}", headers=headers)
    connections = client.get("/wfcancel/api/connections", headers=headers)

    assert [r.status_code for r in (listed, cancelled, read, connections)] == [200, 200, 200, 200]
    assert [row["instance_id"] for row in listed.json()["instances"]] == [instance_id]
    assert cancelled.json()["counts"]["cancelled"] == 1
    assert read.json()["is_cancelled"] is True
    if service == "enos":
        assert leak_scan.signatures
        assert leak_scan.issued_tokens()
    leak_scan.assert_clean(
        combined(
            [
                *(response_surfaces(r) for r in (listed, cancelled, read, connections)),
                log_surfaces(caplog, capsys.readouterr()),
                emulator_surfaces(control),
            ]
        )
    )
