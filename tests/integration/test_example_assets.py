"""The asset examples: ``domo_start_then_wait``'s sensor emits ``domo_nightly_load`` with the instance in its
extra, and ``on_domo_nightly_load`` (scheduled on it) reads it from the triggering events."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import REPO
from tests.unit.sensors.harness import ends_once_read

pytestmark = pytest.mark.dagtest


def test_the_consumer_reads_the_instance_the_producer_emitted(emu: Any, domo_conn: str, run_dag: Any) -> None:
    from airflow.utils.session import create_session

    from airflow_provider_wfcancel.version_compat import TRIGGERING_ASSET_EVENTS
    from tests.airflow_compat import DagBag, asset_events

    with ends_once_read(emu, "domo", None, "COMPLETED"):
        producer = run_dag("domo_start_then_wait")
    assert producer.state == "success", producer.task_states
    with create_session() as session:
        stored = asset_events(session, "domo_start_then_wait", producer.run_id)
    instance_id, url = producer.xcom("start", "instance_id"), producer.xcom("wait")["url"]
    extra = {"instance_id": instance_id, "service": "domo", "final_status": "COMPLETED", "url": url}
    assert stored == {"domo_nightly_load": [extra]}

    consumer = DagBag(dag_folder=str(REPO / "example_dags")).get_dag("on_domo_nightly_load")
    # What Airflow hands a run the asset triggered: the events by asset, each with its stored extra (an
    # event some other producer emitted without an instance is left out).
    events = [SimpleNamespace(extra=extra), SimpleNamespace(extra={"rows": 12})]
    lines = consumer.get_task("report").python_callable(
        **{TRIGGERING_ASSET_EVENTS: {"domo_nightly_load": events}}
    )
    assert lines == [f"domo instance {instance_id} ended COMPLETED: {url}"]


def test_a_run_not_triggered_by_assets_reports_nothing(run_dag: Any) -> None:
    report = run_dag("on_domo_nightly_load")
    assert report.state == "success", report.task_states
    assert report.xcom("report") == []
