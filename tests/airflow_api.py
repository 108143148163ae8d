"""Fixtures (a pytest plugin of the root conftest): the API server's own FastAPI app
(``airflow.api_fastapi.app.create_app``) with SimpleAuthManager (extended by :class:`PerConnectionAuthManager`
to deny single connections), which mounts the provider's plugin app from its entry point as a deployment
does; tokens come from the auth manager itself."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

AUTH_MANAGER = "tests.airflow_api.PerConnectionAuthManager"
#: user -> SimpleAuthManager role. ``op`` may use connections; ``user`` may run DAGs, not use connections.
ROLES = {"admin": "admin", "op": "op", "user": "user", "viewer": "viewer"}
PREFIX = "/wfcancel"


def _per_connection_auth_manager() -> type[Any]:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    class PerConnectionAuthManager(SimpleAuthManager):
        """SimpleAuthManager that also denies the ``(user, conn_id)`` pairs in :attr:`denied`, the way an
        auth manager with per-connection permissions (FAB, Keycloak) can; every connection question it is
        asked is recorded in :attr:`asked` as ``(user, method, conn_id, team_name)``."""

        denied: set[tuple[str, str]] = set()
        asked: list[tuple[str, str, str | None, str | None]] = []

        def is_authorized_connection(self, *, method: Any, user: Any, details: Any = None) -> bool:
            conn_id = details.conn_id if details else None
            team = details.team_name if details else None
            type(self).asked.append((user.get_name(), method, conn_id, team))
            if (user.get_name(), conn_id) in type(self).denied:
                return False
            return bool(super().is_authorized_connection(method=method, user=user, details=details))

    return PerConnectionAuthManager


def __getattr__(name: str) -> Any:  # imported by Airflow from AUTH_MANAGER, once airflow is importable
    if name == "PerConnectionAuthManager":
        globals()[name] = cls = _per_connection_auth_manager()
        return cls
    raise AttributeError(name)


@pytest.fixture
def auth_manager(airflow_api: Any) -> Iterator[Any]:
    """The test auth manager's class: set ``denied``, read ``asked`` (both emptied after the test)."""
    from tests.airflow_api import PerConnectionAuthManager  # type: ignore[attr-defined]

    PerConnectionAuthManager.denied.clear()
    PerConnectionAuthManager.asked.clear()
    yield PerConnectionAuthManager
    PerConnectionAuthManager.denied.clear()
    PerConnectionAuthManager.asked.clear()


@pytest.fixture(scope="session")
def airflow_api(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow's whole API app, built once, with the plugin mounted from its entry point."""
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({name: f"{name}-password" for name in ROLES}))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW__CORE__AUTH_MANAGER", AUTH_MANAGER)
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
    """``token_for("op")``: a JWT the configured auth manager issued for that user (a name not in
    :data:`ROLES` is an ``op``; ``teams`` with ``[core] multi_team``)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def token(name: str, teams: list[str] | None = None) -> str:
        team_kwargs = {} if teams is None else {"teams": teams}  # Airflow 3.0's user has no teams
        user = SimpleAuthManagerUser(username=name, role=ROLES.get(name, "op"), **team_kwargs)
        return str(get_auth_manager().generate_jwt(user))

    return token


@pytest.fixture
def client(airflow_api: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(airflow_api, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def as_user(client: Any, token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """``headers=as_user("op")``: the Bearer header of that user."""

    def headers(name: str, teams: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(name, teams)}"}

    return headers


@contextlib.contextmanager
def team_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, host: str) -> Iterator[None]:
    """``[core] multi_team`` on, teams team_a and team_b, and ``conn_id`` a Domo connection of team_a in the
    metadata DB (Airflow 3.2+'s ``team_name``) at ``host``; all of it removed afterwards."""
    from airflow.models.connection import Connection
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN

    monkeypatch.setenv("AIRFLOW__CORE__MULTI_TEAM", "True")
    with create_session() as session:
        session.add_all([Team(name="team_a"), Team(name="team_b")])
        session.flush()
        extra = json.dumps({"max_retries": 3})
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="domo",
                host=host,
                password=DEFAULT_DOMO_TOKEN,
                extra=extra,
                team_name="team_a",
            )
        )
    try:
        yield
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            session.query(Team).filter(Team.name.in_(["team_a", "team_b"])).delete()
