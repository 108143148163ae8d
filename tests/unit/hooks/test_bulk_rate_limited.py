"""Bulk cancel at a rate-limited gateway: a batch deadline, not a per-request attempt count."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from airflow_provider_wfcancel.exceptions import InvalidInputError, NotFoundError, RateLimitedError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.conftest import connection_json


@pytest.fixture
def no_retries(emu: Any, monkeypatch: pytest.MonkeyPatch) -> DomoHook:
    """A Domo hook whose requests are never resent by the transport: only the batch sends again."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_BULK",
        connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN, extra={"max_retries": 0}),
    )
    return DomoHook("domo_bulk")


def test_no_id_is_lost_to_429s_while_the_batch_deadline_lasts(emu: Any, no_retries: DomoHook) -> None:
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(12)]
    finished = emu.control.create_domo_instance(status="COMPLETED")["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    emu.control.set_rate_limit("domo", rate=5, burst=2, retry_after=0.2)  # under the initial rate
    wanted = [ids[0], *ids, finished, missing, ids[3]]  # duplicates are cancelled once
    items = no_retries.cancel_instances(wanted, max_workers=8, deadline=120)
    assert [item.instance_id for item in items] == [*ids, finished, missing]
    assert all(item.ok and item.ack and not item.ack.already_finished for item in items[:12])
    assert items[12].ack is not None
    assert items[12].ack.already_finished
    assert isinstance(items[13].error, NotFoundError)
    throttled = [e for e in emu.control.requests("domo.cancel") if e["fault"] == "rate_limit"]
    assert throttled  # the gateway did push back
    accepted = [e for e in emu.control.requests("domo.cancel") if e["fault"] is None]
    assert len(accepted) == 14  # each distinct id reached the API exactly once


def test_ids_still_throttled_at_the_deadline_fail_with_that_reason(emu: Any, no_retries: DomoHook) -> None:
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(3)]
    emu.control.set_rate_limit("domo.cancel", rate=0.001, burst=1, retry_after=0.1)
    items = no_retries.cancel_instances(ids, max_workers=1, deadline=1)
    assert [item.instance_id for item in items] == ids
    assert items[0].ok
    for item in items[1:]:
        assert isinstance(item.error, RateLimitedError)
        assert "bulk deadline of 1 s reached" in str(item.error)
    assert DEFAULT_DOMO_TOKEN not in " ".join(str(item.error) for item in items)


def test_enos_bulk_cancel_shares_the_gateway_limit_with_its_token_calls(emu: Any, enos_conn: str) -> None:
    ids = [emu.control.create_enos_instance(status=2)["instanceId"] for _ in range(6)]
    emu.control.set_rate_limit("enos", rate=5, burst=2, retry_after=0.2)
    items = EnosHook(enos_conn).cancel_flow_instances([*ids, ids[0]], max_workers=4, deadline=120)
    assert [item.instance_id for item in items] == ids
    assert all(item.ok for item in items)


@pytest.mark.parametrize("deadline", [0, -5, "soon", True])
def test_the_deadline_is_checked_before_any_request(emu: Any, no_retries: DomoHook, deadline: Any) -> None:
    with pytest.raises(InvalidInputError, match="deadline"):
        no_retries.cancel_instances(["a"], deadline=deadline)
    assert emu.control.requests() == []
