"""Airflow connections aimed at an emulator, for demos, benchmarks and tests."""

from __future__ import annotations

from typing import Any

from .state import (
    DEFAULT_DOMO_TOKEN,
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
)


def airflow_connections(base_url: str) -> dict[str, dict[str, Any]]:
    """``domo_default`` and ``enos_default`` in Airflow's JSON connection form, with the seeded credentials.

    ``json.dumps`` a value into ``AIRFLOW_CONN_<ID>`` (or a secrets backend) to use it.
    """
    return {
        "domo_default": {"conn_type": "domo", "host": base_url, "password": DEFAULT_DOMO_TOKEN},
        "enos_default": {
            "conn_type": "enos",
            "host": base_url,
            "login": DEFAULT_ENOS_APP_KEY,
            "password": DEFAULT_ENOS_APP_SECRET,
            "extra": {"org_id": DEFAULT_ENOS_ORG_ID, "user_id": DEFAULT_ENOS_USER_ID},
        },
    }
