"""The Remote instances page: a FastAPI app the provider's plugin mounts on the API server, and the page
Airflow's navigation shows (an external view, Browse > Remote instances). See docs/ui.md.

This module imports nothing heavy: every component loads the plugin, only the API server builds the app
(:func:`.app.create_app`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: Where the app is mounted on the API server, and the page's route in Airflow's UI.
URL_PREFIX = "/wfcancel"
PAGE_PATH = "/remote-instances"
URL_ROUTE = "wfcancel_remote_instances"
PAGE_NAME = "Remote instances"
#: The header a cookie-authenticated cancel must carry (value ``1``).
CSRF_HEADER = "X-WfCancel-Request"


def base_path() -> str:
    """The path Airflow is served under (``[api] base_url``), without a trailing slash: ``""`` at the root."""
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="") or ""
    return urlsplit(base_url).path.rstrip("/") if "://" in base_url else base_url.rstrip("/")


def enabled() -> bool:
    """``[wfcancel] remote_instances_page`` (default on): off, the plugin mounts no app and adds no page."""
    from airflow.configuration import conf

    return conf.getboolean("wfcancel", "remote_instances_page", fallback=True)
