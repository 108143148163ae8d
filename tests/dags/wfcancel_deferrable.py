"""Twin DAGs for the deferrable tests: the same task waiting in the worker (``*_sync``) or in the
triggerer (``*_deferred``), so ``dag.test()`` runs of the two can be compared XCom by XCom."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator


def domo_cancel_dag(dag_id: str, *, deferrable: bool) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params={"instance_id": Param("", type="string")},
        render_template_as_native_obj=True,
        doc_md=__doc__,
    ) as dag:
        DomoCancelWorkflowOperator(
            task_id="cancel",
            instance_id="{{ params.instance_id }}",
            deferrable=deferrable,
            timeout=30,
            poll_interval=0.1,
        )
    return dag


def enos_trigger_dag(dag_id: str, *, deferrable: bool) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params={"flow_id": Param(777, type="integer")},
        render_template_as_native_obj=True,
        doc_md=__doc__,
    ) as dag:
        EnosTriggerFlowOperator(
            task_id="trigger",
            flow_id="{{ params.flow_id }}",
            wait_for_completion=True,
            deferrable=deferrable,
            timeout=30,
            poll_interval=0.1,
        )
    return dag


domo_cancel_sync = domo_cancel_dag("wfcancel_test_domo_cancel_sync", deferrable=False)
domo_cancel_deferred = domo_cancel_dag("wfcancel_test_domo_cancel_deferred", deferrable=True)
enos_trigger_sync = enos_trigger_dag("wfcancel_test_enos_trigger_sync", deferrable=False)
enos_trigger_deferred = enos_trigger_dag("wfcancel_test_enos_trigger_deferred", deferrable=True)
