"""Start tasks with one retry and a short poll, for the resumable-start tests: a first try that does not
see its instance end (a status read fails) leaves it to the retry (``durable``, the default) or not."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator


def reattach_dag(dag_id: str, *, durable: bool, deferrable: bool = False) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params={"model_id": Param("f5d7bbff-0000-4000-8000-00000000d3f3", type="string")},
        default_args={"retries": 1, "retry_delay": timedelta(0)},
        doc_md=__doc__,
    ) as dag:
        DomoStartWorkflowOperator(
            task_id="start_domo",
            model_id="{{ params.model_id }}",
            version="1.0.0",
            message_name="Start",
            wait_for_completion=True,
            durable=durable,
            deferrable=deferrable,
            timeout=30,
            poll_interval=0.1,
        )
        EnosTriggerFlowOperator(
            task_id="start_enos",
            flow_id=777,
            wait_for_completion=True,
            durable=durable,
            deferrable=deferrable,
            timeout=30,
            poll_interval=0.1,
        )
    return dag


durable = reattach_dag("wfcancel_test_reattach", durable=True)
durable_deferred = reattach_dag("wfcancel_test_reattach_deferred", durable=True, deferrable=True)
not_durable = reattach_dag("wfcancel_test_reattach_off", durable=False)


with DAG(
    dag_id="wfcancel_test_worker_loss",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    params={"model_id": Param("f5d7bbff-0000-4000-8000-00000000d3f3", type="string")},
    default_args={"retries": 1, "retry_delay": timedelta(seconds=2)},
    doc_md="A start task waiting in the worker, for the e2e test that kills the Celery worker under it.",
):
    DomoStartWorkflowOperator(
        task_id="start",
        model_id="{{ params.model_id }}",
        version="1.0.0",
        message_name="Start",
        wait_for_completion=True,
        timeout=600,
        poll_interval=1,
    )
