"""Fixtures (a pytest plugin of the root conftest): the API server's own FastAPI app
(``airflow.api_fastapi.app.create_app``) with SimpleAuthManager, which mounts the provider's plugin app from
its entry point as a deployment does; tokens come from the auth manager itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: user -> SimpleAuthManager role. ``op`` may use connections; ``user`` may run DAGs, not use connections.
ROLES = {"admin": "admin", "op": "op", "user": "user", "viewer": "viewer"}
PREFIX = "/wfcancel"


@pytest.fixture(scope="session")
def airflow_api(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow's whole API app, built once, with the plugin mounted from its entry point."""
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({name: f"{name}-password" for name in ROLES}))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE_AUTH_MANAGER)
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", ",".join(f"{u}:{r}" for u, r in ROLES.items()))
        env.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        env.setenv(
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "wfcancel-unit-test-jwt-secret-0123456789abcdef-0123456789abcdef-0123",
        )
        from airflow.api_fastapi.app import create_app, purge_cached_app

        purge_cached_app()
        yield create_app()
        purge_cached_app()


@pytest.fixture(scope="session")
def token_for(airflow_api: Any) -> Callable[[str], str]:
    """``token_for("op")``: a JWT the configured auth manager issued for that user."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def token(name: str) -> str:
        return str(get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=name, role=ROLES[name])))

    return token


@pytest.fixture
def client(airflow_api: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(airflow_api, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def as_user(client: Any, token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """``headers=as_user("op")``: the Bearer header of that user."""

    def headers(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(name)}"}

    return headers
