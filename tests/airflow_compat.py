"""Airflow names the tests use that moved between minors (the provider's own are in version_compat).

Imported lazily, from inside fixtures and tests, so the root conftest configures Airflow first.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_2_PLUS,
    AIRFLOW_VERSION,
    XCOM_REFUSES_NONE,
)

if AIRFLOW_V_3_0_PLUS:
    from airflow.models.xcom import XComModel as XComRow
    from airflow.sdk.definitions.param import ParamsDict
else:  # Airflow 2.11
    from airflow.models.param import ParamsDict  # type: ignore[no-redef]
    from airflow.models.xcom import BaseXCom as XComRow  # type: ignore[no-redef]

if AIRFLOW_V_3_2_PLUS:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSkipException, TaskDeferred
    from airflow.sdk.serde import deserialize, serialize
else:  # Airflow 3.0, 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowRescheduleException,
        AirflowSkipException,
        TaskDeferred,
    )
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]


if AIRFLOW_V_3_1_PLUS:
    from airflow.sdk.module_loading import import_string
else:  # Airflow 2.11, 3.0
    from airflow.utils.module_loading import import_string  # type: ignore[no-redef]


def store_serialized_dag(dag: Any) -> None:
    """Write ``dag`` to the metadata DB as the DAG processor would, before a ``dag.test()`` run that code
    reading the serialized DAG (the run-failed listener) looks at. Airflow 3.1+'s ``dag.test()`` does it
    itself; 3.0's and 2.11's do not."""
    if AIRFLOW_V_3_1_PLUS:
        return
    if not AIRFLOW_V_3_0_PLUS:  # Airflow 2.11: one serialized DAG per DAG id
        from airflow.models.serialized_dag import SerializedDagModel
        from airflow.utils.session import create_session

        dag.sync_to_db()
        with create_session() as session:
            SerializedDagModel.write_dag(dag, session=session)
        return
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.dag import DAG as SchedulerDAG
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.serialization.serialized_objects import LazyDeserializedDAG, SerializedDAG
    from airflow.utils.session import create_session

    lazy = LazyDeserializedDAG(data=SerializedDAG.to_dict(dag))  # what the DAG processor hands over
    DagBundlesManager().sync_bundles_to_db()
    with create_session() as session:
        SchedulerDAG.bulk_write_to_db("dags-folder", None, [lazy], session=session)
        SerializedDagModel.write_dag(lazy, bundle_name="dags-folder", session=session)


def reschedule_count(session: Any, ti: Any) -> int:
    """How many times ``ti`` was rescheduled: Airflow 3 keys reschedules by the task instance's id, 2.11 by
    its dag, task, run and map index."""
    from airflow.models.taskreschedule import TaskReschedule

    if AIRFLOW_V_3_0_PLUS:
        return int(session.query(TaskReschedule).filter_by(ti_id=ti.id).count())
    return int(
        session.query(TaskReschedule)
        .filter_by(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
        .count()
    )


def needs_airflow(minimum: tuple[int, int], mechanism: str, *, below: bool = False) -> pytest.MarkDecorator:
    """The one way a test is left out on some Airflow: ``mechanism`` exists from ``minimum`` on.

    A test of the mechanism is skipped below ``minimum``, with the reason; a test of how the provider
    degrades without it (``below=True``) runs only there. Every degradation has such a test, so a skip never
    hides a failure (docs/compatibility.md lists them).
    """
    lacking = (*minimum, 0) > AIRFLOW_VERSION
    version = f"Airflow {minimum[0]}.{minimum[1]}"
    if below:
        return pytest.mark.skipif(
            not lacking, reason=f"{version}+ has {mechanism}: tests the degradation below it"
        )
    return pytest.mark.skipif(lacking, reason=f"{mechanism} needs {version}+ (docs/compatibility.md)")


#: Deadline Alerts (``DeadlineAlert``, ``AsyncCallback``): Airflow 3.1+.
DEADLINES = "Deadline Alerts"
#: Human-in-the-loop (``ApprovalOperator``): Airflow 3.1+.
HITL = "Human-in-the-loop (ApprovalOperator)"
#: What the Remote instances page needs (Airflow 3.1+); below, the plugin adds neither app nor page.
PAGE = "the Remote instances page (plugin external views, the UI's session cookie)"


def as_stored(xcoms: dict[str, Any]) -> dict[str, Any]:
    """The XComs a task's pushes leave: Airflow 3.0 stores no ``None`` value (``version_compat.push_xcom``
    does not push it there; ``xcom_pull`` reads ``None`` either way)."""
    return (
        xcoms if not XCOM_REFUSES_NONE else {key: value for key, value in xcoms.items() if value is not None}
    )


#: DAG files that use a mechanism this Airflow lacks: they must fail to parse with the provider's clear
#: message (``version_compat.require_airflow``), never an ImportError.
#: Asset watchers with event triggers (``AssetWatcher``, ``BaseEventTrigger``): Airflow 3.0+.
EVENT_SCHEDULING = "event-driven scheduling (Asset watchers)"
UNSUPPORTED_DAG_FILES: dict[str, str] = {
    **(
        {}
        if AIRFLOW_V_3_1_PLUS
        else {
            "domo_deadline_cleanup.py": DEADLINES,
            "wfcancel_deadline.py": DEADLINES,
            "cancel_all_with_approval.py": HITL,
        }
    ),
    **(
        {}
        if AIRFLOW_V_3_0_PLUS
        else dict.fromkeys(
            ("enos_flow_finished.py", "wfcancel_event_scheduling.py"),
            EVENT_SCHEDULING,
        )
    ),
}


def assert_only_unsupported_import_errors(import_errors: dict[str, str], folder: Path) -> None:
    """A DagBag's import errors are exactly the unsupported files of ``folder``, each with its clear reason."""
    expected = {name for name in UNSUPPORTED_DAG_FILES if (folder / name).exists()}
    assert {Path(path).name for path in import_errors} == expected, import_errors
    for path, error in import_errors.items():
        assert UNSUPPORTED_DAG_FILES[Path(path).name] in error, error
        assert re.search(r"needs Airflow 3\.\d or later", error), error


def deadline_callback_trigger() -> type:
    """The trigger that runs an ``AsyncCallback`` Deadline Alert in the triggerer."""
    try:
        from airflow.triggers.callback import CallbackTrigger

        return CallbackTrigger
    except ImportError:  # Airflow 3.1
        from airflow.triggers.deadline import DeadlineCallbackTrigger

        return DeadlineCallbackTrigger  # type: ignore[no-any-return]


def sync_callback_runner() -> object | None:
    """``execute_callback``, which runs a ``SyncCallback`` Deadline Alert in the executor, if this Airflow has it."""
    try:
        from airflow.sdk.execution_time.callback_supervisor import execute_callback
    except ImportError:
        return None
    return execute_callback


def fresh_listener_manager() -> Any:
    """Airflow's listener manager built anew, so it discovers the plugins as a starting component does."""
    from airflow.listeners import listener

    if hasattr(listener.get_listener_manager, "cache_clear"):
        listener.get_listener_manager.cache_clear()
    else:  # Airflow 3.1 keeps it in a module global
        listener._listener_manager = None  # type: ignore[attr-defined]
    return listener.get_listener_manager()


def asset_events(session: Any, dag_id: str, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """The asset events a DAG run's tasks emitted, as stored: ``{asset uri: [extra, ...]}`` (Airflow 3's
    ``AssetEvent``; 2.11's ``DatasetEvent``)."""
    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.asset import AssetEvent as Event
    else:  # Airflow 2.11
        from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
    rows = session.query(Event).filter_by(source_dag_id=dag_id, source_run_id=run_id).order_by(Event.id).all()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        asset = row.asset if AIRFLOW_V_3_0_PLUS else row.dataset
        found.setdefault(asset.uri, []).append(dict(row.extra or {}))
    return found


__all__ = [
    "DEADLINES",
    "HITL",
    "PAGE",
    "UNSUPPORTED_DAG_FILES",
    "AirflowRescheduleException",
    "AirflowSkipException",
    "DagBag",
    "ParamsDict",
    "TaskDeferred",
    "XComRow",
    "as_stored",
    "assert_only_unsupported_import_errors",
    "asset_events",
    "deadline_callback_trigger",
    "deserialize",
    "fresh_listener_manager",
    "import_string",
    "needs_airflow",
    "reschedule_count",
    "serialize",
    "sync_callback_runner",
]
