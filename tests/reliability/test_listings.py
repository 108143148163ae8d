"""Listings that trust no server to end, and time windows that fail closed: the cancel-all operators,
hooks and notifiers against scripted servers (transport mocks). One test per row of ``listing_cases.py``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_wfcancel.exceptions import ListingIncompleteError
from airflow_provider_wfcancel.hooks import _listing
from airflow_provider_wfcancel.hooks._listing import ListingBounds
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.notifications.bulk import DomoCancelAllRunningNotifier
from airflow_provider_wfcancel.operators.bulk import (
    DomoCancelAllRunningOperator,
    EnosCancelAllRunningOperator,
)
from tests.conftest import connection_json
from tests.reliability.listing_cases import LISTING_CASES, ListingCase

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"
DOMO = "https://acme.domo.com/api/workflow/v1/instances"
DOMO_CANCEL = re.compile(r"https://acme\.domo\.com/api/workflow/v1/instances/[^/]+/cancel")
GATEWAY = "https://apim.example.com"
SEARCH = f"{GATEWAY}/batch-processing-service/v2.1/flowInstances?action=search"
ENOS_CANCEL = f"{GATEWAY}/batch-processing-service/v2.1/flowInstances?action=cancel"
FLOW = 3377
WINDOW = {"started_after": "2026-12-07T06:00:00Z", "started_before": "2026-12-07T07:00:00Z"}


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json(
            "domo", host="https://acme.domo.com", password="scripted-token", extra={"max_retries": 0}
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ENOS_DEFAULT",
        connection_json(
            "enos",
            host=GATEWAY,
            login="scripted-key",
            password="scripted-secret",
            extra={"org_id": "o1", "user_id": "u1", "max_retries": 0},
        ),
    )


def small_bounds(monkeypatch: pytest.MonkeyPatch, **bounds: Any) -> None:
    monkeypatch.setattr(_listing, "DEFAULT_BOUNDS", ListingBounds(**bounds))


def domo_instance(
    n: int, status: str = "IN_PROGRESS", created: Any = "2026-12-07T06:30:00.000Z"
) -> dict[str, Any]:
    body = {"id": f"inst-{n:06d}", "modelId": MODEL, "modelVersion": "1.0.0", "status": status}
    return body if created is None else {**body, "createdOn": created}


def enos_instance(n: int, trigger: Any = "2026-12-07 06:30:00") -> dict[str, Any]:
    body = {"instanceId": f"{FLOW}-2026{n:010d}", "flowId": FLOW, "status": 2, "statusDesc": "RUNNING"}
    return body if trigger is None else {**body, "triggerTime": trigger}


def offset(request: Any) -> int:
    return int(request.qs["offset"][0])


def serve_domo(requests_mock: rm.Mocker, page: Callable[[int], list[dict[str, Any]]]) -> tuple[Any, Any]:
    listing = requests_mock.get(DOMO, json=lambda request, context: page(offset(request)))
    cancel = requests_mock.post(DOMO_CANCEL, json={"status": "IN_PROGRESS"})
    return listing, cancel


def serve_enos(requests_mock: rm.Mocker, page: Callable[[int], dict[str, Any]]) -> tuple[Any, Any]:
    requests_mock.post(
        f"{GATEWAY}/apim-token-service/v2.0/token/get",
        json={"status": 0, "msg": "SUCCESS", "data": {"accessToken": "scripted-access", "expire": 7200}},
    )

    def search(request: Any, context: Any) -> dict[str, Any]:
        return {"code": 0, "msg": "OK", "data": page(json.loads(request.body)["pagination"]["pageNo"])}

    listing = requests_mock.post(SEARCH, json=search)
    cancel = requests_mock.post(ENOS_CANCEL, json={"code": 0, "msg": "OK", "data": ""})
    return listing, cancel


# -- one scenario per row ------------------------------------------------------------------------------------


def domo_list_ignores_offset(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    listing, cancel = serve_domo(requests_mock, lambda _: [domo_instance(n) for n in range(500)])
    op = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, max_instances=1000)
    with pytest.raises(ListingIncompleteError, match="page 2 held no instance .* ignores paging"):
        op.execute(context)
    assert (listing.call_count, cancel.call_count) == (2, 0)


def domo_list_endless_history(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    small_bounds(monkeypatch, max_pages=5)
    listing, cancel = serve_domo(
        requests_mock, lambda start: [domo_instance(start + n, "COMPLETED") for n in range(500)]
    )
    with pytest.raises(ListingIncompleteError, match=r"page cap \(5 pages\)"):
        DomoCancelAllRunningOperator(task_id="all", model_id=MODEL).execute(context)
    assert (listing.call_count, cancel.call_count) == (5, 0)


def domo_list_past_deadline(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    small_bounds(monkeypatch, deadline=0.0)
    listing, cancel = serve_domo(
        requests_mock, lambda start: [domo_instance(start + n, "COMPLETED") for n in range(500)]
    )
    with pytest.raises(ListingIncompleteError, match=r"passed its deadline \(0 s\)"):
        DomoCancelAllRunningOperator(task_id="all", model_id=MODEL).execute(context)
    assert (listing.call_count, cancel.call_count) == (1, 0)


def domo_list_repeats_ids(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    listing, cancel = serve_domo(requests_mock, lambda start: [domo_instance(7)] * 3 if start == 0 else [])
    result = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, max_instances=1).execute(context)
    assert [row["instance_id"] for row in result["instances"]] == ["inst-000007"]
    assert (listing.call_count, cancel.call_count) == (2, 1)  # the second page is the empty one


def domo_list_short_pages(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    listing, _ = serve_domo(
        requests_mock, lambda start: [domo_instance(n) for n in range(start, min(start + 100, 250))]
    )
    result = DomoCancelAllRunningOperator(
        task_id="all", model_id=MODEL, max_instances=1000, dry_run=True
    ).execute(context)
    assert result["matched"] == 250
    assert [offset(request) for request in listing.request_history] == [0, 100, 200, 250]


def domo_window_unsorted(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    page = [
        domo_instance(1, "COMPLETED", created="2026-12-01T00:00:00Z"),  # old, listed first
        domo_instance(2, created="2026-12-07T06:10:00Z"),
        domo_instance(3, created="2026-12-07T06:20:00Z"),
    ]
    _, cancel = serve_domo(requests_mock, lambda start: page if start == 0 else [])
    result = DomoCancelAllRunningOperator(
        task_id="all", model_id=MODEL, started_after=WINDOW["started_after"]
    ).execute(context)
    assert sorted(row["instance_id"] for row in result["instances"]) == ["inst-000002", "inst-000003"]
    assert cancel.call_count == 2


def enos_search_ignores_pageno(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    listing, cancel = serve_enos(
        requests_mock, lambda _: {"flowInsts": [enos_instance(n) for n in range(100)], "count": 10**9}
    )
    op = EnosCancelAllRunningOperator(task_id="all", flow_id=FLOW, max_instances=10_000)
    with pytest.raises(ListingIncompleteError, match="page 2 held no instance"):
        op.execute(context)
    assert (listing.call_count, cancel.call_count) == (2, 0)


def enos_search_endless(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    small_bounds(monkeypatch, max_pages=4)
    listing, cancel = serve_enos(
        requests_mock,
        lambda page_no: {"flowInsts": [enos_instance(page_no * 100 + n) for n in range(100)], "count": 10**9},
    )
    op = EnosCancelAllRunningOperator(task_id="all", flow_id=FLOW, max_instances=10_000)
    with pytest.raises(ListingIncompleteError, match=r"page cap \(4 pages\)"):
        op.execute(context)
    assert (listing.call_count, cancel.call_count) == (4, 0)


def domo_notifier_endless_listing(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    listing, cancel = serve_domo(requests_mock, lambda _: [domo_instance(n) for n in range(500)])
    DomoCancelAllRunningNotifier(model_id=MODEL, max_instances=1000).notify(
        context
    )  # failure callback: logged
    assert listing.call_count == 2
    with pytest.raises(ListingIncompleteError, match="ignores paging"):
        DomoCancelAllRunningNotifier(model_id=MODEL, max_instances=1000).notify({})
    assert (listing.call_count, cancel.call_count) == (4, 0)


def domo_window_unreadable_times(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    page = [
        domo_instance(1, created="2026-12-07T06:10:00.000Z"),  # inside
        domo_instance(2, created=None),  # missing: excluded
        domo_instance(3, created=1796624400000),  # epoch ms, 2026-12-07T06:20:00Z: inside
        domo_instance(4, created="yesterday"),  # garbage: excluded
        domo_instance(5, created="2026-12-07 06:30:00"),  # naive, read as UTC: inside
        domo_instance(6, created="2026-12-07T08:00:00+01:00"),  # 07:00Z, the window's end: inside
        domo_instance(7, created="2026-12-07T07:30:00Z"),  # after the window
        domo_instance(8, created="2026-12-07T05:00:00Z"),  # before it
        domo_instance(9, created=0),  # an "unset" 0 (1970): implausible, excluded
        domo_instance(10, created="9999-12-31T00:00:00Z"),  # a far-future placeholder: excluded
    ]
    _, cancel = serve_domo(requests_mock, lambda start: page if start == 0 else [])
    result = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, dry_run=True, **WINDOW).execute(
        context
    )
    assert [row["instance_id"] for row in result["instances"]] == [f"inst-00000{n}" for n in (1, 3, 5, 6)]
    assert [row["instance_id"] for row in result["excluded"]] == [f"inst-{n:06d}" for n in (2, 4, 9, 10)]
    assert all(
        "start time is missing, unreadable or implausible" in row["reason"] for row in result["excluded"]
    )
    assert cancel.call_count == 0


def enos_window_unreadable_times(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    items = [
        enos_instance(1, trigger="2026-12-07 06:10:00"),  # inside
        enos_instance(2, trigger=1796624400000),  # epoch ms: inside
        enos_instance(3, trigger=None),  # missing: excluded
        enos_instance(4, trigger="07/12/2026 06:30"),  # unreadable: excluded
        enos_instance(
            5, trigger="2026-12-06 06:30:00"
        ),  # a day early: outside (the server ignored the range)
    ]
    _, cancel = serve_enos(requests_mock, lambda _: {"flowInsts": items, "count": len(items)})
    result = EnosCancelAllRunningOperator(task_id="all", flow_id=FLOW, **WINDOW).execute(context)
    assert [row["instance_id"] for row in result["instances"]] == [
        items[0]["instanceId"],
        items[1]["instanceId"],
    ]
    assert [row["instance_id"] for row in result["excluded"]] == [
        items[2]["instanceId"],
        items[3]["instanceId"],
    ]
    assert cancel.call_count == 2


def enos_search_without_count(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: Any
) -> None:
    sizes = {1: 100, 2: 100, 3: 50}

    def page(page_no: int) -> dict[str, Any]:
        first = (page_no - 1) * 100
        return {"flowInsts": [enos_instance(first + n) for n in range(sizes.get(page_no, 0))]}

    listing, _ = serve_enos(requests_mock, page)
    found = EnosHook().search_running(keep=lambda state: True)
    assert len(found) == 250
    assert listing.call_count == 3 * 4  # each flow type (the script answers all alike): 3 pages, 1 empty


SCENARIOS: dict[str, Callable[[rm.Mocker, pytest.MonkeyPatch, Any], None]] = {
    case.id: globals()[case.id.replace("-", "_")] for case in LISTING_CASES
}


@pytest.mark.parametrize("case", LISTING_CASES, ids=lambda case: case.id)
def test_listing_case(
    case: ListingCase, requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, context: dict[str, Any]
) -> None:
    SCENARIOS[case.id](requests_mock, monkeypatch, context)
