"""Bulk and cancel-all-running operators: one result schema for both services, checks before requests."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError, WfCancelError
from airflow_provider_wfcancel.operators.bulk import (
    DomoBulkCancelOperator,
    DomoCancelAllRunningOperator,
    EnosBulkCancelOperator,
    EnosCancelAllRunningOperator,
)

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"
OTHER_MODEL = "b8afdc89-1b2c-4d5e-8f90-1234567890ab"
SCHEMA = {"service", "dry_run", "matched", "counts", "instances", "excluded"}
COUNTS = {"cancelled", "cancel_requested", "already_finished", "error", "would_cancel"}


def test_domo_bulk_cancel_accounts_for_every_id_once(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    running = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(3)]
    finished = emu.control.create_domo_instance(status="COMPLETED")["id"]
    missing = "00000000-0000-4000-8000-000000000000"
    op = DomoBulkCancelOperator(
        task_id="bulk", instance_ids=[*running, running[0], finished, missing], fail_on_error=False
    )
    result = op.execute(context)
    assert set(result) == SCHEMA
    assert set(result["counts"]) == COUNTS
    assert result["service"] == "domo"
    assert result["matched"] == 5
    assert [row["instance_id"] for row in result["instances"]] == [*running, finished, missing]
    assert [row["outcome"] for row in result["instances"]] == [
        "cancel_requested",
        "cancel_requested",
        "cancel_requested",
        "already_finished",
        "error",
    ]
    assert result["counts"]["error"] == 1
    assert result["instances"][4]["error"]


def test_bulk_cancel_fails_on_error_after_pushing_the_result(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    op = DomoBulkCancelOperator(task_id="bulk", instance_ids=["00000000-0000-4000-8000-000000000000"])
    with pytest.raises(WfCancelError, match="1 of 1 Domo cancel"):
        op.execute(context)
    assert context["ti"].xcoms["bulk_result"]["counts"]["error"] == 1


def test_bulk_cancel_can_wait_until_every_instance_is_terminal(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    emu.control.configure(domo_cancel_delay=0.2)
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(2)]
    op = DomoBulkCancelOperator(
        task_id="bulk", instance_ids=ids, wait_for_termination=True, poll_interval=0.1
    )
    result = op.execute(context)
    assert result["counts"]["cancelled"] == 2
    assert {row["status"] for row in result["instances"]} == {"CANCELED"}


def test_domo_cancel_all_running_of_one_version_in_a_dry_run_cancels_nothing(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    v1 = [emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"] for _ in range(2)]
    emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL, model_version="2.0.0")
    emu.control.create_domo_instance(status="COMPLETED", model_id=MODEL)
    emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)
    op = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, version="1.0.0", dry_run=True)
    result = op.execute(context)
    assert result["dry_run"] is True
    assert sorted(row["instance_id"] for row in result["instances"]) == sorted(v1)
    assert result["counts"]["would_cancel"] == 2
    assert "domo.cancel" not in emu.control.counts()
    live = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL).execute(context)
    assert live["counts"]["cancel_requested"] == 3


def test_cancel_all_running_fails_before_any_cancel_above_max_instances(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    for _ in range(3):
        emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)
    op = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, max_instances=2)
    with pytest.raises(InvalidInputError, match="3 running Domo instances match, more than max_instances=2"):
        op.execute(context)
    assert "domo.cancel" not in emu.control.counts()


def test_enos_cancel_all_running_of_a_flow(emu: Any, enos_conn: str, context: dict[str, Any]) -> None:
    mine = [emu.control.create_enos_instance(status=2, flow_id=3377)["instanceId"] for _ in range(2)]
    emu.control.create_enos_instance(status=1, flow_id=3377)
    emu.control.create_enos_instance(status=2, flow_id=4488)
    result = EnosCancelAllRunningOperator(task_id="all", flow_id="3377").execute(context)
    assert result["service"] == "enos"
    assert sorted(row["instance_id"] for row in result["instances"]) == sorted(mine)
    assert result["counts"]["cancel_requested"] == 2
    ids = EnosBulkCancelOperator(task_id="bulk", instance_ids=mine).execute(context)
    assert set(ids) == SCHEMA


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_id": "not a model"}, "model_id"),
        ({"model_id": MODEL, "max_instances": 0}, "max_instances"),
        ({"model_id": MODEL, "dry_run": "perhaps"}, "dry_run"),
        (
            {
                "model_id": MODEL,
                "started_after": "2026-01-02T00:00:00Z",
                "started_before": "2026-01-01T00:00:00Z",
            },
            "started_before",
        ),
        ({"model_id": MODEL, "started_after": "yesterday"}, "started_after"),
    ],
)
def test_bad_filters_fail_before_any_request(
    emu: Any, domo_conn: str, context: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        DomoCancelAllRunningOperator(task_id="all", **kwargs).execute(context)
    assert emu.control.requests() == []


@pytest.mark.parametrize(
    ("ids", "message"),
    [([], "empty"), ("abc", "not one string"), ({"a": 1}, "list of ids"), (["ok", "b/d"], None)],
)
def test_bad_id_lists_fail_before_any_request(
    emu: Any, enos_conn: str, context: dict[str, Any], ids: Any, message: str | None
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        EnosBulkCancelOperator(task_id="bulk", instance_ids=ids).execute(context)
    assert emu.control.requests() == []


def test_a_bulk_cancel_given_a_dry_run_cancels_exactly_the_ids_it_listed(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    listed = [emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"] for _ in range(2)]
    plan = DomoCancelAllRunningOperator(task_id="all", model_id=MODEL, dry_run=True).execute(context)
    assert {row["status"] for row in plan["instances"]} == {"IN_PROGRESS"}
    assert all(row["started_at"] for row in plan["instances"])
    later = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"]

    result = DomoBulkCancelOperator(task_id="bulk", instance_ids=plan).execute(context)

    assert [row["instance_id"] for row in result["instances"]] == [
        row["instance_id"] for row in plan["instances"]
    ]
    assert sorted(row["instance_id"] for row in result["instances"]) == sorted(listed)
    assert result["counts"]["cancel_requested"] == 2
    assert emu.control.domo_instance(later)["status"] == "IN_PROGRESS"
    assert emu.control.counts()["domo.cancel"] == 2


def test_a_bulk_cancel_of_one_model_cancels_nothing_when_an_id_is_of_another(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    mine = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"]
    other = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=OTHER_MODEL)["id"]
    op = DomoBulkCancelOperator(task_id="bulk", instance_ids=[mine, other], model_id=MODEL)
    with pytest.raises(InvalidInputError, match=f"1 of 2 are not instances of .*{other} is of model"):
        op.execute(context)
    assert "domo.cancel" not in emu.control.counts()
    op = DomoBulkCancelOperator(task_id="bulk", instance_ids=[mine], model_id=MODEL, version="1.0.0")
    assert op.execute(context)["counts"]["cancel_requested"] == 1


def test_a_bulk_cancel_of_one_flow_checks_each_id_before_any_cancel(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    mine = emu.control.create_enos_instance(status=2, flow_id=3377)["instanceId"]
    other = emu.control.create_enos_instance(status=2, flow_id=4488)["instanceId"]
    op = EnosBulkCancelOperator(task_id="bulk", instance_ids=[mine, other], flow_id="3377")
    with pytest.raises(InvalidInputError, match="1 of 2 are not instances of"):
        op.execute(context)
    assert "enos.flowinstance.cancel" not in emu.control.counts()
    result = EnosBulkCancelOperator(task_id="bulk", instance_ids=[mine], flow_id=3377).execute(context)
    assert result["counts"]["cancel_requested"] == 1


def test_a_dry_run_that_listed_nothing_cancels_nothing(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    plan = EnosCancelAllRunningOperator(task_id="all", flow_id="3377", dry_run=True).execute(context)
    result = EnosBulkCancelOperator(task_id="bulk", instance_ids=plan).execute(context)
    assert (result["matched"], result["dry_run"], result["instances"]) == (0, False, [])
    assert "enos.flowinstance.cancel" not in emu.control.counts()


DRY_RUN = {"service": "domo", "dry_run": True, "matched": 1, "counts": {}, "excluded": []}
ROW = {"instance_id": "5b6c1d2e-0000-4000-8000-00000000beef", "outcome": "would_cancel"}


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({**DRY_RUN, "dry_run": False, "instances": [ROW]}, "result of a domo cancel-all dry run"),
        ({**DRY_RUN, "service": "enos", "instances": [ROW]}, "service 'enos'"),
        ({**DRY_RUN, "instances": [{**ROW, "outcome": "cancelled"}]}, "outcome 'would_cancel'"),
        ({**DRY_RUN, "instances": "5b6c1d2e"}, "must be a list of rows"),
        ({**DRY_RUN, "instances": [{**ROW, "instance_id": "../users/me"}]}, None),
    ],
)
def test_what_is_not_a_dry_run_of_this_service_fails_before_any_request(
    emu: Any, domo_conn: str, context: dict[str, Any], plan: dict[str, Any], message: str | None
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        DomoBulkCancelOperator(task_id="bulk", instance_ids=plan).execute(context)
    assert emu.control.requests() == []


def test_a_malformed_flow_id_fails_before_any_request(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="flow_id"):
        EnosCancelAllRunningOperator(task_id="all", flow_id="33x7").execute(context)
    assert emu.control.requests() == []


def test_the_example_dag_runs_a_dry_run_by_default() -> None:
    from tests.unit.test_example_dag_params import params_of

    params = params_of("cancel_all_running")
    assert params["dry_run"] is True
    assert params["service"] == "domo"
