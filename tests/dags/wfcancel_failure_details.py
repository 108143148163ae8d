"""Tasks whose EnOS or Domo instance fails, for ``dag.test()``: why it failed reaches the task log and XCom.

``wfcancel_test_failure_start`` triggers EnOS flow 4343 twice and waits, once in the worker and once
deferred. ``wfcancel_test_failure_sensors`` watches the EnOS and Domo instances in the run's conf: in poke
mode, deferred, and (``accept_fail``) with ``accepted_statuses=["FAIL"]``, whose downstream task runs.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor

FLOW = 4343
FAST: dict[str, Any] = {"poke_interval": 0.1, "timeout": 60}

with DAG(
    dag_id="wfcancel_test_failure_start",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    doc_md=__doc__,
):
    for deferrable in (False, True):
        EnosTriggerFlowOperator(
            task_id="start_enos_deferred" if deferrable else "start_enos",
            flow_id=FLOW,
            wait_for_completion=True,
            poll_interval=0.1,
            timeout=60,
            deferrable=deferrable,
        )

with DAG(
    dag_id="wfcancel_test_failure_sensors",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    params={"enos_instance_id": Param("", type="string"), "domo_instance_id": Param("", type="string")},
    doc_md=__doc__,
):
    EnosFlowInstanceSensor(task_id="wait_enos", flow_instance_id="{{ params.enos_instance_id }}", **FAST)
    EnosFlowInstanceSensor(
        task_id="wait_enos_deferred",
        flow_instance_id="{{ params.enos_instance_id }}",
        deferrable=True,
        **FAST,
    )
    accepting = EnosFlowInstanceSensor(
        task_id="accept_fail",
        flow_instance_id="{{ params.enos_instance_id }}",
        accepted_statuses=["FAIL"],
        **FAST,
    )
    DomoWorkflowInstanceSensor(task_id="wait_domo", instance_id="{{ params.domo_instance_id }}", **FAST)

    @task
    def after(result: dict[str, Any]) -> str:
        return f"{result['final_status']}: {len(result['failure_detail']['tasks'])} failed task(s)"

    after(accepting.output)
