"""An EnOS start task that waits, with one immediate retry and ``rerun_failed_from_task``: when its first
try's instance fails at a task, the retry triggers the flow from that task (``wfcancel_test_rerun``, and
``wfcancel_test_rerun_deferred`` waiting in the triggerer)."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator


def rerun_dag(dag_id: str, *, deferrable: bool) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        default_args={"retries": 1, "retry_delay": timedelta(0)},
        doc_md=__doc__,
    ) as dag:
        EnosTriggerFlowOperator(
            task_id="start_enos",
            flow_id=777,
            wait_for_completion=True,
            rerun_failed_from_task=True,
            deferrable=deferrable,
            timeout=30,
            poll_interval=0.1,
        )
    return dag


waiting = rerun_dag("wfcancel_test_rerun", deferrable=False)
deferred = rerun_dag("wfcancel_test_rerun_deferred", deferrable=True)
