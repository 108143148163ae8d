"""Run this DAG each time an instance of an EnOS flow ends, with no sensor holding a worker slot.

The asset ``enos_flow_2438_finished`` has an ``AssetWatcher``: its ``EnosFlowFinishedTrigger`` runs in the
triggerer, lists the flow's ended instances every minute (one bounded listing through the connection's
rate limiter) and fires one asset event per instance that ended after the watcher started (here only those
that ended ``SUCCESS``). Each event's ``extra["payload"]`` says which instance it was: ``service``,
``instance_id``, ``final_status``, ``is_success``, ``is_cancelled``, ``url``, ``ended_at``, ``flow_id``,
``flow_name``. Events that arrive together may start one run: ``report`` reads every one of them.
See docs/howto/event-scheduling.md (what "once per instance" guarantees on each Airflow version).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_wfcancel.triggers.enos import EnosFlowFinishedTrigger
from airflow_provider_wfcancel.version_compat import require_airflow

# Airflow 2.11 has no asset watchers: say so instead of an ImportError.
require_airflow((3, 0), "enos_flow_finished: event-driven scheduling (Asset watchers)")

from airflow.sdk import Asset, AssetWatcher  # noqa: E402

flow_2438_finished = Asset(
    "enos_flow_2438_finished",
    watchers=[
        AssetWatcher(
            name="enos_flow_2438_watcher",
            trigger=EnosFlowFinishedTrigger(
                flow_id=2438, only_success=True, enos_conn_id="enos_default", poll_interval=60
            ),
        )
    ],
)

with DAG(
    dag_id="enos_flow_finished",
    schedule=[flow_2438_finished],
    catchup=False,
    tags=["wfcancel", "enos", "assets"],
    doc_md=__doc__,
):

    @task
    def report(triggering_asset_events: Any = None) -> list[str]:
        """The instances whose end started this run (one line each)."""
        lines = []
        for events in (triggering_asset_events or {}).values():
            for event in events:
                payload = (event.extra or {}).get("payload", {})
                lines.append(f"{payload.get('instance_id')} ended {payload.get('final_status')}")
        print("\n".join(lines))
        return lines

    report()
