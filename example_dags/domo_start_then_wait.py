"""Start a Domo Workflow, do other work while it runs, then wait for it without holding a worker slot.

``start`` starts the workflow and does not wait: it pushes ``instance_id`` at once. ``prepare`` stands for
work that needs nothing from Domo. ``wait`` is a deferrable ``DomoWorkflowInstanceSensor``: after one
status read it hands the wait to the triggerer, succeeds when the instance is ``COMPLETED`` and fails
without retry on any other end, naming the status; its result (``final_status``, ``url``) goes to
``publish``, and its success emits an event of the asset ``domo_nightly_load`` whose extra names the
instance (the ``on_domo_nightly_load`` example DAG is scheduled on it). If any task fails (``prepare``, or ``wait`` at its timeout), its ``on_failure_callback``
cancels what ``start`` started and waits for Domo to confirm, so a failed run does not leave the workflow
running; an instance that already ended is left alone. Set ``fail_prepare`` to see the cleanup.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor

with DAG(
    dag_id="domo_start_then_wait",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "sensors"],
    params={
        "model_id": Param(
            "5b6c1d2e-0000-4000-8000-00000000beef",
            type="string",
            title="Workflow model id",
            description="Letters, digits, '-' and '_' only, starting with a letter or digit; at most 256 characters.",
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
            maxLength=256,
        ),
        "version": Param("1.0.0", type="string", title="Model version"),
        "fail_prepare": Param(False, type="boolean", title="Make the other work fail (to see the cleanup)"),
    },
    default_args={
        "on_failure_callback": DomoCancelWorkflowNotifier(start_task_id="start", wait_for_termination=True)
    },
    doc_md=__doc__,
) as dag:
    start = DomoStartWorkflowOperator(
        task_id="start",
        model_id="{{ params.model_id }}",
        version="{{ params.version }}",
        message_name="Start Nightly Load",
        data={"run_id": "{{ run_id }}"},
        wait_for_completion=False,
    )

    @task
    def prepare(params: dict[str, Any]) -> None:
        if params["fail_prepare"]:
            raise RuntimeError("simulated failure while the workflow runs")

    wait = DomoWorkflowInstanceSensor(
        task_id="wait",
        instance_id=start.output["instance_id"],
        deferrable=True,
        poke_interval=30,
        timeout=2 * 3600,
        outlets=[Asset("domo_nightly_load")],
    )

    @task
    def publish(result: dict[str, Any]) -> str:
        return f"workflow run {result['instance_id']} ended {result['final_status']}: {result['url']}"

    start >> prepare() >> wait
    publish(wait.output)
