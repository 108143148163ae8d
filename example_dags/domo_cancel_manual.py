"""Cancel a Domo Workflow instance by hand: Trigger DAG w/ config in the Airflow UI.

The form asks for the instance id (Domo > Workflows > the workflow > Executions), the connection and
whether to wait until Domo confirms. The result lands in XCom and a downstream task reports it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator

with DAG(
    dag_id="domo_cancel_manual",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "manual"],
    params={
        "instance_id": Param(
            "",
            type="string",
            title="Workflow instance id",
            description=(
                "The id of the running instance, not the model id (Domo > Workflows > the workflow > Executions), "
                "e.g. 2052e10a-1b2c-4d5e-8f90-1234567890ab. Letters, digits, '-' and '_' only, starting with a "
                "letter or digit; at most 256 characters."
            ),
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
            minLength=1,
            maxLength=256,
        ),
        "domo_conn_id": Param("domo_default", type="string", title="Domo connection"),
        "wait": Param(True, type="boolean", title="Wait until Domo reports CANCELED"),
    },
    render_template_as_native_obj=True,
    doc_md=__doc__,
) as dag:
    cancel = DomoCancelWorkflowOperator(
        task_id="cancel",
        instance_id="{{ params.instance_id }}",
        domo_conn_id="{{ params.domo_conn_id }}",
        wait_for_termination="{{ params.wait }}",
        timeout=300,
        poll_interval=2,
    )

    @task
    def report(result: dict[str, Any]) -> str:
        summary = f"{result['service']} {result['instance_id']}: {result['outcome']} (final {result['final_status']})"
        print(summary)
        return summary

    report(cancel.output)
