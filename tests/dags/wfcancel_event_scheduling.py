"""DAGs scheduled by the provider's event triggers, polling every 2 s (the e2e suite's short twin of
example_dags/enos_flow_finished.py, for both services): a model and a flow no other test uses."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_wfcancel.triggers.domo import DomoWorkflowFinishedTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowFinishedTrigger
from airflow_provider_wfcancel.version_compat import require_airflow

require_airflow((3, 0), "wfcancel_event_scheduling: event-driven scheduling (Asset watchers)")

from airflow.sdk import Asset, AssetWatcher  # noqa: E402

#: What the e2e test finishes in the emulator.
DOMO_MODEL = "e2e0e7e0-0000-4000-8000-0000000000e1"
ENOS_FLOW = 7302
POLL_SECONDS = 2.0

WATCHED = {
    "wfcancel_event_domo": Asset(
        "wfcancel_e2e_domo_finished",
        watchers=[
            AssetWatcher(
                name="wfcancel_e2e_domo_watcher",
                trigger=DomoWorkflowFinishedTrigger(model_id=DOMO_MODEL, poll_interval=POLL_SECONDS),
            )
        ],
    ),
    "wfcancel_event_enos": Asset(
        "wfcancel_e2e_enos_finished",
        watchers=[
            AssetWatcher(
                name="wfcancel_e2e_enos_watcher",
                trigger=EnosFlowFinishedTrigger(
                    flow_id=ENOS_FLOW, only_success=True, poll_interval=POLL_SECONDS
                ),
            )
        ],
    ),
}

for dag_id, asset in WATCHED.items():
    with DAG(dag_id=dag_id, schedule=[asset], catchup=False, tags=["wfcancel", "e2e", "assets"]):

        @task
        def ended(triggering_asset_events: Any = None) -> list[str]:
            return [
                str((event.extra or {}).get("payload", {}).get("instance_id"))
                for events in (triggering_asset_events or {}).values()
                for event in events
            ]

        ended()
