"""The instance sensors in each mode, for ``dag.test()``: one DAG per service, mode and ``soft_fail``.

``wfcancel_test_sensor_{service}_{mode}`` (``_soft`` with ``soft_fail=True``) watches the instance id in
the run's conf; ``after`` runs only when the sensor succeeded. ``retries=1`` lets a test tell a failure
without retry (the sensor's one try) from a retryable one. ``timeout`` is short, so a timeout test ends
quickly; reschedule mode's loop in ``dag.test()`` waits about a second between pokes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor

MODES = ("poke", "reschedule", "deferrable")
TIMEOUT = 1.5
POKE_INTERVAL = 0.2


def sensor_dag(service: str, mode: str, *, soft_fail: bool) -> DAG:
    dag_id = f"wfcancel_test_sensor_{service}_{mode}" + ("_soft" if soft_fail else "")
    common: dict[str, Any] = {
        "task_id": "wait",
        "mode": "reschedule" if mode == "reschedule" else "poke",
        "deferrable": mode == "deferrable",
        "poke_interval": POKE_INTERVAL,
        "timeout": TIMEOUT,
        "soft_fail": soft_fail,
        "retries": 1,
        "retry_delay": timedelta(seconds=0),
    }
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params={"instance_id": Param("", type="string")},
        doc_md=__doc__,
    ) as dag:
        if service == "domo":
            wait = DomoWorkflowInstanceSensor(instance_id="{{ params.instance_id }}", **common)
        else:
            wait = EnosFlowInstanceSensor(flow_instance_id="{{ params.instance_id }}", **common)

        @task
        def after(result: dict[str, Any]) -> str:
            return f"{result['service']} {result['instance_id']}: {result['final_status']}"

        after(wait.output)
    return dag


for _service in ("domo", "enos"):
    for _mode in MODES:
        for _soft in (False, True):
            _dag = sensor_dag(_service, _mode, soft_fail=_soft)
            globals()[_dag.dag_id] = _dag
