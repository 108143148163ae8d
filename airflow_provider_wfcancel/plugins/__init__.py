"""The provider's Airflow plugin, registered through the ``airflow.plugins`` entry point so that every
component loads it: the listener that cancels what a failed DAG run started (:mod:`.run_failed`)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_wfcancel.plugins import run_failed


class WfCancelPlugin(AirflowPlugin):
    name = "wfcancel"
    listeners = [run_failed]
