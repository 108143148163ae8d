"""Cancel a list of Domo Workflow instances, one mapped task per id (dynamic task mapping).

Each id gets its own task instance, log, retry and XCom result; a summary task collects the outcomes.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator

with DAG(
    dag_id="domo_cancel_many",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "mapping"],
    params={
        "instance_ids": Param(
            [],
            type="array",
            items={"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "maxLength": 256},
            title="Instance ids to cancel",
            description=(
                "One Domo Workflow instance id per line, e.g. 2052e10a-1b2c-4d5e-8f90-1234567890ab. "
                "Letters, digits, '-' and '_' only, starting with a letter or digit; at most 256 characters each."
            ),
        ),
    },
    doc_md=__doc__,
) as dag:

    @task
    def instance_ids(**context: Any) -> list[str]:
        return list(context["params"]["instance_ids"])

    cancels = DomoCancelWorkflowOperator.partial(task_id="cancel", timeout=120, poll_interval=1).expand(
        instance_id=instance_ids()
    )

    @task
    def summarize(results: list[dict[str, Any]]) -> dict[str, str]:
        return {r["instance_id"]: r["outcome"] for r in results}

    summarize(cancels.output)
