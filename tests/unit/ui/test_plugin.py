"""The one plugin: the run-failed listener everywhere, the app and the page on the API server, both off
with ``[wfcancel] remote_instances_page = False``; nothing but the API server builds the app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_wfcancel import plugins, ui
from airflow_provider_wfcancel.plugins import WfCancelPlugin, run_failed
from tests.airflow_compat import PAGE, needs_airflow

needs_page = needs_airflow((3, 1), PAGE)


@needs_page
def test_the_plugin_has_the_listener_the_app_and_the_page() -> None:
    plugin = WfCancelPlugin()
    assert plugin.listeners == [run_failed]
    [app] = plugin.fastapi_apps
    assert (app["url_prefix"], app["name"]) == ("/wfcancel", "Remote instances")
    assert plugin.external_views == [
        {
            "name": "Remote instances",
            "href": "/wfcancel/remote-instances",
            "destination": "nav",
            "category": "browse",
            "url_route": "wfcancel_remote_instances",
        }
    ]


@needs_page
def test_the_page_follows_the_base_url_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    assert ui.base_path() == "/team-a"
    assert plugins.external_views()[0]["href"] == "/team-a/wfcancel/remote-instances"


def test_turned_off_there_is_neither_app_nor_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__WFCANCEL__REMOTE_INSTANCES_PAGE", "False")
    plugin = WfCancelPlugin()
    assert (plugin.fastapi_apps, plugin.external_views) == ([], [])
    assert plugin.listeners == [run_failed]


@needs_airflow((3, 1), PAGE, below=True)
@needs_airflow((3, 0), "an API server")
def test_on_airflow_3_0_the_page_is_off_and_the_api_server_says_why(caplog: pytest.LogCaptureFixture) -> None:
    plugins._warned.clear()
    plugin = WfCancelPlugin()
    assert (plugin.fastapi_apps, plugin.fastapi_apps, plugin.external_views) == ([], [], [])
    assert plugin.listeners == [run_failed]
    assert [r.getMessage() for r in caplog.records if r.name == plugins.__name__] == [plugins.UNAVAILABLE]


@needs_airflow((3, 0), "an API server and a listener call on a person's mark-failed", below=True)
def test_on_airflow_2_each_component_is_told_what_the_plugin_does_not_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugins._told_airflow_2.clear()
    first, second = WfCancelPlugin(), WfCancelPlugin()
    assert (first.external_views, first.listeners, second.listeners) == ([], [run_failed], [run_failed])
    assert [r.getMessage() for r in caplog.records if r.name == plugins.__name__] == [plugins.ON_AIRFLOW_2]


def test_loading_the_plugin_imports_no_fastapi() -> None:
    """Workers, the scheduler and the triggerer load every plugin; only the API server needs the app.
    (Airflow 3.0's own plugins_manager imports FastAPI: only what the provider adds counts.)"""
    code = (
        "import sys, airflow.plugins_manager; airflow_loaded = set(sys.modules); "
        "from airflow_provider_wfcancel.plugins import WfCancelPlugin; p = WfCancelPlugin(); "
        "print(sorted(m for m in ('fastapi', 'airflow_provider_wfcancel.ui.app') "
        "if m in sys.modules and m not in airflow_loaded))"
    )
    out = subprocess.run(  # noqa: S603  (this interpreter, a fixed snippet)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
