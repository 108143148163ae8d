"""Incident clean-up with a person in the loop: list, approve, then cancel exactly what was approved.

Trigger DAG w/ config: pick the service and give the Domo model id (and optionally its version) or the
EnOS flow id, optionally a start-time window. ``dry_run`` lists the running instances that match (it
cancels nothing; more than ``max_instances`` fails the run); ``approve`` shows that list (id, status,
start time) under **Required Actions** and waits up to an hour. **Approve** cancels exactly the ids on
the list: the cancel takes them from this run's dry run, never from a fresh listing, so an instance that
started after the dry run is not touched. **Reject**, or no answer within the hour, cancels nothing.
Needs Airflow 3.1+ (Human-in-the-loop); see docs/howto/approval.md.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_wfcancel.operators.bulk import (
    DomoBulkCancelOperator,
    DomoCancelAllRunningOperator,
    EnosBulkCancelOperator,
    EnosCancelAllRunningOperator,
)
from airflow_provider_wfcancel.version_compat import require_airflow

# Airflow 3.0 and 2.11 have no Human-in-the-loop: say so instead of an ImportError.
require_airflow((3, 1), "cancel_all_with_approval: Human-in-the-loop (ApprovalOperator)")

from airflow.providers.standard.operators.hitl import ApprovalOperator  # noqa: E402

#: What the approver sees: the dry run's own result, as a table. Every value comes from an XCom, which a
#: user allowed to edit XComs could rewrite while the approval waits (the cancel checks its ids again), so
#: each is cut short and cannot leave its cell or start markup.
BODY = """\
{%- macro cell(value) -%}
{{ (value if value is not none else "?") | string | truncate(60) | replace("|", "/") | replace("`", "'")
   | replace("\n", " ") | replace("\r", " ") | replace("<", "&lt;") }}
{%- endmacro -%}
{%- set plan = ti.xcom_pull(task_ids="DRY_RUN") -%}
**Approve** cancels exactly the {{ cell(plan.matched) }} running {{ cell(plan.service) }} instance(s) below, listed
by `DRY_RUN` of this run (`{{ cell(params.target_id) }}`{{ " " ~ cell(params.version) if params.version }}).
**Reject**, or no answer before the timeout, cancels nothing.

| # | instance id | status | started at |
|---|---|---|---|
{% for row in plan.instances -%}
| {{ loop.index }} | `{{ cell(row.instance_id) }}` | {{ cell(row.get("status")) }} | {{ cell(row.get("started_at")) }} |
{% endfor %}
{%- if plan.excluded %}
{{ plan.excluded | length }} more running instance(s) are left alone: their start time could not be read
(see the dry run's log).
{%- endif %}
"""

with DAG(
    dag_id="cancel_all_with_approval",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "domo", "enos", "incident", "hitl"],
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
            description="ISO-8601, e.g. 2026-03-01T08:00Z",
        ),
        "started_before": Param("", type="string", title="Started before (optional)"),
        "max_instances": Param(100, type="integer", minimum=1, title="Fail if more than this many match"),
    },
    doc_md=__doc__,
) as dag:

    @task.branch
    def choose(**context: object) -> str:
        return f"{context['params']['service']}_dry_run"  # type: ignore[index]

    chosen = choose()
    window = {
        "started_after": "{{ params.started_after }}",
        "started_before": "{{ params.started_before }}",
        "max_instances": "{{ params.max_instances }}",
    }
    domo = {"model_id": "{{ params.target_id }}", "version": "{{ params.version }}"}
    enos = {"flow_id": "{{ params.target_id }}"}
    lanes = (
        ("domo", DomoCancelAllRunningOperator, DomoBulkCancelOperator, domo),
        ("enos", EnosCancelAllRunningOperator, EnosBulkCancelOperator, enos),
    )
    for service, list_all, cancel_ids, target in lanes:
        dry_run = list_all(task_id=f"{service}_dry_run", dry_run=True, **target, **window)

        @task.short_circuit(task_id=f"{service}_anything_to_cancel")
        def anything_to_cancel(plan: dict[str, object]) -> bool:
            return bool(plan["matched"])

        approve = ApprovalOperator(
            task_id=f"{service}_approve",
            subject=f"Cancel {{{{ ti.xcom_pull(task_ids='{service}_dry_run').matched }}}} running "
            f"{service} instance(s) of {{{{ params.target_id }}}}?",
            body=BODY.replace("DRY_RUN", f"{service}_dry_run"),
            response_timeout=timedelta(hours=1),
        )
        # The ids come from this run's dry run and nowhere else (not params, not a new listing); the
        # service must confirm each is of the model or flow named above before anything is cancelled.
        cancel = cancel_ids(task_id=f"{service}_cancel", instance_ids=dry_run.output, **target)
        chosen >> dry_run >> anything_to_cancel(dry_run.output) >> approve >> cancel
