"""For the end-to-end suite: a run that misses a 20-second deadline while it waits for the Domo instance
it started; the Deadline Alert's AsyncCallback (in the triggerer) cancels that instance, the wait then
sees it end."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.version_compat import require_airflow

require_airflow((3, 1), "wfcancel_test_deadline: Deadline Alerts (DeadlineAlert, AsyncCallback)")

from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference  # noqa: E402

with DAG(
    dag_id="wfcancel_test_deadline",
    schedule=None,
    catchup=False,
    tags=["wfcancel", "test"],
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=20),
        callback=AsyncCallback(DomoCancelWorkflowNotifier, kwargs={"start_task_id": "start"}),
    ),
    doc_md=__doc__,
):
    start = DomoStartWorkflowOperator(
        task_id="start",
        model_id="f5d7bbff-0000-4000-8000-00000000dead",
        version="1.0.0",
        message_name="Start",
    )

    @task
    def wait(instance_id: str) -> str | None:
        from airflow_provider_wfcancel.hooks.domo import DomoHook

        return DomoHook().wait_for_terminal(instance_id, timeout=300, poll_interval=2).status

    wait(start.output["instance_id"])
