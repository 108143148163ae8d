"""Airflow names the tests use that moved between minors (the provider's own are in version_compat).

Imported lazily, from inside fixtures and tests, so the root conftest configures Airflow first.
"""

from __future__ import annotations

from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_2_PLUS

if AIRFLOW_V_3_2_PLUS:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import TaskDeferred
    from airflow.sdk.serde import deserialize, serialize
else:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]

__all__ = ["DagBag", "TaskDeferred", "deserialize", "serialize"]
