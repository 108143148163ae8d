"""Start operators that ask to be cancelled when their DAG run fails later (``cancel_on_run_failed``),
for the plugin listener's tests: the run itself succeeds; the tests then fail it as a person would."""

from __future__ import annotations

from airflow.sdk import DAG, Param

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
