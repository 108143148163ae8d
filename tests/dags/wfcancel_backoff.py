"""Waits that back off, for ``dag.test()``: each task polls from ``POLL`` seconds, doubling up to ``CAP``.

``wfcancel_test_backoff_start_worker`` starts a Domo model version and waits in the worker;
``wfcancel_test_backoff_start_deferred`` triggers EnOS flow 777 and waits in the triggerer;
``wfcancel_test_backoff_sensor_{poke,deferrable}`` watch the Domo instance id in the run's conf.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor

POLL = 0.05
CAP = 0.8


def backoff_dag(dag_id: str) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params={"instance_id": Param("", type="string")},
        doc_md=__doc__,
    )


with backoff_dag("wfcancel_test_backoff_start_worker"):
    DomoStartWorkflowOperator(
        task_id="start",
        model_id="f5d7bbff-0000-4000-8000-00000000d3f3",
        version="1.0.0",
        message_name="Start",
        wait_for_completion=True,
        timeout=60,
        poll_interval=POLL,
        max_poll_interval=CAP,
    )

with backoff_dag("wfcancel_test_backoff_start_deferred"):
    EnosTriggerFlowOperator(
        task_id="start",
        flow_id=777,
        wait_for_completion=True,
        deferrable=True,
        timeout=60,
        poll_interval=POLL,
        max_poll_interval=CAP,
    )

for mode in ("poke", "deferrable"):
    with backoff_dag(f"wfcancel_test_backoff_sensor_{mode}"):
        DomoWorkflowInstanceSensor(
            task_id="wait",
            instance_id="{{ params.instance_id }}",
            deferrable=mode == "deferrable",
            poke_interval=POLL,
            max_poll_interval=CAP,
            timeout=60,
        )
