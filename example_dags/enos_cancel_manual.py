"""Cancel an EnOS Batch Processing flow instance by hand: Trigger DAG w/ config in the Airflow UI.

The form asks for the flow instance id (``{flowId}-{digits}``, as shown in the EnOS console's instance
list), the connection, an optional user id to act as (EnOS lets only the owner cancel) and whether
to wait until EnOS reports CANCEL. The result lands in XCom and a downstream task reports it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator

with DAG(
    dag_id="enos_cancel_manual",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "enos", "manual"],
    params={
        "flow_instance_id": Param(
            "",
            type="string",
            title="Flow instance id",
            description=(
                "The instance to cancel, as in the EnOS console's instance list, e.g. 2438-20240301080000: "
                "the flow id (1-18 digits), a dash, then the trigger time (8-14 digits). Nothing else."
            ),
            pattern=r"^[0-9]{1,18}-[0-9]{8,14}$",
        ),
        "enos_conn_id": Param("enos_default", type="string", title="EnOS connection"),
        "user_id": Param(
            None,
            type=["null", "string"],
            title="Act as user",
            description="EnOS User ID of the instance owner; empty uses the connection's user_id.",
        ),
        "wait": Param(True, type="boolean", title="Wait until EnOS reports CANCEL"),
    },
    render_template_as_native_obj=True,
    doc_md=__doc__,
) as dag:
    cancel = EnosCancelFlowInstanceOperator(
        task_id="cancel",
        flow_instance_id="{{ params.flow_instance_id }}",
        enos_conn_id="{{ params.enos_conn_id }}",
        user_id="{{ params.user_id }}",
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
