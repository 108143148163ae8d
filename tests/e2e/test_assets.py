"""Asset events in the real deployment: ``domo_start_then_wait``'s sensor emits ``domo_nightly_load`` with the
Domo instance in its extra, and the scheduler starts ``on_domo_nightly_load``, which reads it from the
events that triggered it."""

from __future__ import annotations

from typing import Any

from .api import AirflowApi
from .processes import wait_until
from .stack import AirflowStack

PRODUCER, CONSUMER, ASSET = "domo_start_then_wait", "on_domo_nightly_load", "domo_nightly_load"


def test_the_consumer_runs_on_the_event_and_reads_the_instance(
    stack: AirflowStack, api: AirflowApi, control: Any
) -> None:
    api.wait_for_dag(CONSUMER)
    config = control.config()
    previous = {name: config[name] for name in ("domo_start_delay", "domo_run_seconds")}
    control.configure(domo_start_delay=0, domo_run_seconds=0.5)
    try:
        before = {run["dag_run_id"] for run in api.call("GET", f"/dags/{CONSUMER}/dagRuns")["dag_runs"]}
        run_id = api.trigger(PRODUCER)

        state, _ = api.wait_for_run(PRODUCER, run_id, check=stack.check_running)

        assert state == "success", api.task_states(PRODUCER, run_id)
        instance_id, url = (
            api.xcom(PRODUCER, run_id, "start", "instance_id"),
            api.xcom(PRODUCER, run_id, "wait")["url"],
        )
        extra = {"instance_id": instance_id, "service": "domo", "final_status": "COMPLETED", "url": url}
        events = api.call(
            "GET", "/assets/events", params={"source_dag_id": PRODUCER, "source_run_id": run_id}
        )
        assert [(e["uri"], e["extra"]) for e in events["asset_events"]] == [(ASSET, extra)]

        def consumer_run() -> str | None:
            runs = api.call("GET", f"/dags/{CONSUMER}/dagRuns")["dag_runs"]
            new = [run for run in runs if run["dag_run_id"] not in before]
            return str(new[0]["dag_run_id"]) if new else None

        consumer_run_id = str(
            wait_until(consumer_run, timeout=120, what=f"the scheduler to start {CONSUMER}")
        )
        consumer_state, _ = api.wait_for_run(CONSUMER, consumer_run_id, check=stack.check_running)
        assert consumer_state == "success", api.task_states(CONSUMER, consumer_run_id)
        assert api.xcom(CONSUMER, consumer_run_id, "report") == [
            f"domo instance {instance_id} ended COMPLETED: {url}"
        ]
    finally:
        control.configure(**previous)  # the other tests of this deployment rely on instances that run
