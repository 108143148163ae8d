"""Incident clean-up: cancel every running instance of a Domo Workflow model or an EnOS flow.

Trigger DAG w/ config: pick the service, give the model id (Domo) or flow id (EnOS), optionally a model
version and a start-time window. **Dry run is on by default**: the first run only lists what would be
cancelled (see the task log and its XCom); trigger again with dry run off to cancel. ``max_instances`` stops
the run before any cancel when more instances match. The result has counts per outcome and one row per id.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.bulk import (
    DomoCancelAllRunningOperator,
    EnosCancelAllRunningOperator,
)

with DAG(
    dag_id="cancel_all_running",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "enos", "incident"],
    params={
        "service": Param("domo", type="string", enum=["domo", "enos"], title="Service"),
        "target_id": Param(
            "",
            type="string",
            minLength=1,
            maxLength=256,
            title="Domo model id or EnOS flow id",
            description="Domo: the workflow model id (a UUID). EnOS: the flow id, a whole number such as 3377.",
        ),
        "version": Param("", type="string", title="Domo model version (optional)", description="e.g. 1.3.10"),
        "started_after": Param(
            "",
            type="string",
            title="Started after (optional)",
            description="ISO-8601, e.g. 2026-03-01T08:00:00Z",
        ),
        "started_before": Param("", type="string", title="Started before (optional)"),
        "dry_run": Param(True, type="boolean", title="Dry run: list only, cancel nothing"),
        "max_instances": Param(100, type="integer", minimum=1, title="Fail if more than this many match"),
    },
    render_template_as_native_obj=True,
    doc_md=__doc__,
) as dag:

    @task.branch
    def choose(**context: object) -> str:
        return str(context["params"]["service"])  # type: ignore[index]

    common = {
        "started_after": "{{ params.started_after }}",
        "started_before": "{{ params.started_before }}",
        "dry_run": "{{ params.dry_run }}",
        "max_instances": "{{ params.max_instances }}",
    }
    domo = DomoCancelAllRunningOperator(
        task_id="domo", model_id="{{ params.target_id }}", version="{{ params.version }}", **common
    )
    enos = EnosCancelAllRunningOperator(task_id="enos", flow_id="{{ params.target_id }}", **common)
    choose() >> [domo, enos]
