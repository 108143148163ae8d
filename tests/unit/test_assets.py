"""Which outlets get the instance's extra, and what a consuming DAG reads (the dag.test() runs are in
tests/integration/test_assets.py)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from airflow.providers.common.compat.sdk import Asset, AssetAlias

from airflow_provider_wfcancel.assets import add_to_outlet_events, remote_instance_events
from airflow_provider_wfcancel.version_compat import TRIGGERING_ASSET_EVENTS
from tests.airflow_compat import needs_airflow

RESULT = {"service": "enos", "instance_id": "2438-20240301080000", "final_status": "SUCCESS", "url": None}


class Accessors:
    """``context["outlet_events"]`` as the task sees it: an accessor with an ``extra`` per outlet (keyed by
    its repr: Airflow 3.0's ``Asset`` is not hashable)."""

    def __init__(self) -> None:
        self._by_repr: dict[str, tuple[Any, SimpleNamespace]] = {}

    def __getitem__(self, key: Any) -> SimpleNamespace:
        return self._by_repr.setdefault(repr(key), (key, SimpleNamespace(extra={})))[1]

    def __iter__(self) -> Iterator[Any]:
        return (key for key, _ in self._by_repr.values())


def test_assets_get_the_extra_aliases_do_not_and_other_keys_stay() -> None:
    asset, alias = Asset("file:///data/meters.csv"), AssetAlias("meters")
    task = SimpleNamespace(outlets=[asset, alias, "not an asset"])
    events = Accessors()
    events[asset].extra["rows"] = 12

    returned = add_to_outlet_events(task, {"outlet_events": events}, {**RESULT, "status_at_start": None})

    assert returned["instance_id"] == RESULT["instance_id"]
    assert list(events) == [asset]
    assert events[asset].extra == {"rows": 12, **RESULT}


@needs_airflow((3, 0), "asset references (Asset.ref)")
def test_an_asset_reference_gets_the_extra() -> None:
    reference = Asset.ref(name="meters")
    events = Accessors()
    add_to_outlet_events(SimpleNamespace(outlets=[reference]), {"outlet_events": events}, RESULT)
    assert events[reference].extra == RESULT


def test_no_outlets_or_no_accessors_is_no_op() -> None:
    assert add_to_outlet_events(SimpleNamespace(outlets=[]), {}, RESULT) is RESULT
    assert add_to_outlet_events(SimpleNamespace(outlets=[Asset("file:///x")]), {}, RESULT) is RESULT


def test_the_consumer_reads_only_the_events_a_provider_task_emitted() -> None:
    ours = SimpleNamespace(extra=RESULT)
    context = {
        TRIGGERING_ASSET_EVENTS: {
            "meters": [SimpleNamespace(extra={"rows": 1}), ours],
            "sales": [SimpleNamespace(extra=None), ours],
        }
    }
    assert remote_instance_events(context) == [RESULT, RESULT]
    assert remote_instance_events({}) == []


def test_the_consumer_leaves_out_events_created_over_the_rest_api() -> None:
    """Whoever may create asset events over REST (or in the UI) writes any extra; Airflow marks them
    ``from_rest_api`` (2.11's dataset endpoint and 3.x's alike), and they name no instance a task saw."""
    forged = SimpleNamespace(extra={**RESULT, "from_rest_api": True})
    ours = SimpleNamespace(extra=RESULT)
    assert remote_instance_events({TRIGGERING_ASSET_EVENTS: {"meters": [forged, ours]}}) == [RESULT]


@needs_airflow((3, 0), "the FastAPI REST API's asset event body")
def test_an_extra_as_the_rest_api_stores_it_is_left_out() -> None:
    from airflow.api_fastapi.core_api.datamodels.assets import CreateAssetEventsBody

    stored = CreateAssetEventsBody(asset_id=1, extra=dict(RESULT)).extra
    assert remote_instance_events({TRIGGERING_ASSET_EVENTS: {"m": [SimpleNamespace(extra=stored)]}}) == []
