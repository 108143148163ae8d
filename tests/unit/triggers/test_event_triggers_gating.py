"""The event triggers' modules import on every Airflow; below 3.0 building one says what is missing."""

from __future__ import annotations

import pytest

from airflow_provider_wfcancel.triggers.domo import DomoWorkflowFinishedTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowFinishedTrigger
from airflow_provider_wfcancel.version_compat import UnsupportedOnThisAirflowError
from tests.airflow_compat import EVENT_SCHEDULING, needs_airflow


@needs_airflow((3, 0), EVENT_SCHEDULING, below=True)
@pytest.mark.parametrize(
    ("build", "name"),
    [
        (
            lambda: DomoWorkflowFinishedTrigger("5b6c1d2e-0000-4000-8000-00000000beef"),
            "DomoWorkflowFinishedTrigger",
        ),
        (lambda: EnosFlowFinishedTrigger(2438), "EnosFlowFinishedTrigger"),
    ],
)
def test_below_3_0_building_an_event_trigger_names_the_missing_mechanism(build: object, name: str) -> None:
    with pytest.raises(
        UnsupportedOnThisAirflowError,
        match=rf"{name} \(event-driven scheduling with an AssetWatcher\) needs Airflow 3\.0 or later",
    ):
        build()  # type: ignore[operator]


@needs_airflow((3, 0), EVENT_SCHEDULING)
def test_the_event_triggers_are_listed_in_provider_info() -> None:
    from airflow_provider_wfcancel.get_provider_info import get_provider_info

    modules = {m for entry in get_provider_info()["triggers"] for m in entry["python-modules"]}
    assert {DomoWorkflowFinishedTrigger.__module__, EnosFlowFinishedTrigger.__module__} <= modules
