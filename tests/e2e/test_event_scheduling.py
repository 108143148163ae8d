"""The event triggers in the deployment's triggerer: an instance ending in the emulator starts the DAG scheduled
on the watched asset exactly once; the next one starts a second run (tests/dags/wfcancel_event_scheduling.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_3_PLUS
from tests.dags.wfcancel_event_scheduling import DOMO_MODEL, ENOS_FLOW, POLL_SECONDS

from .api import AirflowApi
from .processes import wait_until
from .stack import AirflowStack

#: How long after a run appeared no second one may: several poll intervals.
QUIET_SECONDS = 4 * POLL_SECONDS


def runs_of(api: AirflowApi, dag_id: str) -> list[dict[str, Any]]:
    return list(api.call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after"})["dag_runs"])


def polled(control: Any, route: str, subject: str) -> bool:
    """The watcher has polled at least twice (its first poll is the baseline)."""
    return sum(subject in str(r["query"]) + str(r["body"]) for r in control.requests(route)) >= 2


def asset_id(api: AirflowApi, asset_name: str) -> int:
    (asset,) = [a for a in api.call("GET", "/assets", params={"name_pattern": asset_name})["assets"]]
    return int(asset["id"])


def seen_ids(api: AirflowApi, asset_name: str) -> list[str]:
    """The ids the watcher keeps in the asset's state store (Airflow 3.3+)."""
    entries = api.call("GET", f"/assets/{asset_id(api, asset_name)}/state-store")["asset_state_store"]
    (entry,) = [e for e in entries if e["key"].startswith("wfcancel.")]
    return list(entry["value"]["seen"])


def payloads(api: AirflowApi, asset_name: str) -> list[dict[str, Any]]:
    events = api.call("GET", "/assets/events", params={"asset_id": asset_id(api, asset_name)})["asset_events"]
    return [e["extra"]["payload"] for e in sorted(events, key=lambda e: e["id"])]


def one_more_run(stack: AirflowStack, api: AirflowApi, dag_id: str, before: int) -> list[dict[str, Any]]:
    """Wait for the run the ended instance starts, then for a few poll intervals: exactly one more."""
    wait_until(
        lambda: len(runs_of(api, dag_id)) > before or stack.check_running(),
        timeout=90,
        interval=1,
        what=f"a run of {dag_id}",
    )
    time.sleep(QUIET_SECONDS)
    runs = runs_of(api, dag_id)
    assert len(runs) == before + 1, runs
    assert runs[-1]["run_type"] == "asset_triggered"
    return runs


@pytest.mark.parametrize(
    ("dag_id", "asset_name", "route", "subject"),
    [
        ("wfcancel_event_domo", "wfcancel_e2e_domo_finished", "domo.list", DOMO_MODEL),
        ("wfcancel_event_enos", "wfcancel_e2e_enos_finished", "enos.flowinstance.search", str(ENOS_FLOW)),
    ],
)
def test_an_ended_instance_starts_the_scheduled_dag_once(
    profile: str,
    stack: AirflowStack,
    api: AirflowApi,
    control: Any,
    dag_id: str,
    asset_name: str,
    route: str,
    subject: str,
) -> None:
    if profile != "standalone":
        pytest.skip("the triggerer and the scheduler, all this needs, are the same in both profiles")
    api.wait_for_dag(dag_id)
    wait_until(lambda: polled(control, route, subject), timeout=120, interval=1, what=f"the {dag_id} watcher")
    assert runs_of(api, dag_id) == []  # nothing ended yet: the baseline fires nothing

    def end_one(**kwargs: Any) -> str:
        if dag_id == "wfcancel_event_domo":
            return str(control.create_domo_instance(model_id=DOMO_MODEL, runs_for=1.0, **kwargs)["id"])
        return str(control.create_enos_instance(flow_id=ENOS_FLOW, runs_for=1.0, **kwargs)["instanceId"])

    first = end_one()
    one_more_run(stack, api, dag_id, 0)
    second = end_one()
    one_more_run(stack, api, dag_id, 1)
    assert [p["instance_id"] for p in payloads(api, asset_name)] == [first, second]
    assert all(p["service"] in dag_id for p in payloads(api, asset_name))
    if AIRFLOW_V_3_3_PLUS:  # kept where a restarted or re-created trigger reads them
        assert {first, second} <= set(seen_ids(api, asset_name))
