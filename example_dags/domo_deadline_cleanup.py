"""Start a Domo Workflow, wait for it in a later task, and cancel it when the run misses its deadline.

``start`` pushes the instance id at once and does not wait; ``wait``, a deferrable sensor, waits in the
triggerer for the instance to end. If the run is still going 30 minutes after it was queued, the Deadline
Alert's ``AsyncCallback`` runs in the triggerer and cancels what ``start`` started (read from XCom with ``start_task_id``; on Airflow before
3.3 pass ``instance_id`` from ``dag_run.conf`` instead). ``cancel_on_run_failed`` also cancels it when a
person marks the run failed, which runs no callback.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.operators.domo import DomoStartWorkflowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.version_compat import require_airflow

# Airflow 3.0 has no Deadline Alerts: say so instead of an ImportError.
require_airflow((3, 1), "domo_deadline_cleanup: Deadline Alerts (DeadlineAlert, AsyncCallback)")

from airflow.sdk.definitions.deadline import AsyncCallback, DeadlineAlert, DeadlineReference  # noqa: E402

with DAG(
    dag_id="domo_deadline_cleanup",
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
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=30),
        callback=AsyncCallback(DomoCancelWorkflowNotifier, kwargs={"start_task_id": "start"}),
    ),
    doc_md=__doc__,
):
    start = DomoStartWorkflowOperator(
        task_id="start",
        model_id="{{ params.model_id }}",
        version="{{ params.version }}",
        message_name="Start Nightly Load",
        cancel_on_run_failed=True,
    )

    # The deadline bounds the run; the sensor's own timeout only backs it up.
    DomoWorkflowInstanceSensor(
        task_id="wait",
        instance_id=start.output["instance_id"],
        deferrable=True,
        poke_interval=10,
        timeout=3600,
    )
