"""Start operators that ask to be cancelled when their DAG run fails later (``cancel_on_run_failed``),
for the plugin listener's tests: the run itself succeeds; the tests then fail it as a person would."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

with DAG(
    dag_id="wfcancel_test_run_failed",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    params={"model_id": Param("f5d7bbff-0000-4000-8000-00000000d3f3", type="string")},
    doc_md=__doc__,
):
    DomoStartWorkflowOperator(
        task_id="start_domo",
        model_id="{{ params.model_id }}",
        version="1.0.0",
        message_name="Start",
        cancel_on_run_failed=True,
    )
    EnosTriggerFlowOperator(task_id="start_enos", flow_id=777, cancel_on_run_failed=True)
    DomoStartWorkflowOperator(
        task_id="start_domo_unrecorded",
        model_id="{{ params.model_id }}",
        version="1.0.0",
        message_name="Start",
    )


with DAG(
    dag_id="wfcancel_test_run_failed_two_gateways",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    doc_md="Two EnOS gateways that give their instances the same id (the same flow and trigger time).",
):
    for task_id, conn_id in (("start_first", "enos_default"), ("start_second", "enos_second")):
        EnosTriggerFlowOperator(
            task_id=task_id,
            flow_id=777,
            trigger_time_ms=1_900_000_000_000,
            enos_conn_id=conn_id,
            cancel_on_run_failed=True,
        )


with DAG(
    dag_id="wfcancel_test_run_failed_mapped",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    doc_md="A mapped start task with cancel_on_run_failed: its fields come from each map index's rendering.",
):
    DomoStartWorkflowOperator.partial(
        task_id="start_mapped", version="1.0.0", message_name="Start", cancel_on_run_failed=True
    ).expand(model_id=["f5d7bbff-0000-4000-8000-00000000d3f3", "f5d7bbff-0000-4000-8000-00000000d3f4"])
