"""The rate-limit matrix (``cases.RATE_LIMIT_CASES``): bulk cancels and triggers at a throttling gateway.

Each row asserts what happened to every id (exactly one row each, in input order, the right outcome), how
many cancels the API itself received, that the gateway really pushed back, and that no secret reached a
log, an exception or XCom. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import WfCancelError
from airflow_provider_wfcancel.operators.bulk import DomoBulkCancelOperator, EnosBulkCancelOperator
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger
from tests.conftest import FakeTaskInstance
from tests.reliability.cases import RATE_LIMIT_CASES, RateLimitCase
from tests.reliability.support import (
    CONN_IDS,
    LeakScan,
    combined,
    connection,
    error_surfaces,
    json_surface,
    log_surfaces,
    set_connection,
)

CANCEL_ROUTE = {"domo": "domo.cancel", "enos": "enos.flowinstance.cancel"}
GET_ROUTE = {"domo": "domo.get", "enos": "enos.flowinstance.get"}
FINISHED = {"domo": "COMPLETED", "enos": "SUCCESS"}


def create(control: Any, case: RateLimitCase, **kwargs: Any) -> str:
    if case.service == "domo":
        return str(control.create_domo_instance(**kwargs)["id"])
    return str(control.create_enos_instance(**kwargs)["instanceId"])


def cancelled_id(entry: dict[str, Any]) -> str:
    if entry["route"] == "domo.cancel":
        return str(entry["path"].split("/")[-2])
    return str(json.loads(entry["body"])["flowInstId"])


def throttled(control: Any) -> int:
    return sum(1 for entry in control.requests() if entry["fault"] == "rate_limit")


@pytest.mark.parametrize("case", [c for c in RATE_LIMIT_CASES if c.kind == "bulk"], ids=lambda c: c.id)
def test_bulk_cancel_at_a_throttling_gateway(
    case: RateLimitCase,
    sentinel_emu: Any,
    leak_scan: LeakScan,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    control = sentinel_emu.control
    set_connection(monkeypatch, CONN_IDS[case.service], connection(case.service, sentinel_emu.base_url))
    status = "IN_PROGRESS" if case.service == "domo" else 2
    ids = [create(control, case, status=status) for _ in range(case.instances)]
    control.set_rate_limit(**case.limit)
    given = [*ids, *ids[: case.duplicates]]
    operator_class = DomoBulkCancelOperator if case.service == "domo" else EnosBulkCancelOperator
    conn_field = "domo_conn_id" if case.service == "domo" else "enos_conn_id"
    operator = operator_class(
        task_id="bulk",
        instance_ids=given,
        max_workers=case.max_workers,
        deadline=case.deadline,
        **{conn_field: CONN_IDS[case.service]},
    )
    context: dict[str, Any] = {"ti": FakeTaskInstance(), "params": {}}
    error: WfCancelError | None = None
    try:
        result = operator.execute(context)
    except WfCancelError as raised:
        error = raised
        result = context["ti"].xcoms["bulk_result"]

    assert [row["instance_id"] for row in result["instances"]] == ids
    outcomes = [row["outcome"] for row in result["instances"]]
    expected_ok = case.instances - case.deadline_errors
    assert outcomes == ["cancel_requested"] * expected_ok + ["error"] * case.deadline_errors
    for row in result["instances"][expected_ok:]:
        assert f"bulk deadline of {case.deadline:g} s reached" in row["error"]
    assert (error is not None) == bool(case.deadline_errors)
    accepted = [e for e in control.requests(CANCEL_ROUTE[case.service]) if e["fault"] is None]
    assert sorted(map(cancelled_id, accepted)) == sorted(ids[:expected_ok])  # each id reached the API once
    assert throttled(control) > 0
    if case.max_throttled is not None:
        assert throttled(control) <= case.max_throttled * len(control.requests())
    leak_scan.assert_clean(
        combined(
            [
                log_surfaces(caplog, capsys.readouterr()),
                error_surfaces(error),
                json_surface("XCom", context["ti"].xcoms),
                json_surface("return value", result),
            ]
        )
    )


async def _events(trigger: Any) -> list[Any]:
    return [event async for event in trigger.run()]


@pytest.mark.parametrize("case", [c for c in RATE_LIMIT_CASES if c.kind == "triggers"], ids=lambda c: c.id)
def test_triggers_of_one_loop_share_the_gateway_limiter(
    case: RateLimitCase, sentinel_emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = sentinel_emu.control
    set_connection(monkeypatch, CONN_IDS[case.service], connection(case.service, sentinel_emu.base_url))
    status = "IN_PROGRESS" if case.service == "domo" else 2
    ids = [create(control, case, status=status, runs_for=0.5) for _ in range(case.instances)]
    control.set_rate_limit(**case.limit)
    trigger_class = DomoInstanceTrigger if case.service == "domo" else EnosFlowInstanceTrigger
    deadline = time.time() + 60
    triggers = [
        trigger_class(conn_id=CONN_IDS[case.service], instance_id=i, deadline=deadline, poll_interval=0.2)
        for i in ids
    ]

    async def run_all() -> list[list[Any]]:
        return await asyncio.gather(*(_events(t) for t in triggers))

    results = asyncio.run(run_all())
    assert [[e.payload["status"] for e in events] for events in results] == [["success"]] * case.instances
    assert {events[0].payload["final_status"] for events in results} == {FINISHED[case.service]}
    assert [events[0].payload["instance_id"] for events in results] == ids
    assert throttled(control) > 0
    assert control.counts()[GET_ROUTE[case.service]] >= case.instances
