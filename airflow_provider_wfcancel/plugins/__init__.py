"""The provider's Airflow plugin, registered through the ``airflow.plugins`` entry point so that every
component loads it:

- the listener that cancels what a failed DAG run started (:mod:`.run_failed`);
- on the API server, the Remote instances app (:mod:`..ui`, mounted at ``/wfcancel``) and its page in
  Airflow's navigation (Browse > Remote instances, an external view). ``[wfcancel] remote_instances_page =
  False`` turns both off. The app is built on first access to ``fastapi_apps``, which only the API server
  makes, so no other component imports FastAPI for it. Airflow 3.0 lacks what the page needs (external
  views, the UI's ``_token`` cookie in ``GetUserDep``, ``ConnectionDetails(team_name=)``): there the API
  server logs a warning saying so, and the plugin adds neither app nor page. Airflow 2.11 has no API server:
  each component logs once what the plugin does not do there (:data:`ON_AIRFLOW_2`).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_wfcancel import ui
from airflow_provider_wfcancel.plugins import run_failed
from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

log = logging.getLogger(__name__)
_APPS: list[dict[str, Any]] = []
#: Said once per API server: the page is on, but this Airflow cannot serve it.
UNAVAILABLE = (
    "The Remote instances page needs Airflow 3.1 or later (plugin external views, the UI's session cookie "
    "for plugin apps): it is off on this Airflow. Set [wfcancel] remote_instances_page = False to silence "
    "this; the operators, sensors, triggers, notifiers and the run-failed listener work as usual."
)
_warned: list[bool] = []
#: Said once per process on Airflow 2.11, where the plugin loads in every component.
_told_airflow_2: list[bool] = []
ON_AIRFLOW_2 = (
    "Airflow 2.11: the Remote instances page is off (it needs Airflow 3.1 or later), and the run-failed "
    "listener cancels what a start task recorded only when the scheduler fails the run: Airflow 2.11 calls "
    "no listener when a person marks a run failed (docs/compatibility.md)"
)


def fastapi_apps() -> list[dict[str, Any]]:
    """The Remote instances app for the API server (built once), or nothing when the page is off."""
    if ui.enabled() and not AIRFLOW_V_3_1_PLUS:
        if not _warned:
            log.warning(UNAVAILABLE)
            _warned.append(True)
        return []
    if ui.enabled() and not _APPS:
        from airflow_provider_wfcancel.ui.app import create_app

        _APPS.append({"app": create_app(), "url_prefix": ui.URL_PREFIX, "name": ui.PAGE_NAME})
    return _APPS if ui.enabled() else []


def external_views() -> list[dict[str, Any]]:
    """The page in Airflow's navigation (Browse menu), shown in Airflow's own frame."""
    if not ui.enabled() or not AIRFLOW_V_3_1_PLUS:
        return []
    return [
        {
            "name": ui.PAGE_NAME,
            "href": f"{ui.base_path()}{ui.URL_PREFIX}{ui.PAGE_PATH}",
            "destination": "nav",
            "category": "browse",
            "url_route": ui.URL_ROUTE,
        }
    ]


class WfCancelPlugin(AirflowPlugin):
    name = "wfcancel"
    listeners = [run_failed]

    def __init__(self) -> None:
        super().__init__()
        self.external_views = external_views()
        if not AIRFLOW_V_3_0_PLUS and not _told_airflow_2:
            log.info(ON_AIRFLOW_2)
            _told_airflow_2.append(True)

    @property
    def fastapi_apps(self) -> list[Any]:  # type: ignore[override]  # built on first read (API server only)
        return fastapi_apps()
