"""Run when the Domo nightly load has finished, knowing which Domo run it was.

Scheduled on the asset ``domo_nightly_load``, which the ``wait`` sensor of ``domo_start_then_wait`` emits
when the workflow instance it waited for ends ``COMPLETED``. The event's extra names the instance:
``{"instance_id", "service", "final_status", "url"}``. ``report`` reads them from the events that
triggered this run (``triggering_asset_events``; ``triggering_dataset_events`` on Airflow 2.11) through
``remote_instance_events``, which works on every Airflow version, and returns one line per instance.
Several loads that finished before this DAG ran are one run with several events.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Asset, task

from airflow_provider_wfcancel.assets import remote_instance_events

with DAG(
    dag_id="on_domo_nightly_load",
    schedule=[Asset("domo_nightly_load")],
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),  # Airflow 2.11 needs one
    catchup=False,
    tags=["wfcancel", "domo", "assets"],
    doc_md=__doc__,
) as dag:

    @task
    def report(**context: Any) -> list[str]:
        lines = [
            f"{event['service']} instance {event['instance_id']} ended {event['final_status']}: {event['url']}"
            for event in remote_instance_events(context)
        ]
        for line in lines:
            print(line)
        return lines

    report()
