"""Trigger an EnOS flow, and cancel its instance if anything later in the run fails.

``trigger`` pushes the new flow instance id to XCom at once. ``transform`` fails on purpose; its
task-level ``on_failure_callback`` cancels the instance, and the DAG-level callback does the same for
failures anywhere in the run.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

TRIGGERED_INSTANCE = "{{ ti.xcom_pull(task_ids='trigger', key='instance_id') }}"

with DAG(
    dag_id="enos_failure_cleanup",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "enos", "callbacks"],
    params={"flow_id": Param(2438, type="integer", minimum=1, title="Flow id")},
    on_failure_callback=EnosCancelFlowInstanceNotifier(flow_instance_id=TRIGGERED_INSTANCE),
    doc_md=__doc__,
) as dag:
    trigger = EnosTriggerFlowOperator(task_id="trigger", flow_id="{{ params.flow_id }}")

    @task(
        on_failure_callback=EnosCancelFlowInstanceNotifier(
            flow_instance_id=TRIGGERED_INSTANCE, wait_for_termination=True
        )
    )
    def transform() -> None:
        raise RuntimeError("simulated failure after the flow started")

    trigger >> transform()
