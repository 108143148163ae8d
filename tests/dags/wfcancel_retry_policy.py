"""``WfCancelRetryPolicy`` for ``dag.test()`` (Airflow 3.3+, which has task retry policies).

``wfcancel_test_retry_policy`` cancels the run's ``instance_id`` through the run's ``conn_id`` with the
policy, ``wfcancel_test_retry_default`` without it; both have ``retries=3`` and no retry delay of their own,
so a test tells "failed at once" (one try) from the task's own retries (four tries).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator
from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_3_PLUS

if AIRFLOW_V_3_3_PLUS:
    from airflow_provider_wfcancel.retry_policy import WfCancelRetryPolicy

    for dag_id, policy in (
        ("wfcancel_test_retry_policy", WfCancelRetryPolicy(min_rate_limit_delay=0.5)),
        ("wfcancel_test_retry_default", None),
    ):
        with DAG(
            dag_id=dag_id,
            schedule=None,
            catchup=False,
            tags=["wfcancel", "test"],
            params={"instance_id": Param("", type="string"), "conn_id": Param("domo_default", type="string")},
        ):
            DomoCancelWorkflowOperator(
                task_id="cancel",
                instance_id="{{ params.instance_id }}",
                domo_conn_id="{{ params.conn_id }}",
                wait_for_termination=False,
                retries=3,
                retry_delay=timedelta(seconds=0),
                retry_policy=policy,
            )
