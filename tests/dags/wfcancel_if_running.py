"""Start tasks with ``if_running`` from the run's conf, for ``dag.test()``: ``wfcancel_test_if_running``
starts model ``params.model_id`` version 1.0.0 in Domo and flow ``params.flow_id`` in EnOS, without waiting."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

with DAG(
    dag_id="wfcancel_test_if_running",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    params={
        "if_running": Param("start", enum=["start", "reuse", "fail"]),
        "model_id": Param("f5d7bbff-0000-4000-8000-00000000d3f3", type="string"),
        "flow_id": Param(4242, type="integer"),
    },
    doc_md=__doc__,
):
    DomoStartWorkflowOperator(
        task_id="start_domo",
        model_id="{{ params.model_id }}",
        version="1.0.0",
        message_name="Start",
        if_running="{{ params.if_running }}",
    )
    EnosTriggerFlowOperator(
        task_id="start_enos", flow_id="{{ params.flow_id }}", if_running="{{ params.if_running }}"
    )
