"""The cancel operators' waits back off like the start operators' (tests/integration/test_backoff.py): a
single cancel waiting in the worker, and a bulk cancel's rounds of reads."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.operators.bulk import DomoBulkCancelOperator
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator
from tests.poll_sleeps import record, steps_of

BASES = [0.05, 0.1, 0.2, 0.4]
BACKOFF = {"poll_interval": BASES[0], "max_poll_interval": BASES[-1]}


def assert_grows_to_the_cap(sleeps: list[float]) -> None:
    steps = steps_of(sleeps, BASES)
    assert steps == [min(n, len(BASES) - 1) for n in range(len(steps))], sleeps
    assert steps.count(len(BASES) - 1) >= 2, sleeps


def test_a_cancel_operator_waiting_in_the_worker(
    emu: Any, domo_conn: str, context: dict[str, Any], mocker: Any
) -> None:
    emu.control.configure(domo_cancel_delay=1.6)
    instance_id = emu.control.create_domo_instance(status="IN_PROGRESS")["id"]
    sleeps = record(mocker)
    result = DomoCancelWorkflowOperator(task_id="cancel", instance_id=instance_id, **BACKOFF).execute(context)
    assert result["outcome"] == "cancelled"
    assert_grows_to_the_cap(sleeps)


def test_a_bulk_cancel_waiting_for_every_instance(
    emu: Any, domo_conn: str, context: dict[str, Any], mocker: Any
) -> None:
    emu.control.configure(domo_cancel_delay=1.6)
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(2)]
    sleeps = record(mocker)
    result = DomoBulkCancelOperator(
        task_id="bulk", instance_ids=ids, wait_for_termination=True, **BACKOFF
    ).execute(context)
    assert result["counts"]["cancelled"] == 2
    assert_grows_to_the_cap(sleeps)
