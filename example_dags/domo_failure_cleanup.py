"""Start a Domo Workflow, and cancel it if anything later in the run fails.

``start`` pushes the instance id to XCom at once. ``transform`` fails on purpose; its task-level
``on_failure_callback`` cancels the instance, and the DAG-level callback does the same for failures
anywhere in the run (cancelling twice is harmless: the second finds the instance already ended).
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator

STARTED_INSTANCE = "{{ ti.xcom_pull(task_ids='start', key='instance_id') }}"

with DAG(
    dag_id="domo_failure_cleanup",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "callbacks"],
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
    },
    on_failure_callback=DomoCancelWorkflowNotifier(instance_id=STARTED_INSTANCE),
    doc_md=__doc__,
) as dag:
    start = DomoStartWorkflowOperator(
        task_id="start",
        model_id="{{ params.model_id }}",
        version="{{ params.version }}",
        message_name="Start Nightly Load",
        data={"run_id": "{{ run_id }}"},
    )

    @task(
        on_failure_callback=DomoCancelWorkflowNotifier(
            instance_id=STARTED_INSTANCE, wait_for_termination=True
        )
    )
    def transform() -> None:
        raise RuntimeError("simulated failure after the workflow started")

    start >> transform()
