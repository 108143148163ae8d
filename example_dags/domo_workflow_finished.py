"""Run this DAG each time an instance of a Domo Workflow model ends, with no sensor holding a worker slot.

The asset ``domo_nightly_load_finished`` has an ``AssetWatcher``: its ``DomoWorkflowFinishedTrigger``
runs in the triggerer, lists the model's instances of version ``1.0.0`` created in the last day, every
minute (one bounded listing through the connection's rate limiter), and fires one asset event per instance
that ended after the watcher started, whatever its end (``only_success=False``). Each event's
``extra["payload"]`` says which instance it was: ``service``, ``instance_id``, ``final_status``,
``is_success``, ``is_cancelled``, ``url``, ``ended_at``, ``model_id``, ``model_version``. ``report`` reads
every event that started the run. See docs/howto/event-scheduling.md.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_wfcancel.triggers.domo import DomoWorkflowFinishedTrigger
from airflow_provider_wfcancel.version_compat import require_airflow

# Airflow 2.11 has no asset watchers: say so instead of an ImportError.
require_airflow((3, 0), "domo_workflow_finished: event-driven scheduling (Asset watchers)")

from airflow.sdk import Asset, AssetWatcher  # noqa: E402

nightly_load_finished = Asset(
    "domo_nightly_load_finished",
    watchers=[
        AssetWatcher(
            name="domo_nightly_load_watcher",
            trigger=DomoWorkflowFinishedTrigger(
                model_id="5b6c1d2e-0000-4000-8000-00000000beef",
                model_version="1.0.0",
                domo_conn_id="domo_default",
                poll_interval=60,
            ),
        )
    ],
)

with DAG(
    dag_id="domo_workflow_finished",
    schedule=[nightly_load_finished],
    catchup=False,
    tags=["wfcancel", "domo", "assets"],
    doc_md=__doc__,
):

    @task
    def report(triggering_asset_events: Any = None) -> list[str]:
        """The instances whose end started this run, and how each ended."""
        lines = []
        for events in (triggering_asset_events or {}).values():
            for event in events:
                payload = (event.extra or {}).get("payload", {})
                lines.append(f"{payload.get('instance_id')} ended {payload.get('final_status')}")
        print("\n".join(lines))
        return lines

    report()
